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
  // No upper bound here: the host caps the limit itself.
  auto paging = parse_paging(*call, std::numeric_limits<std::size_t>::max());
  if (!paging) {
    return;
  }
  ArchiveQuery query{call->user(), std::move(with), paging->before_us, paging->after_us,
                     paging->limit};
  call->with_backend([&](const Backend& backend) {
    backend.archive->async_messages(query, call->then([call](ArchiveResult messages) {
      if (!messages) {
        call->fail(messages.error());
        return;
      }
      call->respond_json(200,
                         call->state().archive_json.array_json(*messages, MessageEncoding::chat));
    }));
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
  call->with_backend([&](const Backend& backend) {
    backend.router->async_route_chat_message(call->user(), *to, std::move(stanza),
                                             call->then([call, id](RouteResult routed) {
                                               if (!routed) {
                                                 call->fail(routed.error());
                                                 return;
                                               }
                                               call->respond_id(200, id);
                                             }));
  });
}

constexpr std::string_view kChatMessages =
    R"({"type":"array","items":{"$ref":"#/components/schemas/ChatMessage"}})";

}  // namespace

const RouteGroup& messages_group() {
  static const RouteGroup group{
      "messages",
      [](const ApiConfig&, const Backend& backend) {
        return backend.router != nullptr && backend.archive != nullptr;
      },
      true,
      true,
      {{"with", "path", "string", "The other party's bare JID (percent-encoded)"},
       kLimitDoc,
       kBeforeDoc,
       kAfterDoc},
      {
          {"/messages",
           "application/json",
           {{"GET",
             get_messages,
             "Recent one-to-one messages of the user, oldest first",
             "",
             200,
             "The messages",
             kChatMessages,
             {&paging_errors::invalid_query, &paging_errors::invalid_limit,
              &paging_errors::invalid_before, &paging_errors::invalid_after},
             {"limit", "before", "after"}},
            {"POST",
             post_message,
             "Send a chat message",
             R"({"type":"object","required":["to","body"],"properties":{"to":{"type":"string",)"
             R"("description":"recipient JID"},"body":{"type":"string"}}})",
             200,
             "The message was sent",
             R"({"type":"object","required":["id"],"properties":{"id":{"type":"string"}}})",
             {&common_errors::invalid_body, &kMissingRecipient, &kInvalidRecipient, &kMissingBody,
              &kInvalidBody}}}},
          {"/messages/{with}",
           "application/json",
           {{"GET",
             get_messages,
             "Recent messages exchanged with one contact, oldest first",
             "",
             200,
             "The messages",
             kChatMessages,
             {&kInvalidInterlocutor, &paging_errors::invalid_query, &paging_errors::invalid_limit,
              &paging_errors::invalid_before, &paging_errors::invalid_after},
             {"limit", "before", "after"}}}},
      }};
  return group;
}

}  // namespace mimrest::detail
