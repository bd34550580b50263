// Internal: MUC Light rooms, their affiliations and their archives.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "memory/archive_log.hpp"
#include "memory/chat_archive.hpp"
#include "memory/session_registry.hpp"
#include "memory/user_directory.hpp"
#include "mimrest/backend/event_log.hpp"
#include "mimrest/backend/message_observer.hpp"
#include "mimrest/backend/muc_light.hpp"
#include "mimrest/backend/reference_backend.hpp"
#include "mimrest/jid.hpp"

namespace mimrest::memory::detail {

struct MucLightOptions {
  bool enabled = true;
  std::string host_pattern = "muclight.@HOST@";  ///< "@HOST@" is the user's domain
  bool all_can_configure = false;
  std::size_t max_result_limit = 50;
};

/// Thread-safe: one mutex guards every room and room archive, so that an
/// affiliation change, its archiving and a room's destruction are atomic.
/// Stanzas are serialized and delivered after the mutex is released.
class MucLightStore final : public SyncMucLight<NullMutex> {
 public:
  MucLightStore(MucLightOptions options, const UserDirectory& users, Clock now_us,
                const SessionRegistry& sessions, Sequencer& sequencer,
                std::vector<std::shared_ptr<MessageObserver>> observers);

  ServiceDomainResult service_domain(std::string_view user_domain) override;
  CreateRoomResult create_room(const Caller& owner, const std::optional<Jid>& room,
                               const RoomConfig& config) override;
  UserRoomsResult user_rooms(const Caller& user) override;
  RoomInfoResult room_info(const Caller& user, const Jid& room) override;
  RoomResult set_config(const Caller& user, const Jid& room, const RoomConfig& config) override;
  RoomResult set_affiliation(const Caller& actor, const Jid& room, const Jid& target,
                             Affiliation affiliation) override;
  RoomResult send_message(const Caller& sender, const Jid& room, std::string stanza_xml) override;
  RoomMessagesResult messages(const RoomArchiveQuery& query) override;

  /// The rows of every room `user` occupies with after < sequence <= up_to,
  /// appended to `out`.
  void events_between(const Jid& user, std::uint64_t after, std::uint64_t up_to,
                      std::vector<LoggedEvent>& out) const;
  /// `user` leaves every room (the account is deleted).
  void leave_all(const Jid& user);

 private:
  struct Room {
    std::uint64_t created = 0;  // creation order, for a stable listing
    RoomConfig config;
    std::vector<RoomOccupant> occupants;  // in joining order
    ArchiveLog archive;
  };
  /// Who receives a stanza, with the sessions they had when it was sent.
  using Recipients = std::vector<std::pair<Jid, DeliveryList>>;

  /// The MUC Light service of a user's domain, if it has one.
  std::optional<std::string> service_of(std::string_view user_domain) const;
  Expected<Room*, RoomError> find_room(const Jid& room);
  Expected<const Room*, RoomError> find_room(const Jid& room) const;
  void add_recipient(Recipients& recipients, const Jid& user) const;
  void tell_observers(const Jid& room, const Jid& sender, const ArchivedMessage& message) const;

  MucLightOptions options_;
  const UserDirectory& users_;
  Clock now_us_;
  const SessionRegistry& sessions_;
  Sequencer& sequencer_;
  const std::vector<std::shared_ptr<MessageObserver>> observers_;
  mutable std::mutex mutex_;
  std::uint64_t next_created_ = 0;
  std::unordered_map<Jid, Room> rooms_;  // by bare room JID
};

}  // namespace mimrest::memory::detail
