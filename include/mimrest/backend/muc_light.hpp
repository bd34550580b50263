// Group rooms (MUC Light, as implemented by MongooseIM): the asynchronous
// interface and its synchronous base.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mimrest/backend/archive.hpp"
#include "mimrest/backend/failure.hpp"
#include "mimrest/completion.hpp"
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
  internal,           ///< a backend fault (500)
  unavailable,        ///< the backend is out of service for now (503)
};

struct RoomError {
  RoomErrorKind kind;
  std::string key;     ///< validation_failed only: the config key
  std::string reason;  ///< validation_failed only: why
};

/// A room error of `kind` with no key or reason.
inline RoomError room_error(RoomErrorKind kind) {
  return RoomError{kind, {}, {}};
}

/// The room messages a read returns, as for ArchiveQuery: strictly between the
/// bounds; the newest `limit` without `after_us`, the oldest with it; oldest
/// first.
struct RoomArchiveQuery {
  Jid user;  ///< who reads: must be an occupant
  Jid room;
  std::optional<std::int64_t> before_us;
  std::optional<std::int64_t> after_us;
  std::size_t limit = 50;
};

using CreateRoomResult = Expected<Jid, RoomError>;
using UserRoomsResult = Expected<std::vector<RoomSummary>, Failure>;
using RoomInfoResult = Expected<RoomInfo, RoomError>;
using RoomResult = Expected<void, RoomError>;
using RoomMessagesResult = Expected<std::vector<ArchivedMessage>, RoomError>;

/// MUC Light rooms of every domain. Users are bare JIDs, rooms bare room JIDs
/// (node@muclight-service).
///
/// Every async_ operation finishes through its Completion (completion.hpp):
/// exactly once, inline or later, from any thread. Arguments other than the
/// moved stanza are valid only during the call. Operations are called
/// concurrently from many threads.
class MucLight {
 public:
  virtual ~MucLight() = default;

  /// The MUC Light service domain of a user's domain ("muclight.localhost"),
  /// or nullopt when MUC Light is not enabled there. The one synchronous
  /// question: it is asked before every room request and is answered from
  /// configuration, so it must not block.
  virtual std::optional<std::string> service_domain(std::string_view user_domain) const = 0;

  /// Creates a room owned by `owner`; a fresh unique node when `room` is
  /// nullopt. Completes with the room JID.
  virtual void async_create_room(const Jid& owner, const std::optional<Jid>& room,
                                 const RoomConfig& config, Completion<CreateRoomResult> done) = 0;
  /// Rooms `user` is affiliated with.
  virtual void async_user_rooms(const Jid& user, Completion<UserRoomsResult> done) = 0;
  /// Info of a room `user` is affiliated with.
  virtual void async_room_info(const Jid& user, const Jid& room,
                               Completion<RoomInfoResult> done) = 0;
  /// Changes name and subject; only the owner unless all_can_configure.
  virtual void async_set_config(const Jid& user, const Jid& room, const RoomConfig& config,
                                Completion<RoomResult> done) = 0;
  /// `actor` sets `target`'s affiliation: member (add) or none (remove).
  /// Owners may add and remove anyone; members may only remove themselves.
  /// The owner leaving hands ownership to the longest-standing member; the
  /// last occupant leaving destroys the room. Every change is broadcast and
  /// archived as an affiliation message.
  virtual void async_set_affiliation(const Jid& actor, const Jid& room, const Jid& target,
                                     Affiliation affiliation, Completion<RoomResult> done) = 0;
  /// Sends a groupchat message (its `from` is the sender's bare JID, its `to`
  /// the room); the room broadcasts it to all occupants with `from`
  /// room/sender and archives it. Complete with success only once stored.
  virtual void async_send_message(const Jid& sender, const Jid& room, std::string stanza_xml,
                                  Completion<RoomResult> done) = 0;
  /// Room messages for an occupant (see RoomArchiveQuery).
  virtual void async_messages(const RoomArchiveQuery& query,
                              Completion<RoomMessagesResult> done) = 0;
};

/// For rooms that answer at once: override the plain functions, which return
/// the result; the base completes. An exception thrown by one of them is
/// answered as RoomErrorKind::internal (Failure::internal). They are called
/// concurrently: make them thread-safe.
class SyncMucLight : public MucLight {
 public:
  virtual CreateRoomResult create_room(const Jid& owner, const std::optional<Jid>& room,
                                       const RoomConfig& config) = 0;
  virtual UserRoomsResult user_rooms(const Jid& user) = 0;
  virtual RoomInfoResult room_info(const Jid& user, const Jid& room) = 0;
  virtual RoomResult set_config(const Jid& user, const Jid& room, const RoomConfig& config) = 0;
  virtual RoomResult set_affiliation(const Jid& actor, const Jid& room, const Jid& target,
                                     Affiliation affiliation) = 0;
  virtual RoomResult send_message(const Jid& sender, const Jid& room, std::string stanza_xml) = 0;
  virtual RoomMessagesResult messages(const RoomArchiveQuery& query) = 0;

  void async_create_room(const Jid& owner, const std::optional<Jid>& room, const RoomConfig& config,
                         Completion<CreateRoomResult> done) final;
  void async_user_rooms(const Jid& user, Completion<UserRoomsResult> done) final;
  void async_room_info(const Jid& user, const Jid& room, Completion<RoomInfoResult> done) final;
  void async_set_config(const Jid& user, const Jid& room, const RoomConfig& config,
                        Completion<RoomResult> done) final;
  void async_set_affiliation(const Jid& actor, const Jid& room, const Jid& target,
                             Affiliation affiliation, Completion<RoomResult> done) final;
  void async_send_message(const Jid& sender, const Jid& room, std::string stanza_xml,
                          Completion<RoomResult> done) final;
  void async_messages(const RoomArchiveQuery& query, Completion<RoomMessagesResult> done) final;
};

}  // namespace mimrest
