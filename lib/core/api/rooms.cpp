// GET/POST /rooms, PUT /rooms[/{id}], GET /rooms/{id}.
#include <optional>
#include <string>
#include <utility>

#include "core/api/rooms_common.hpp"
#include "core/api/rooms_handlers.hpp"

namespace mimrest::detail {

namespace {

constexpr std::string_view kNotAllowed = "Given user does not have permission to change config";

void append_name_and_subject(std::string& json, const RoomConfig& config) {
  json += "\"name\":";
  json += json_string(config.name);
  json += ",\"subject\":";
  json += json_string(config.subject);
}

Response room_created(const Jid& room) {
  return id_response(201, room.local());
}

/// POST and PUT share everything after the room JID (nullopt: a fresh ID).
Response create_room(const HandlerContext& context, std::optional<Jid> room) {
  auto request = parse_room_config(context);
  if (!request) {
    return request.error();
  }
  if (request->validation_error) {
    return error_response(400, *request->validation_error);
  }
  auto created =
      context.backend.muc_light.create_room(context.user, std::move(room), request->config);
  if (!created) {
    return room_error_response(created.error(), kNotAllowed);
  }
  return room_created(created.value());
}

}  // namespace

Response get_rooms(const HandlerContext& context) {
  std::string json = "[";
  bool first = true;
  for (const RoomSummary& room : context.backend.muc_light.user_rooms(context.user)) {
    json += first ? "{" : ",{";
    first = false;
    json += "\"id\":";
    json += json_string(room.room.local());
    json += ',';
    append_name_and_subject(json, room.config);
    json += '}';
  }
  json += ']';
  return json_response(200, std::move(json));
}

Response post_rooms(const HandlerContext& context) {
  // The service is looked up before the body is read, as MongooseIM does.
  auto service = muc_light_service(context);
  if (!service) {
    return service.error();
  }
  return create_room(context, std::nullopt);
}

Response put_room(const HandlerContext& context) {
  auto room = resolve_room_param(context);
  if (!room) {
    return room.error();
  }
  return create_room(context, std::move(room).value());
}

Response get_room(const HandlerContext& context) {
  auto room = resolve_room_param(context);
  if (!room) {
    return room.error();
  }
  auto info = context.backend.muc_light.room_info(context.user, room.value());
  if (!info) {
    return room_error_response(info.error(), kNotAllowed);
  }
  std::string json = "{";
  append_name_and_subject(json, info->config);
  json += ",\"participants\":[";
  bool first = true;
  for (const RoomOccupant& occupant : info->occupants) {
    json += first ? "{" : ",{";
    first = false;
    json += "\"user\":";
    json += json_string(occupant.user.bare_string());
    json += ",\"role\":";
    json += json_string(to_string(occupant.affiliation));
    json += '}';
  }
  json += "]}";
  return json_response(200, std::move(json));
}

}  // namespace mimrest::detail
