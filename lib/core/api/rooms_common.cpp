#include "core/api/rooms_common.hpp"

#include <utility>

namespace mimrest::detail {

Expected<std::string, Response> muc_light_service(const HandlerContext& context) {
  auto service = context.backend.muc_light.service_domain(context.user.domain());
  if (!service) {
    return unexpected(error_response(404, "MUC Light server not found"));
  }
  // Prepared like every JID domain, so that it compares with parsed room JIDs.
  auto prepared = Jid::parse(*service);
  if (!prepared || !prepared->local().empty() || !prepared->is_bare()) {
    return unexpected(error_response(404, "MUC Light server not found"));
  }
  return prepared->domain();
}

Expected<Jid, Response> resolve_room(const HandlerContext& context, std::string_view id) {
  // MongooseIM looks the service up before it looks at the ID.
  auto service = muc_light_service(context);
  if (!service) {
    return unexpected(service.error());
  }
  // A valid localpart is a room ID, even when it would also parse as a JID
  // (a bare domain such as "muclight.localhost").
  auto local = prepare_localpart(id);
  if (local && !local->empty()) {
    auto room = Jid::from_parts(*local, *service);
    if (!room) {
      return unexpected(error_response(400, "Invalid room ID"));
    }
    return std::move(room).value();
  }
  auto room = Jid::parse(id);
  if (!room) {
    return unexpected(error_response(400, "Invalid room ID"));
  }
  if (room->domain() != *service) {
    return unexpected(error_response(400, "Invalid MUC Light domain"));
  }
  if (room->local().empty()) {
    return unexpected(error_response(400, "Invalid room ID"));
  }
  // A resource says nothing about which room is meant.
  return room->bare();
}

Expected<Jid, Response> resolve_room_param(const HandlerContext& context) {
  if (context.params.empty()) {
    return unexpected(error_response(400, "Missing room ID"));
  }
  return resolve_room(context, context.params.front());
}

std::string validation_message(std::string_view key, std::string_view reason) {
  std::string message = "Validation failed for key: ";
  message += key;
  message += " with reason ";
  message += reason;
  return message;
}

Response room_error_response(const RoomError& error, std::string_view not_allowed_message) {
  switch (error.kind) {
    case RoomErrorKind::room_not_found:
      return error_response(404, "Room not found");
    case RoomErrorKind::not_occupant:
      return error_response(403, "Given user does not occupy this room");
    case RoomErrorKind::not_allowed:
      return error_response(403, not_allowed_message);
    case RoomErrorKind::already_exists:
      return error_response(403, "Room already exists");
    case RoomErrorKind::validation_failed:
      return error_response(400, validation_message(error.key, error.reason));
  }
  // An out-of-range kind from a faulty backend: deny rather than crash.
  return error_response(403, not_allowed_message);
}

Expected<RoomConfigRequest, Response> parse_room_config(const HandlerContext& context) {
  auto body = parse_json_object(context);
  if (!body) {
    return unexpected(body.error());
  }
  const rapidjson::Value& object = body.value();
  const rapidjson::Value* name = find_member(object, "name");
  if (name == nullptr) {
    return unexpected(error_response(400, "Missing room name"));
  }
  const rapidjson::Value* subject = find_member(object, "subject");
  if (subject == nullptr) {
    return unexpected(error_response(400, "Missing room subject"));
  }
  RoomConfigRequest request;
  if (!name->IsString()) {
    request.validation_error = validation_message(kRoomNameKey, kTypeErrorReason);
  } else if (!subject->IsString()) {
    request.validation_error = validation_message(kRoomSubjectKey, kTypeErrorReason);
  } else {
    request.config.name.assign(name->GetString(), name->GetStringLength());
    request.config.subject.assign(subject->GetString(), subject->GetStringLength());
  }
  return request;
}

}  // namespace mimrest::detail
