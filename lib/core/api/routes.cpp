#include "core/api/routes.hpp"

#include <string>

#include "core/api/handlers.hpp"
#include "core/api/rooms_handlers.hpp"

namespace mimrest::detail {

namespace {
constexpr std::string_view kJson = "application/json";
constexpr std::string_view kEventStream = "text/event-stream";
}  // namespace

std::vector<Route> all_routes() {
  return {
      {Handler::sse, "/sse", kEventStream, {{"GET", get_sse}}},
      {Handler::messages,
       "/messages",
       kJson,
       {{"GET", get_messages, true}, {"POST", post_message}}},
      {Handler::messages, "/messages/{with}", kJson, {{"GET", get_messages, true}}},
      {Handler::contacts,
       "/contacts",
       kJson,
       {{"GET", get_contacts}, {"POST", post_contact}, {"DELETE", delete_contacts}}},
      {Handler::contacts,
       "/contacts/{jid}",
       kJson,
       {{"GET", get_contact}, {"PUT", put_contact}, {"DELETE", delete_contact}}},
      {Handler::rooms,
       "/rooms",
       kJson,
       {{"GET", get_rooms}, {"POST", post_rooms}, {"PUT", put_room}}},
      {Handler::rooms, "/rooms/{id}", kJson, {{"GET", get_room}, {"PUT", put_room}}},
      {Handler::rooms_config, "/rooms/{id}/config", kJson, {{"PUT", put_room_config}}},
      {Handler::rooms_users,
       "/rooms/{id}/users",
       kJson,
       {{"POST", post_room_user}, {"DELETE", delete_room_user}}},
      {Handler::rooms_users, "/rooms/{id}/users/{user}", kJson, {{"DELETE", delete_room_user}}},
      {Handler::rooms_messages,
       "/rooms/{id}/messages",
       kJson,
       {{"GET", get_room_messages, true}, {"POST", post_room_message}}},
  };
}

std::vector<Route> enabled_routes(const ApiConfig& config) {
  std::vector<Route> routes;
  for (auto& route : all_routes()) {
    if (config.handlers.count(route.group) != 0) {
      routes.push_back(std::move(route));
    }
  }
  return routes;
}

std::string allowed_methods(const Route& route) {
  std::string methods;
  for (const auto& operation : route.operations) {
    methods += operation.method;
    methods += ", ";
  }
  methods += "OPTIONS";
  return methods;
}

}  // namespace mimrest::detail
