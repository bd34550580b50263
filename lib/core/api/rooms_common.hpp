// Internal: what the MUC Light route handlers share - resolving the {id} path
// parameter to a room JID, mapping typed room errors to responses, and small
// JSON helpers for the request and response bodies.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <rapidjson/document.h>

#include "core/api/handler_context.hpp"
#include "mimrest/backend/muc_light.hpp"
#include "mimrest/expected.hpp"
#include "mimrest/http.hpp"
#include "mimrest/jid.hpp"

namespace mimrest::detail {

/// Config keys as MUC Light names them in validation errors.
inline constexpr std::string_view kRoomNameKey = "roomname";
inline constexpr std::string_view kRoomSubjectKey = "subject";
/// The reason MUC Light gives for a config value of the wrong type.
inline constexpr std::string_view kTypeErrorReason = "type_error";

/// The MUC Light service domain of the user's domain, prepared; 404
/// "MUC Light server not found" when MUC Light is off there.
Expected<std::string, Response> muc_light_service(const HandlerContext& context);

/// The bare room JID that `id` names: a room ID (a valid localpart, placed on
/// the user's MUC Light service) or a room JID on that service. Errors: 404
/// "MUC Light server not found", 400 "Invalid room ID", 400 "Invalid MUC
/// Light domain".
Expected<Jid, Response> resolve_room(const HandlerContext& context, std::string_view id);

/// The room named by the first path parameter; 400 "Missing room ID" when the
/// path has none.
Expected<Jid, Response> resolve_room_param(const HandlerContext& context);

/// "Validation failed for key: <key> with reason <reason>".
std::string validation_message(std::string_view key, std::string_view reason);

/// The response for a backend room error. `not_allowed_message` is the
/// endpoint's own text for RoomErrorKind::not_allowed.
Response room_error_response(const RoomError& error, std::string_view not_allowed_message);

/// Name and subject of a create or config request body. Answers 400 "Missing
/// room name", "Missing room subject", then a validation error for a value
/// that is not a string (name first, as MUC Light checks keys in order).
struct RoomConfigRequest {
  RoomConfig config;
  /// Set when a value is not a string: the validation error to answer once
  /// the room checks (which MUC Light runs first) have passed.
  std::optional<std::string> validation_error;
};
Expected<RoomConfigRequest, Response> parse_room_config(const HandlerContext& context);

}  // namespace mimrest::detail
