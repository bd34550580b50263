// The rooms_messages group: GET and POST /rooms/{id}/messages.
#include <string>
#include <utility>

#include "core/api/rooms_common.hpp"
#include "mimrest/crypto.hpp"
#include "mimrest/stanza_builder.hpp"

namespace mimrest::detail {

namespace {

using namespace rooms;

constexpr ApiError kInvalidBody{400, "Invalid message body"};
constexpr ApiError kInvalidMarker{400, "Invalid chat marker"};
constexpr ApiError kNoElements{400, "No valid message elements"};
constexpr ApiError kNotAllowed{403, "Given user does not have permission to send messages"};
/// Rooms allow a larger page than one-to-one history (MongooseIM: 0..500).
constexpr std::size_t kMaxRoomLimit = 500;

std::optional<std::string> xml_string(const rapidjson::Value& value) {
  if (!value.IsString()) {
    return std::nullopt;
  }
  std::string text(value.GetString(), value.GetStringLength());
  // XML cannot carry some characters (U+FFFE, most control characters):
  // refuse them rather than send something else.
  if (!is_xml_representable(text)) {
    return std::nullopt;
  }
  return text;
}

/// The message content of a POST body, checked in MongooseIM's order: body,
/// chat marker, then that at least one of them is there. nullopt after
/// answering.
std::optional<RoomMessageContent> message_content(Call& call, const rapidjson::Value& object) {
  RoomMessageContent content;
  if (const rapidjson::Value* body = find_member(object, "body")) {
    content.body = xml_string(*body);
    if (!content.body) {
      call.fail(kInvalidBody);
      return std::nullopt;
    }
  }
  if (const rapidjson::Value* marker = find_member(object, "chat_marker")) {
    const rapidjson::Value* type = find_member(*marker, "type");
    const rapidjson::Value* id = find_member(*marker, "id");
    auto type_text = type ? xml_string(*type) : std::nullopt;
    auto id_text = id ? xml_string(*id) : std::nullopt;
    if (!type_text || !id_text || !is_chat_marker_type(*type_text)) {
      call.fail(kInvalidMarker);
      return std::nullopt;
    }
    content.chat_marker = ChatMarker{std::move(*type_text), std::move(*id_text)};
  }
  // Only a literal true counts, and only next to a body.
  if (const rapidjson::Value* markable = find_member(object, "markable")) {
    content.markable = content.body.has_value() && markable->IsTrue();
  }
  if (!content.body && !content.chat_marker) {
    call.fail(kNoElements);
    return std::nullopt;
  }
  return content;
}

void get_room_messages(const CallPtr& call) {
  with_room_param(call, [call](const Jid& room) {
    std::string archive = "room:" + room.bare_string();
    auto page = parse_paging(*call, kMaxRoomLimit, archive);
    if (!page) {
      return;
    }
    const RoomArchiveQuery query{call->user(),
                                 room,
                                 page->before_us,
                                 page->after_us,
                                 page->limit,
                                 std::move(page->before_id),
                                 std::move(page->after_id)};
    await_room<RoomMessagesResult>(
        call, kNotAllowed,
        [&](const Backend& backend, auto done) { backend.muc_light->async_messages(query, done); },
        [call, archive = std::move(archive)](const std::vector<ArchivedMessage>& messages) {
          remember_page(*call, archive, messages);
          call->respond_json(200, call->archived_json(messages, MessageEncoding::room));
        });
  });
}

void post_room_message(const CallPtr& call) {
  with_room_param(call, [call](const Jid& room) {
    auto body = parse_json_object(*call);
    if (!body) {
      return;
    }
    auto content = message_content(*call, *body);
    if (!content) {
      return;
    }
    std::string id = random_uuid();
    std::string stanza =
        build_room_message(call->user().bare_string(), room.bare_string(), id, *content);
    await_room<RoomResult>(
        call, kNotAllowed,
        [&](const Backend& backend, auto done) {
          backend.muc_light->async_send_message(call->user(), room, std::move(stanza), done);
        },
        [call, id] { call->respond_id(200, id); });
  });
}

RouteGroup declare() {
  RouteGroup group("rooms_messages");
  group.needs(&Backend::muc_light)
      .param(kIdDoc)
      .param("limit", "At most this many messages, 0..500 (default 50)", "query", "integer")
      .param(kBeforeDoc)
      .param(kAfterDoc);
  group.schema(
      "RoomMessage",
      R"({"type": "object", "required": ["id", "from", "timestamp", "type"], "properties": {
    "id": {"type": "string"}, "from": {"type": "string"},
    "timestamp": {"type": "integer", "description": "milliseconds"},
    "type": {"type": "string", "enum": ["message", "affiliation"]},
    "body": {"type": "string"}, "markable": {"type": "boolean"},
    "chat_marker": {"type": "object", "properties": {"type": {"type": "string"}, "id": {"type": "string"}}},
    "affiliation": {"type": "string", "enum": ["owner", "member", "none"]},
    "user": {"type": "string"}}})");
  group.get("/rooms/{id}/messages", get_room_messages)
      .summary("Recent room messages, oldest first")
      .returns(200, "The messages",
               R"({"type":"array","items":{"$ref":"#/components/schemas/RoomMessage"}})")
      .errors({&kServerNotFound, &kInvalidRoomId, &kInvalidDomain, &paging_errors::invalid_query,
               &paging_errors::invalid_limit, &paging_errors::invalid_before,
               &paging_errors::invalid_after, &kRoomNotFound, &kNotOccupant})
      .query({"limit", "before", "after"});
  group.post("/rooms/{id}/messages", post_room_message)
      .summary("Send a message or a chat marker to the room")
      .body(R"({"type":"object","properties":{"body":{"type":"string"},"markable":{)"
            R"("type":"boolean"},"chat_marker":{"type":"object","required":["type","id"],)"
            R"("properties":{"type":{"type":"string","enum":["received","displayed",)"
            R"("acknowledged"]},"id":{"type":"string"}}}}})")
      .returns(200, "Sent",
               R"({"type":"object","required":["id"],"properties":{"id":{"type":"string"}}})")
      .errors({&kServerNotFound, &kInvalidRoomId, &kInvalidDomain, &common_errors::invalid_body,
               &kInvalidBody, &kInvalidMarker, &kNoElements, &kRoomNotFound, &kNotOccupant,
               &kNotAllowed, &kValidationFailed});
  return group;
}

}  // namespace

const RouteGroup& rooms_messages_group() {
  static const RouteGroup group = declare();
  return group;
}

}  // namespace mimrest::detail
