// Internal: MUC Light rooms, their affiliations and their archives.
#pragma once

#include <cstdint>
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
#include "mimrest/backend/muc_light.hpp"
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
class MucLightStore final : public MucLight {
 public:
  MucLightStore(MucLightOptions options, const UserDirectory& users, Clock now_us,
                const SessionRegistry& sessions);

  std::optional<std::string> service_domain(std::string_view user_domain) const override;
  Expected<Jid, RoomError> create_room(const Jid& owner, std::optional<Jid> room,
                                       const RoomConfig& config) override;
  std::vector<RoomSummary> user_rooms(const Jid& user) const override;
  Expected<RoomInfo, RoomError> room_info(const Jid& user, const Jid& room) const override;
  Expected<void, RoomError> set_config(const Jid& user, const Jid& room,
                                       const RoomConfig& config) override;
  Expected<void, RoomError> set_affiliation(const Jid& actor, const Jid& room, const Jid& target,
                                            Affiliation affiliation) override;
  Expected<void, RoomError> send_message(const Jid& sender, const Jid& room,
                                         std::string stanza_xml) override;
  Expected<std::vector<ArchivedMessage>, RoomError> recent_messages(
      const Jid& user, const Jid& room, std::optional<std::int64_t> before_us,
      std::size_t limit) const override;

 private:
  struct Room {
    std::uint64_t created = 0;  // creation order, for a stable listing
    RoomConfig config;
    std::vector<RoomOccupant> occupants;  // in joining order
    ArchiveLog archive;
  };
  /// Who receives a stanza, with the sessions they had when it was sent.
  using Recipients = std::vector<std::pair<Jid, DeliveryList>>;

  Expected<Room*, RoomError> find_room(const Jid& room);
  Expected<const Room*, RoomError> find_room(const Jid& room) const;
  void add_recipient(Recipients& recipients, const Jid& user) const;

  MucLightOptions options_;
  const UserDirectory& users_;
  Clock now_us_;
  const SessionRegistry& sessions_;
  mutable std::mutex mutex_;
  std::uint64_t next_created_ = 0;
  std::unordered_map<Jid, Room> rooms_;  // by bare room JID
};

}  // namespace mimrest::memory::detail
