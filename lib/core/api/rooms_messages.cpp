// GET and POST /rooms/{id}/messages.
#include <string>
#include <utility>

#include "core/api/rooms_common.hpp"
#include "core/api/rooms_handlers.hpp"
#include "mimrest/crypto.hpp"
#include "mimrest/stanza_builder.hpp"

namespace mimrest::detail {

namespace {

constexpr std::string_view kNotAllowed = "Given user does not have permission to send messages";
/// Rooms allow a larger page than one-to-one history (MongooseIM: 0..500).
constexpr std::size_t kMaxRoomLimit = 500;

std::optional<std::string> string_value(const rapidjson::Value& value) {
  if (!value.IsString()) {
    return std::nullopt;
  }
  return std::string(value.GetString(), value.GetStringLength());
}

/// The message content of a POST body, checked in MongooseIM's order: body,
/// chat marker, then that at least one of them is there.
Expected<RoomMessageContent, Response> message_content(const rapidjson::Value& object) {
  RoomMessageContent content;
  if (const rapidjson::Value* body = find_member(object, "body")) {
    content.body = string_value(*body);
    if (!content.body) {
      return unexpected(error_response(400, "Invalid message body"));
    }
  }
  if (const rapidjson::Value* marker = find_member(object, "chat_marker")) {
    const rapidjson::Value* type = find_member(*marker, "type");
    const rapidjson::Value* id = find_member(*marker, "id");
    auto type_text = type ? string_value(*type) : std::nullopt;
    auto id_text = id ? string_value(*id) : std::nullopt;
    if (!type_text || !id_text || !is_chat_marker_type(*type_text)) {
      return unexpected(error_response(400, "Invalid chat marker"));
    }
    content.chat_marker = ChatMarker{std::move(*type_text), std::move(*id_text)};
  }
  // Only a literal true counts, and only next to a body.
  if (const rapidjson::Value* markable = find_member(object, "markable")) {
    content.markable = content.body.has_value() && markable->IsTrue();
  }
  if (!content.body && !content.chat_marker) {
    return unexpected(error_response(400, "No valid message elements"));
  }
  return content;
}

}  // namespace

Response get_room_messages(const HandlerContext& context) {
  auto room = resolve_room_param(context);
  if (!room) {
    return room.error();
  }
  auto paging = parse_paging(context.request.query, kMaxRoomLimit);
  if (!paging) {
    return paging.error();
  }
  auto messages = context.backend.muc_light.recent_messages(context.user, room.value(),
                                                            paging->before_us, paging->limit);
  if (!messages) {
    return room_error_response(messages.error(), kNotAllowed);
  }
  return archived_messages_response(messages.value(), MessageEncoding::room);
}

Response post_room_message(const HandlerContext& context) {
  auto room = resolve_room_param(context);
  if (!room) {
    return room.error();
  }
  auto body = parse_json_object(context);
  if (!body) {
    return body.error();
  }
  auto content = message_content(body.value());
  if (!content) {
    return content.error();
  }
  std::string id = random_uuid();
  std::string stanza =
      build_room_message(context.user.bare_string(), room->bare_string(), id, content.value());
  auto sent = context.backend.muc_light.send_message(context.user, room.value(), std::move(stanza));
  if (!sent) {
    return room_error_response(sent.error(), kNotAllowed);
  }
  return id_response(200, id);
}

}  // namespace mimrest::detail
