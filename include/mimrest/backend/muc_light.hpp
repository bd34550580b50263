// Group rooms (MUC Light, XEP-xxxx as implemented by MongooseIM).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mimrest/backend/archive.hpp"
#include "mimrest/expected.hpp"
#include "mimrest/jid.hpp"

namespace mimrest {

enum class Affiliation { owner, member, none };
std::string_view to_string(Affiliation affiliation) noexcept;

struct RoomConfig {
  std::string name;
  std::string subject;
};

struct RoomSummary {
  Jid room;  ///< bare room JID
  RoomConfig config;
};

struct RoomOccupant {
  Jid user;  ///< bare
  Affiliation affiliation = Affiliation::member;
};

struct RoomInfo {
  Jid room;
  RoomConfig config;
  std::vector<RoomOccupant> occupants;  ///< owner first, then members as they joined
};

enum class RoomErrorKind {
  room_not_found,
  not_occupant,       ///< the acting user is not affiliated with the room
  not_allowed,        ///< affiliated, but may not do this (config, affiliations)
  already_exists,     ///< create with an ID that is taken
  validation_failed,  ///< a config value the room rejects (see key, reason)
};

struct RoomError {
  RoomErrorKind kind;
  std::string key;     ///< validation_failed only: the config key
  std::string reason;  ///< validation_failed only: why
};

/// MUC Light rooms of every domain. Thread-safe. Users are bare JIDs, rooms
/// bare room JIDs (node@muclight-service).
class MucLight {
 public:
  virtual ~MucLight() = default;

  /// The MUC Light service domain of a user's domain ("muclight.localhost"),
  /// or nullopt when MUC Light is not enabled there.
  virtual std::optional<std::string> service_domain(std::string_view user_domain) const = 0;

  /// Creates a room owned by `owner`; a fresh unique node when `room` is
  /// nullopt. Returns the room JID.
  virtual Expected<Jid, RoomError> create_room(const Jid& owner, std::optional<Jid> room,
                                               const RoomConfig& config) = 0;
  /// Rooms `user` is affiliated with.
  virtual std::vector<RoomSummary> user_rooms(const Jid& user) const = 0;
  /// Info of a room `user` is affiliated with.
  virtual Expected<RoomInfo, RoomError> room_info(const Jid& user, const Jid& room) const = 0;
  /// Changes name and subject; only the owner unless all_can_configure.
  virtual Expected<void, RoomError> set_config(const Jid& user, const Jid& room,
                                               const RoomConfig& config) = 0;
  /// `actor` sets `target`'s affiliation: member (add) or none (remove).
  /// Owners may add and remove anyone; members may only remove themselves.
  /// The owner leaving hands ownership to the longest-standing member; the
  /// last occupant leaving destroys the room. Every change is broadcast and
  /// archived as an affiliation message.
  virtual Expected<void, RoomError> set_affiliation(const Jid& actor, const Jid& room,
                                                    const Jid& target, Affiliation affiliation) = 0;
  /// Sends a groupchat message (its `from` is the sender's bare JID, its
  /// `to` the room); the room broadcasts it to all occupants with `from`
  /// room/sender and archives it.
  virtual Expected<void, RoomError> send_message(const Jid& sender, const Jid& room,
                                                 std::string stanza_xml) = 0;
  /// The newest `limit` room messages strictly before `before_us`, oldest
  /// first, for an occupant.
  virtual Expected<std::vector<ArchivedMessage>, RoomError> recent_messages(
      const Jid& user, const Jid& room, std::optional<std::int64_t> before_us,
      std::size_t limit) const = 0;
};

}  // namespace mimrest
