// Internal: MUC Light rooms, their affiliations and their archives.
#pragma once

#include <string>

#include "mimrest/backend/muc_light.hpp"
#include "sql/hosting.hpp"
#include "sql/queries.hpp"
#include "sql/store.hpp"

namespace mimrest::sql::detail {

class SqlMucLight final : public MucLight {
 public:
  SqlMucLight(Store& store, const Hosting& hosting) : store_(store), hosting_(hosting) {}

  void async_service_domain(std::string_view user_domain,
                            Completion<ServiceDomainResult> done) override;
  void async_create_room(const Caller& owner, const std::optional<Jid>& room,
                         const RoomConfig& config, Completion<CreateRoomResult> done) override;
  void async_user_rooms(const Caller& user, Completion<UserRoomsResult> done) override;
  void async_room_info(const Caller& user, const Jid& room,
                       Completion<RoomInfoResult> done) override;
  void async_set_config(const Caller& user, const Jid& room, const RoomConfig& config,
                        Completion<RoomResult> done) override;
  void async_set_affiliation(const Caller& actor, const Jid& room, const Jid& target,
                             Affiliation affiliation, Completion<RoomResult> done) override;
  void async_send_message(const Caller& sender, const Jid& room, std::string stanza_xml,
                          Completion<RoomResult> done) override;
  void async_messages(const RoomArchiveQuery& query, Completion<RoomMessagesResult> done) override;

 private:
  Store& store_;
  const Hosting& hosting_;
};

/// Sets `target`'s affiliation in `room` on behalf of `actor` (all bare JID
/// strings), inside a write transaction: the rules of
/// MucLight::async_set_affiliation, the broadcast and the archiving. Also
/// used when an account is deleted (the user leaves every room).
RoomResult change_affiliation(Connection& db, WriteContext& context, const Hosting& hosting,
                              const std::string& actor, const std::string& room,
                              const std::string& target, Affiliation affiliation);

}  // namespace mimrest::sql::detail
