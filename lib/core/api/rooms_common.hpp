// Internal: what the MUC Light route groups share - resolving the {id} path
// parameter to a room JID, the room error messages and their mapping from
// typed room errors, and parsing a room's name and subject.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "core/api/call.hpp"
#include "mimrest/backend/muc_light.hpp"

namespace mimrest::detail::rooms {

inline constexpr ApiError kInvalidRoomId{400, "Invalid room ID"};
inline constexpr ApiError kInvalidDomain{400, "Invalid MUC Light domain"};
inline constexpr ApiError kMissingRoomId{400, "Missing room ID"};
inline constexpr ApiError kMissingName{400, "Missing room name"};
inline constexpr ApiError kMissingSubject{400, "Missing room subject"};
inline constexpr ApiError kValidationFailed{
    400, "Validation failed for key: ", "<key> with reason <reason>"};
inline constexpr ApiError kNotOccupant{403, "Given user does not occupy this room"};
inline constexpr ApiError kAlreadyExists{403, "Room already exists"};
inline constexpr ApiError kServerNotFound{404, "MUC Light server not found"};
inline constexpr ApiError kRoomNotFound{404, "Room not found"};

/// The {id} parameter's documentation.
inline constexpr ParamDoc kIdDoc{"id", "path", "string",
                                 "Room ID, or room JID on the user's MUC Light service"};

/// Finds the MUC Light service domain of the user's domain (prepared), then
/// runs `next(domain)`; answers 404 "MUC Light server not found" when there
/// is none. MongooseIM looks the service up before anything else.
void with_service(const CallPtr& call, std::function<void(const std::string&)> next);

/// The bare room JID that `id` names: a room ID (a valid localpart, placed on
/// the user's MUC Light service) or a room JID on that service; then
/// `next(room)`. Answers 404 "MUC Light server not found", 400 "Invalid room
/// ID" or 400 "Invalid MUC Light domain" instead.
void with_room(const CallPtr& call, std::string id, std::function<void(const Jid&)> next);

/// The room of the {id} parameter; 400 "Missing room ID" when the path has
/// none.
void with_room_param(const CallPtr& call, std::function<void(const Jid&)> next);

/// Answers a backend room error. `not_allowed` is the endpoint's own error
/// for RoomErrorKind::not_allowed.
void fail(Call& call, const RoomError& error, const ApiError& not_allowed);

/// Runs a room operation and answers with `on_value`, or the room error
/// (`not_allowed` as for fail()).
template <class Result, class Start, class OnValue>
void await_room(const CallPtr& call, const ApiError& not_allowed, Start&& start, OnValue on_value) {
  call->await<Result>(
      std::forward<Start>(start), std::move(on_value),
      [call, &not_allowed](const RoomError& error) { fail(*call, error, not_allowed); });
}

/// Name and subject of a create or config request body.
struct ConfigRequest {
  RoomConfig config;
  /// Set when a value is not a string: "<key> with reason type_error", to
  /// answer once the room checks (which MUC Light runs first) have passed.
  std::optional<std::string> invalid;
};

/// Parses name and subject; nullopt after answering 400 "Invalid request
/// body", "Missing room name" or "Missing room subject".
std::optional<ConfigRequest> parse_config(Call& call);

/// "Validation failed for key: <key> with reason <reason>".
void fail_validation(Call& call, std::string_view key_and_reason);

}  // namespace mimrest::detail::rooms
