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
  auto room = resolve_param(*call);
  if (!room) {
    return;
  }
  auto paging = parse_paging(*call, kMaxRoomLimit);
  if (!paging) {
    return;
  }
  RoomArchiveQuery query{call->user(), *room, paging->before_us, paging->after_us, paging->limit};
  call->with_backend([&](const Backend& backend) {
    backend.muc_light->async_messages(query, call->then([call](RoomMessagesResult messages) {
      if (!messages) {
        rooms::fail(*call, messages.error(), kNotAllowed);
        return;
      }
      call->respond_json(200,
                         call->state().archive_json.array_json(*messages, MessageEncoding::room));
    }));
  });
}

void post_room_message(const CallPtr& call) {
  auto room = resolve_param(*call);
  if (!room) {
    return;
  }
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
      build_room_message(call->user().bare_string(), room->bare_string(), id, *content);
  call->with_backend([&](const Backend& backend) {
    backend.muc_light->async_send_message(call->user(), *room, std::move(stanza),
                                          call->then([call, id](RoomResult sent) {
                                            if (!sent) {
                                              rooms::fail(*call, sent.error(), kNotAllowed);
                                              return;
                                            }
                                            call->respond_id(200, id);
                                          }));
  });
}

}  // namespace

const RouteGroup& rooms_messages_group() {
  static const RouteGroup group{
      "rooms_messages",
      rooms::available,
      true,
      true,
      {kIdDoc,
       {"limit", "query", "integer", "At most this many messages, 0..500 (default 50)"},
       kBeforeDoc,
       kAfterDoc},
      {
          {"/rooms/{id}/messages",
           "application/json",
           {{"GET",
             get_room_messages,
             "Recent room messages, oldest first",
             "",
             200,
             "The messages",
             R"({"type":"array","items":{"$ref":"#/components/schemas/RoomMessage"}})",
             {&kServerNotFound, &kInvalidRoomId, &kInvalidDomain, &paging_errors::invalid_query,
              &paging_errors::invalid_limit, &paging_errors::invalid_before,
              &paging_errors::invalid_after, &kRoomNotFound, &kNotOccupant},
             {"limit", "before", "after"}},
            {"POST",
             post_room_message,
             "Send a message or a chat marker to the room",
             R"({"type":"object","properties":{"body":{"type":"string"},"markable":{)"
             R"("type":"boolean"},"chat_marker":{"type":"object","required":["type","id"],)"
             R"("properties":{"type":{"type":"string","enum":["received","displayed",)"
             R"("acknowledged"]},"id":{"type":"string"}}}}})",
             200,
             "Sent",
             R"({"type":"object","required":["id"],"properties":{"id":{"type":"string"}}})",
             {&kServerNotFound, &kInvalidRoomId, &kInvalidDomain, &common_errors::invalid_body,
              &kInvalidBody, &kInvalidMarker, &kNoElements, &kRoomNotFound, &kNotOccupant}}}},
      }};
  return group;
}

}  // namespace mimrest::detail
