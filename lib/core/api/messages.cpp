// The messages group: POST /messages, GET /messages[/{with}].
#include <limits>
#include <string>

#include "core/api/handlers.hpp"
#include "mimrest/crypto.hpp"
#include "mimrest/stanza_builder.hpp"

namespace mimrest::detail {

Response get_messages(const HandlerContext& context) {
  // MongooseIM checks the interlocutor before the query string.
  std::optional<Jid> with;
  if (!context.params.empty()) {
    auto parsed = Jid::parse(context.params[0]);
    if (!parsed) {
      return error_response(400, "Invalid interlocutor JID");
    }
    with = parsed->bare();
  }
  // No upper bound here: the host caps the limit itself.
  auto paging = parse_paging(context.request.query, std::numeric_limits<std::size_t>::max());
  if (!paging) {
    return paging.error();
  }
  ArchiveQuery query{context.user, with, paging->before_us, paging->limit};
  return archived_messages_response(context.backend.archive.recent_messages(query),
                                    MessageEncoding::chat);
}

Response post_message(const HandlerContext& context) {
  auto document = parse_json_object(context);
  if (!document) {
    return document.error();
  }
  if (!document->HasMember("to")) {
    return error_response(400, "Missing recipient JID");
  }
  auto to_text = string_member(*document, "to");
  if (!to_text) {
    return error_response(400, "Invalid recipient JID");
  }
  auto to = Jid::parse(*to_text);
  if (!to) {
    return error_response(400, "Invalid recipient JID");
  }
  if (!document->HasMember("body")) {
    return error_response(400, "Missing message body");
  }
  auto body = string_member(*document, "body");
  if (!body) {
    return error_response(400, "Invalid message body");
  }

  std::string id = random_uuid();
  std::string stanza = build_chat_message(context.user.bare_string(), to->to_string(), id, *body);
  context.backend.router.route_chat_message(context.user, *to, std::move(stanza));

  return id_response(200, id);
}

}  // namespace mimrest::detail
