// The messages group: POST /messages, GET /messages[/{with}].
#include <limits>
#include <string>

#include "core/api/call.hpp"
#include "mimrest/crypto.hpp"
#include "mimrest/stanza_builder.hpp"

namespace mimrest::detail {

namespace {

constexpr ApiError kMissingRecipient{400, "Missing recipient JID"};
constexpr ApiError kInvalidRecipient{400, "Invalid recipient JID"};
constexpr ApiError kMissingBody{400, "Missing message body"};
constexpr ApiError kInvalidBody{400, "Invalid message body"};
constexpr ApiError kInvalidInterlocutor{400, "Invalid interlocutor JID"};

void get_messages(const CallPtr& call) {
  // MongooseIM checks the interlocutor before the query string.
  std::optional<Jid> with;
  if (auto given = call->param("with")) {
    auto parsed = Jid::parse(*given);
    if (!parsed) {
      call->fail(kInvalidInterlocutor);
      return;
    }
    with = parsed->bare();
  }
  // The archive a page belongs to, for continuing from its ends.
  std::string archive = with ? "chat:" + with->bare_string() : std::string("chat");
  // No upper bound here: the host caps the limit itself.
  auto page = parse_paging(*call, std::numeric_limits<std::size_t>::max(), archive);
  if (!page) {
    return;
  }
  const ArchiveQuery query{call->user(),
                           std::move(with),
                           page->before_us,
                           page->after_us,
                           page->limit,
                           std::move(page->before_id),
                           std::move(page->after_id)};
  call->await<ArchiveResult>(
      [&](const Backend& backend, auto done) { backend.archive->async_messages(query, done); },
      [call, archive = std::move(archive)](const std::vector<ArchivedMessage>& messages) {
        remember_page(*call, archive, messages);
        call->respond_json(200, call->archived_json(messages, MessageEncoding::chat));
      });
}

void post_message(const CallPtr& call) {
  auto document = parse_json_object(*call);
  if (!document) {
    return;
  }
  if (!document->HasMember("to")) {
    call->fail(kMissingRecipient);
    return;
  }
  auto to_text = string_member(*document, "to");
  std::optional<Jid> to;
  if (to_text) {
    if (auto parsed = Jid::parse(*to_text)) {
      to = std::move(parsed).value();
    }
  }
  if (!to) {
    call->fail(kInvalidRecipient);
    return;
  }
  if (!document->HasMember("body")) {
    call->fail(kMissingBody);
    return;
  }
  auto body = string_member(*document, "body");
  // XML cannot carry some characters (U+FFFE, most control characters):
  // refuse them rather than send something else.
  if (!body || !is_xml_representable(*body)) {
    call->fail(kInvalidBody);
    return;
  }

  std::string id = random_uuid();
  std::string stanza = build_chat_message(call->user().bare_string(), to->to_string(), id, *body);
  call->await<RouteResult>(
      [&](const Backend& backend, auto done) {
        backend.router->async_route_chat_message(call->user(), *to, std::move(stanza), done);
      },
      [call, id] { call->respond_id(200, id); });
}

RouteGroup declare() {
  constexpr std::string_view kChatMessages =
      R"({"type":"array","items":{"$ref":"#/components/schemas/ChatMessage"}})";
  RouteGroup group("messages");
  group.needs(&Backend::router)
      .needs(&Backend::archive)
      .param("with", "The other party's bare JID (percent-encoded)")
      .param(kLimitDoc)
      .param(kBeforeDoc)
      .param(kAfterDoc);
  group.schema("ChatMessage", R"({"type": "object", "required": ["timestamp"], "properties": {
    "from": {"type": "string"}, "to": {"type": "string"}, "id": {"type": "string"},
    "body": {"type": "string"}, "timestamp": {"type": "integer", "description": "milliseconds"},
    "thread": {"type": "string"}, "parent": {"type": "string"},
    "properties": {"type": "object", "additionalProperties": {"type": "string"}}}})");

  group.get("/messages", get_messages)
      .summary("Recent one-to-one messages of the user, oldest first")
      .returns(200, "The messages", kChatMessages)
      .errors({&paging_errors::invalid_query, &paging_errors::invalid_limit,
               &paging_errors::invalid_before, &paging_errors::invalid_after})
      .query({"limit", "before", "after"});
  group.post("/messages", post_message)
      .summary("Send a chat message")
      .body(R"({"type":"object","required":["to","body"],"properties":{"to":{"type":"string",)"
            R"("description":"recipient JID"},"body":{"type":"string"}}})")
      .returns(200, "The message was sent",
               R"({"type":"object","required":["id"],"properties":{"id":{"type":"string"}}})")
      .errors({&common_errors::invalid_body, &kMissingRecipient, &kInvalidRecipient, &kMissingBody,
               &kInvalidBody});
  group.get("/messages/{with}", get_messages)
      .summary("Recent messages exchanged with one contact, oldest first")
      .returns(200, "The messages", kChatMessages)
      .errors({&kInvalidInterlocutor, &paging_errors::invalid_query, &paging_errors::invalid_limit,
               &paging_errors::invalid_before, &paging_errors::invalid_after})
      .query({"limit", "before", "after"});
  return group;
}

}  // namespace

const RouteGroup& messages_group() {
  static const RouteGroup group = declare();
  return group;
}

}  // namespace mimrest::detail
