// The synchronous bases of the backend interfaces: each async_ operation runs
// the plain function and completes at once.
#include <utility>

#include "core/detail/sync_call.hpp"
#include "mimrest/backend/archive.hpp"
#include "mimrest/backend/event_log.hpp"
#include "mimrest/backend/message_router.hpp"
#include "mimrest/backend/muc_light.hpp"
#include "mimrest/backend/roster.hpp"
#include "mimrest/backend/sessions.hpp"
#include "mimrest/backend/token_store.hpp"
#include "mimrest/password_verifier.hpp"

namespace mimrest {

using detail::complete_sync;

namespace {
const RoomError kRoomInternal = room_error(RoomErrorKind::internal);
}  // namespace

void SyncPasswordVerifier::async_verify(const Jid& user, std::string_view password,
                                        Completion<VerifyResult> done) {
  complete_sync(
      done, [&] { return verify(user, password); }, Failure::internal);
}

void SyncMessageRouter::async_route_chat_message(const Jid& from, const Jid& to,
                                                 std::string stanza_xml,
                                                 Completion<RouteResult> done) {
  complete_sync(
      done, [&] { return route_chat_message(from, to, std::move(stanza_xml)); }, Failure::internal);
}

void SyncMessageArchive::async_messages(const ArchiveQuery& query, Completion<ArchiveResult> done) {
  complete_sync(
      done, [&] { return messages(query); }, Failure::internal);
}

void SyncRoster::async_items(const Jid& user, Completion<RosterItemsResult> done) {
  complete_sync(
      done, [&] { return items(user); }, Failure::internal);
}

void SyncRoster::async_add(const Jid& user, const Jid& contact, Completion<RosterResult> done) {
  complete_sync(
      done, [&] { return add(user, contact); }, RosterError::internal);
}

void SyncRoster::async_subscribe(const Jid& user, const Jid& contact,
                                 Completion<RosterResult> done) {
  complete_sync(
      done, [&] { return subscribe(user, contact); }, RosterError::internal);
}

void SyncRoster::async_approve(const Jid& user, const Jid& contact, Completion<RosterResult> done) {
  complete_sync(
      done, [&] { return approve(user, contact); }, RosterError::internal);
}

void SyncRoster::async_remove(const Jid& user, const Jid& contact, Completion<RosterResult> done) {
  complete_sync(
      done, [&] { return remove(user, contact); }, RosterError::internal);
}

void SyncMucLight::async_create_room(const Jid& owner, const std::optional<Jid>& room,
                                     const RoomConfig& config, Completion<CreateRoomResult> done) {
  complete_sync(
      done, [&] { return create_room(owner, room, config); }, kRoomInternal);
}

void SyncMucLight::async_user_rooms(const Jid& user, Completion<UserRoomsResult> done) {
  complete_sync(
      done, [&] { return user_rooms(user); }, Failure::internal);
}

void SyncMucLight::async_room_info(const Jid& user, const Jid& room,
                                   Completion<RoomInfoResult> done) {
  complete_sync(
      done, [&] { return room_info(user, room); }, kRoomInternal);
}

void SyncMucLight::async_set_config(const Jid& user, const Jid& room, const RoomConfig& config,
                                    Completion<RoomResult> done) {
  complete_sync(
      done, [&] { return set_config(user, room, config); }, kRoomInternal);
}

void SyncMucLight::async_set_affiliation(const Jid& actor, const Jid& room, const Jid& target,
                                         Affiliation affiliation, Completion<RoomResult> done) {
  complete_sync(
      done, [&] { return set_affiliation(actor, room, target, affiliation); }, kRoomInternal);
}

void SyncMucLight::async_send_message(const Jid& sender, const Jid& room, std::string stanza_xml,
                                      Completion<RoomResult> done) {
  complete_sync(
      done, [&] { return send_message(sender, room, std::move(stanza_xml)); }, kRoomInternal);
}

void SyncMucLight::async_messages(const RoomArchiveQuery& query,
                                  Completion<RoomMessagesResult> done) {
  complete_sync(
      done, [&] { return messages(query); }, kRoomInternal);
}

void SyncSessionManager::async_open_session(const Jid& full_jid, std::shared_ptr<StanzaSink> sink,
                                            Completion<OpenSessionResult> done) {
  complete_sync(
      done, [&] { return open_session(full_jid, std::move(sink)); }, Failure::internal);
}

void SyncTokenStore::async_issue(const std::vector<TokenRecord>& records, std::int64_t now_us,
                                 Completion<TokenChangeResult> done) {
  complete_sync(
      done, [&] { return issue(records, now_us); }, Failure::internal);
}

void SyncTokenStore::async_find(const std::string& hash, std::int64_t now_us,
                                Completion<TokenLookupResult> done) {
  complete_sync(
      done, [&] { return find(hash, now_us); }, Failure::internal);
}

void SyncTokenStore::async_rotate(const std::string& refresh_hash,
                                  const std::vector<TokenRecord>& replacements, std::int64_t now_us,
                                  Completion<RotateResult> done) {
  complete_sync(
      done, [&] { return rotate(refresh_hash, replacements, now_us); }, Failure::internal);
}

void SyncTokenStore::async_revoke_user(const Jid& user, Completion<TokenChangeResult> done) {
  complete_sync(
      done, [&] { return revoke_user(user); }, Failure::internal);
}

void SyncEventLog::async_events_after(const Jid& user, std::uint64_t after, std::size_t limit,
                                      Completion<EventsResult> done) {
  complete_sync(
      done, [&] { return events_after(user, after, limit); }, Failure::internal);
}

void SyncEventLog::async_last_sequence(Completion<SequenceResult> done) {
  complete_sync(
      done, [&] { return last_sequence(); }, Failure::internal);
}

}  // namespace mimrest
