// Group rooms (MUC Light, as implemented by MongooseIM): the asynchronous
// interface and its synchronous base.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mimrest/backend/archive.hpp"
#include "mimrest/backend/caller.hpp"
#include "mimrest/backend/error.hpp"
#include "mimrest/backend/sync.hpp"
#include "mimrest/completion.hpp"
#include "mimrest/expected.hpp"
#include "mimrest/export.hpp"
#include "mimrest/jid.hpp"

namespace mimrest {

enum class Affiliation { owner, member, none };
MIMREST_EXPORT std::string_view to_string(Affiliation affiliation) noexcept;

struct MIMREST_EXPORT RoomConfig {
  std::string name;
  std::string subject;
};

struct MIMREST_EXPORT RoomSummary {
  Jid room;  ///< bare room JID
  RoomConfig config;
};

struct MIMREST_EXPORT RoomOccupant {
  Jid user;  ///< bare
  Affiliation affiliation = Affiliation::member;
};

struct MIMREST_EXPORT RoomInfo {
  Jid room;
  RoomConfig config;
  std::vector<RoomOccupant> occupants;  ///< owner first, then members as they joined
};

enum class RoomErrorKind {
  room_not_found,
  not_occupant,       ///< the acting user is not affiliated with the room
  not_allowed,        ///< affiliated, but may not do this (config, affiliations)
  already_exists,     ///< create with an ID that is taken
  validation_failed,  ///< a value the room rejects (see key, reason)
};

/// The rooms' own ways to fail (besides a Failure).
struct MIMREST_EXPORT RoomError {
  RoomErrorKind kind;
  std::string key;     ///< validation_failed only: the key
  std::string reason;  ///< validation_failed only: why

  RoomError(RoomErrorKind error_kind, std::string error_key = {},  // NOLINT
            std::string error_reason = {})
      : kind(error_kind), key(std::move(error_key)), reason(std::move(error_reason)) {}
};

/// Compares with a kind: `result.error() == RoomErrorKind::room_not_found`.
inline bool operator==(const Error<RoomError>& error, RoomErrorKind kind) noexcept {
  const RoomError* held = error.if_domain();
  return held != nullptr && held->kind == kind;
}
inline bool operator!=(const Error<RoomError>& error, RoomErrorKind kind) noexcept {
  return !(error == kind);
}

/// The room messages an occupant reads, with the bounds of ArchiveQuery.
struct MIMREST_EXPORT RoomArchiveQuery {
  Caller user;  ///< who reads: must be an occupant
  Jid room;
  std::optional<std::int64_t> before_us;
  std::optional<std::int64_t> after_us;
  std::size_t limit = 50;
  std::optional<std::string> before_id = {};
  std::optional<std::string> after_id = {};
};

/// The MUC Light service domain of a user's domain ("muclight.localhost"), or
/// nullopt when there is none for that domain.
using ServiceDomainResult = Expected<std::optional<std::string>, Failure>;
using CreateRoomResult = Expected<Jid, Error<RoomError>>;
using UserRoomsResult = Expected<std::vector<RoomSummary>, Failure>;
using RoomInfoResult = Expected<RoomInfo, Error<RoomError>>;
using RoomResult = Expected<void, Error<RoomError>>;
using RoomMessagesResult = Expected<std::vector<ArchivedMessage>, Error<RoomError>>;

/// MUC Light rooms of every domain. Users are bare JIDs (the acting one is the
/// Caller), rooms bare room JIDs (node@muclight-service).
///
/// Every async_ operation finishes through its Completion (completion.hpp):
/// exactly once, inline or later, from any thread. Arguments other than the
/// moved stanza are valid only during the call. Operations are called
/// concurrently from many threads.
class MIMREST_EXPORT MucLight {
 public:
  virtual ~MucLight() = default;

