// Internal: how a route group describes itself. Each group (one file under
// lib/core/api/) declares its paths with named parameters, its handlers, its
// documentation and its error messages together; the router, the OpenAPI
// document and the configuration's handler names are all derived from the
// list of groups (groups.cpp).
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "mimrest/api_config.hpp"
#include "mimrest/backend/backend.hpp"

namespace mimrest::detail {

class Call;
using CallPtr = std::shared_ptr<Call>;
/// Answers one request through call->respond()/fail(), now or later.
using HandlerFunction = void (*)(const CallPtr& call);

/// One error answer a handler gives: the status and the exact message, or,
/// when `placeholder` is set, a message made of `text`, a value and `suffix`
/// ("Invalid JID: " + the JID as given; documented as "Invalid JID: <jid>").
struct ApiError {
  int status;
  std::string_view text;
  std::string_view placeholder = {};
  std::string_view suffix = {};
};

/// Who may call an operation.
enum class Access {
  user,           ///< an authenticated user (Basic, or Bearer when tokens are on)
  anyone,         ///< no authentication (documentation)
  refresh_token,  ///< no Authorization: a refresh token in the body (401, 429)
};

/// A parameter of a path or query, for the documentation.
struct ParamDoc {
  std::string_view name;
  std::string_view in;    ///< "path" or "query"
  std::string_view type;  ///< "string" or "integer"
  std::string_view description;
};

struct Operation {
  std::string_view method;  ///< "GET", "POST", "PUT" or "DELETE"
  HandlerFunction handler;
  std::string_view summary;
  /// JSON schema of the request body; empty when it takes none.
  std::string_view request_schema;
  int success_status;
  std::string_view success_description;
  /// JSON schema of the success body; empty when there is none.
  std::string_view success_schema;
  /// Every error the handler answers with, in the order it checks them.
  std::vector<const ApiError*> errors;
  /// The query parameters it reads (documented in the group's params).
  std::vector<std::string_view> query = {};
  Access access = Access::user;
  /// Also accepts a Bearer token as the `access_token` query parameter (for
  /// a browser's EventSource, which cannot set headers).
  bool token_in_query = false;
};

struct Route {
  /// Relative to the base path; "{name}" segments are named parameters.
  std::string_view path;
  /// What a success answers with (checked against Accept).
  std::string_view produces;
  std::vector<Operation> operations;
};

struct RouteGroup {
  /// The name ApiConfig::handlers and the configuration file use.
  std::string_view name;
  /// Whether the group is on for this configuration and backend (its
  /// capabilities are there, its feature is enabled).
  bool (*available)(const ApiConfig& config, const Backend& backend);
  /// Whether ApiConfig::handlers switches it (false: on whenever available).
  bool switchable = true;
  /// Whether its routes appear in the OpenAPI document.
  bool documented = true;
  std::vector<ParamDoc> params;
  std::vector<Route> routes;
};

/// Every group, in documentation order.
const std::vector<const RouteGroup*>& all_groups();

// The groups (one file each).
const RouteGroup& docs_group();
const RouteGroup& sse_group();
const RouteGroup& messages_group();
const RouteGroup& contacts_group();
const RouteGroup& rooms_group();
const RouteGroup& rooms_config_group();
const RouteGroup& rooms_users_group();
const RouteGroup& rooms_messages_group();
const RouteGroup& tokens_group();

/// Errors the core answers before any handler runs, or for any handler.
namespace common_errors {
inline constexpr ApiError invalid_path{400, "Invalid path"};
inline constexpr ApiError too_large{413, "Request body too large"};
inline constexpr ApiError invalid_body{400, "Invalid request body"};
inline constexpr ApiError throttled{429, "Too many failed logins"};
inline constexpr ApiError internal{500, "Internal server error"};
inline constexpr ApiError unavailable{503, "Service unavailable"};
}  // namespace common_errors

}  // namespace mimrest::detail
