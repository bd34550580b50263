// Internal: how a route group declares itself. Each group (one file under
// lib/core/api/) declares its paths with named parameters, its handlers,
// their documentation, the schemas they share and the error messages they
// answer with, in one place, with every field named:
//
//   RouteGroup group("contacts");
//   group.needs(&Backend::roster).param("jid", "The contact's bare JID");
//   group.schema("Contact", R"({"type":"object", ...})");
//   group.get("/contacts", get_contacts)
//       .summary("The user's contacts (roster)")
//       .returns(200, "The contacts", R"({"type":"array", ...})");
//   group.post("/contacts", post_contact)
//       .summary("Add a contact")
//       .body(R"({"type":"object", ...})")
//       .returns(204, "Added")
//       .errors({&common_errors::invalid_body, &kMissingJid});
//
// The router, the OpenAPI document and the configuration's handler names
// are all derived from the list of groups (groups.cpp).
#pragma once

#include <deque>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string_view>
#include <vector>

#include "core/detail/test_export.hpp"
#include "mimrest/api_config.hpp"
#include "mimrest/backend/backend.hpp"

namespace mimrest::detail {

class Call;
using CallPtr = std::shared_ptr<Call>;
/// Answers one request through the Call, now or later.
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

/// A named JSON schema, referred to as "#/components/schemas/<name>".
struct SchemaDoc {
  std::string_view name;
  std::string_view json;
};

/// One method on one path: its handler and its documentation. Declared
/// through the named setters (each returns *this); read through the getters
/// of the same names.
class Operation {
 public:
  Operation(std::string_view http_method, HandlerFunction run)
      : method_(http_method), handler_(run) {}

  Operation& summary(std::string_view text);
  /// JSON schema of the request body (none when not set).
  Operation& body(std::string_view schema);
  /// The success status, its description and the JSON schema of its body
  /// (none when empty).
  Operation& returns(int status, std::string_view description, std::string_view schema = {});
  /// Every error the handler answers with, in the order it checks them.
  Operation& errors(std::initializer_list<const ApiError*> list);
  /// The query parameters it reads (documented in the group's params).
  Operation& query(std::initializer_list<std::string_view> names);
  Operation& access(Access who);
  /// Also accepts a Bearer token as the `access_token` query parameter (for
  /// a browser's EventSource, which cannot set headers).
  Operation& token_in_query();

  std::string_view method() const noexcept { return method_; }
  HandlerFunction handler() const noexcept { return handler_; }
  std::string_view summary() const noexcept { return summary_; }
  std::string_view request_schema() const noexcept { return request_schema_; }
  int success_status() const noexcept { return success_status_; }
  std::string_view success_description() const noexcept { return success_description_; }
  std::string_view success_schema() const noexcept { return success_schema_; }
  const std::vector<const ApiError*>& errors() const noexcept { return errors_; }
  const std::vector<std::string_view>& query() const noexcept { return query_; }
  Access access() const noexcept { return access_; }
  bool accepts_token_in_query() const noexcept { return token_in_query_; }

  /// Whether answering `error` is declared: one of errors(), or one the core
  /// answers for every operation (internal, unavailable, too large, ...).
  bool declares(const ApiError& error) const noexcept;

 private:
  std::string_view method_;
  HandlerFunction handler_;
  std::string_view summary_;
  std::string_view request_schema_;
  int success_status_ = 200;
  std::string_view success_description_;
  std::string_view success_schema_;
  std::vector<const ApiError*> errors_;
  std::vector<std::string_view> query_;
  Access access_ = Access::user;
  bool token_in_query_ = false;
};

struct Route {
  /// Relative to the base path; "{name}" segments are named parameters.
  std::string_view path;
  /// What a success answers with (checked against Accept).
  std::string_view produces = "application/json";
  /// Stable addresses: the router keeps pointers to them.
  std::deque<Operation> operations;
};

class RouteGroup {
 public:
  /// `name`: what ApiConfig::handlers and the configuration file call it.
  explicit RouteGroup(std::string_view group_name) : name(group_name) {}

  /// The group is on only when `available` says so for the configuration and
  /// backend (its capabilities are there, its feature is enabled).
  RouteGroup& needs(std::function<bool(const ApiConfig&, const Backend&)> available);
  /// Shorthand: on when the backend has this capability.
  template <class Interface>
  RouteGroup& needs(Interface* Backend::*capability) {
    return needs([capability](const ApiConfig&, const Backend& backend) {
      return backend.*capability != nullptr;
    });
  }
  /// On whenever available: ApiConfig::handlers does not switch it.
  RouteGroup& always_on();
  /// Left out of the OpenAPI document.
  RouteGroup& undocumented();
  /// Documents a path parameter ("in": path, type string) or, with `in` and
  /// `type`, a query parameter.
  RouteGroup& param(std::string_view param_name, std::string_view description,
                    std::string_view in = "path", std::string_view type = "string");
  RouteGroup& param(const ParamDoc& doc);
  /// A schema the group's operations refer to.
  RouteGroup& schema(std::string_view schema_name, std::string_view json);

  Operation& get(std::string_view path, HandlerFunction run);
  Operation& post(std::string_view path, HandlerFunction run);
  Operation& put(std::string_view path, HandlerFunction run);
  Operation& del(std::string_view path, HandlerFunction run);
  /// The route of `path`, created when new (to set what it produces).
  Route& route(std::string_view path);

  bool available(const ApiConfig& config, const Backend& backend) const;

  const std::string_view name;
  bool switchable() const noexcept { return switchable_; }
  bool documented() const noexcept { return documented_; }
  const std::vector<ParamDoc>& params() const noexcept { return params_; }
  const std::vector<SchemaDoc>& schemas() const noexcept { return schemas_; }
  const std::deque<Route>& routes() const noexcept { return routes_; }

 private:
  Operation& add(std::string_view method, std::string_view path, HandlerFunction run);

  bool switchable_ = true;
  bool documented_ = true;
  std::vector<std::function<bool(const ApiConfig&, const Backend&)>> conditions_;
  std::vector<ParamDoc> params_;
  std::vector<SchemaDoc> schemas_;
  std::deque<Route> routes_;
};

/// Every group, in documentation order.
MIMREST_TEST_EXPORT const std::vector<const RouteGroup*>& all_groups();

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