  /// The room service of a user's domain. Asked before every room request;
  /// most backends answer it from configuration, inline.
  virtual void async_service_domain(std::string_view user_domain,
                                    Completion<ServiceDomainResult> done) = 0;
  /// Creates a room owned by `owner`; a fresh unique node when `room` is
  /// nullopt. Completes with the room JID.
  virtual void async_create_room(const Caller& owner, const std::optional<Jid>& room,
                                 const RoomConfig& config, Completion<CreateRoomResult> done) = 0;
  /// Rooms `user` is affiliated with.
  virtual void async_user_rooms(const Caller& user, Completion<UserRoomsResult> done) = 0;
  /// Info of a room `user` is affiliated with.
  virtual void async_room_info(const Caller& user, const Jid& room,
                               Completion<RoomInfoResult> done) = 0;
  /// Changes name and subject; only the owner unless all_can_configure.
  virtual void async_set_config(const Caller& user, const Jid& room, const RoomConfig& config,
                                Completion<RoomResult> done) = 0;
  /// `actor` sets `target`'s affiliation: member (add) or none (remove).
  /// Owners may add and remove anyone; members may only remove themselves.
  /// The owner leaving hands ownership to the longest-standing member; the
  /// last occupant leaving destroys the room. Every change is broadcast and
  /// archived as an affiliation message.
  virtual void async_set_affiliation(const Caller& actor, const Jid& room, const Jid& target,
                                     Affiliation affiliation, Completion<RoomResult> done) = 0;
  /// Sends a groupchat message (its `from` is the sender's bare JID, its `to`
  /// the room); the room broadcasts it to all occupants with `from`
  /// room/sender and archives it. Complete with success only once stored.
  virtual void async_send_message(const Caller& sender, const Jid& room, std::string stanza_xml,
                                  Completion<RoomResult> done) = 0;
  /// Room messages for an occupant (see RoomArchiveQuery).
  virtual void async_messages(const RoomArchiveQuery& query,
                              Completion<RoomMessagesResult> done) = 0;
};

/// For rooms that answer at once: override the plain functions, which return
/// the result; the base completes. Calls are serialised by `Mutex`
/// (NullMutex when the functions are thread-safe themselves); an exception
/// one throws is answered as Failure::internal.
template <class Mutex = std::mutex>
class SyncMucLight : public MucLight, protected SyncCalls<Mutex> {
 public:
  virtual ServiceDomainResult service_domain(std::string_view user_domain) = 0;
  virtual CreateRoomResult create_room(const Caller& owner, const std::optional<Jid>& room,
                                       const RoomConfig& config) = 0;
  virtual UserRoomsResult user_rooms(const Caller& user) = 0;
  virtual RoomInfoResult room_info(const Caller& user, const Jid& room) = 0;
  virtual RoomResult set_config(const Caller& user, const Jid& room, const RoomConfig& config) = 0;
  virtual RoomResult set_affiliation(const Caller& actor, const Jid& room, const Jid& target,
                                     Affiliation affiliation) = 0;
  virtual RoomResult send_message(const Caller& sender, const Jid& room,
                                  std::string stanza_xml) = 0;
  virtual RoomMessagesResult messages(const RoomArchiveQuery& query) = 0;

  void async_service_domain(std::string_view user_domain,
                            Completion<ServiceDomainResult> done) final {
    this->complete(done, [&] { return service_domain(user_domain); });
  }
  void async_create_room(const Caller& owner, const std::optional<Jid>& room,
                         const RoomConfig& config, Completion<CreateRoomResult> done) final {
    this->complete(done, [&] { return create_room(owner, room, config); });
  }
  void async_user_rooms(const Caller& user, Completion<UserRoomsResult> done) final {
    this->complete(done, [&] { return user_rooms(user); });
  }
  void async_room_info(const Caller& user, const Jid& room, Completion<RoomInfoResult> done) final {
    this->complete(done, [&] { return room_info(user, room); });
  }
  void async_set_config(const Caller& user, const Jid& room, const RoomConfig& config,
                        Completion<RoomResult> done) final {
    this->complete(done, [&] { return set_config(user, room, config); });
  }
  void async_set_affiliation(const Caller& actor, const Jid& room, const Jid& target,
                             Affiliation affiliation, Completion<RoomResult> done) final {
    this->complete(done, [&] { return set_affiliation(actor, room, target, affiliation); });
  }
  void async_send_message(const Caller& sender, const Jid& room, std::string stanza_xml,
                          Completion<RoomResult> done) final {
    this->complete(done, [&] { return send_message(sender, room, std::move(stanza_xml)); });
  }
  void async_messages(const RoomArchiveQuery& query, Completion<RoomMessagesResult> done) final {
    this->complete(done, [&] { return messages(query); });
  }
};

}  // namespace mimrest
