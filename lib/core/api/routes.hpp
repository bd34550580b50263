// Internal: the route table of the client REST API. The router (api.cpp) and
// the OpenAPI document (openapi.cpp) are both built from it, so the served
// paths and the documented ones cannot drift apart.
#pragma once

#include <string_view>
#include <vector>

#include "core/api/handler_context.hpp"
#include "mimrest/api_config.hpp"

namespace mimrest::detail {

using HandlerFunction = Response (*)(const HandlerContext& context);

/// One method of a route.
struct Operation {
  std::string_view method;  ///< "GET", "POST", "PUT" or "DELETE"
  HandlerFunction handler;
  /// Accepts the `limit` and `before` query parameters.
  bool paging = false;
};

struct Route {
  Handler group;
  /// Relative to the base path; "{name}" segments are parameters, e.g.
  /// "/rooms/{id}/users/{user}".
  std::string_view path;
  /// What the route answers with (checked against Accept).
  std::string_view produces;
  std::vector<Operation> operations;
};

/// Every route of every handler group, in a fixed order.
std::vector<Route> all_routes();

/// The routes of the enabled groups only.
std::vector<Route> enabled_routes(const ApiConfig& config);

/// "GET, POST, OPTIONS": the methods of a route, OPTIONS last, as the Allow
/// and Access-Control-Allow-Methods headers show them.
std::string allowed_methods(const Route& route);

}  // namespace mimrest::detail
