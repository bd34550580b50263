// Internal: the MUC Light route handlers (rooms, rooms_config, rooms_users,
// rooms_messages). The router calls them after the common checks.
#pragma once

#include "core/api/handler_context.hpp"

namespace mimrest::detail {

// rooms: params {} or {id}
Response get_rooms(const HandlerContext& context);   // GET /rooms
Response post_rooms(const HandlerContext& context);  // POST /rooms
Response put_room(const HandlerContext& context);    // PUT /rooms[/{id}]
Response get_room(const HandlerContext& context);    // GET /rooms/{id}
// rooms_config: params {id}
Response put_room_config(const HandlerContext& context);  // PUT /rooms/{id}/config
// rooms_users: params {id} or {id, user}
Response post_room_user(const HandlerContext& context);    // POST /rooms/{id}/users
Response delete_room_user(const HandlerContext& context);  // DELETE /rooms/{id}/users[/{user}]
// rooms_messages: params {id}
Response get_room_messages(const HandlerContext& context);  // GET /rooms/{id}/messages
Response post_room_message(const HandlerContext& context);  // POST /rooms/{id}/messages

}  // namespace mimrest::detail
