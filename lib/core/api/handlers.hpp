// Internal: the route handlers of the sse, messages and contacts groups.
#pragma once

#include "core/api/handler_context.hpp"

namespace mimrest::detail {

// sse: params {}
Response get_sse(const HandlerContext& context);  // GET /sse
// messages: params {} or {with}
Response get_messages(const HandlerContext& context);  // GET /messages[/{with}]
Response post_message(const HandlerContext& context);  // POST /messages
// contacts: params {} or {jid}
Response get_contacts(const HandlerContext& context);     // GET /contacts
Response get_contact(const HandlerContext& context);      // GET /contacts/{jid}
Response post_contact(const HandlerContext& context);     // POST /contacts
Response put_contact(const HandlerContext& context);      // PUT /contacts/{jid}
Response delete_contacts(const HandlerContext& context);  // DELETE /contacts
Response delete_contact(const HandlerContext& context);   // DELETE /contacts/{jid}

}  // namespace mimrest::detail
