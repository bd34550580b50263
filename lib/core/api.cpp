// The client REST API entry point: routing and the common checks, in the
// order cowboy_rest applies them (see docs/api.md, "Status codes and error
// bodies"):
//
//   no route -> 404 (empty body); a path below the base path with a malformed
//   %-escape -> 400 "Invalid path"
//   method not allowed -> 405 + Allow
//   OPTIONS -> 200 + Allow, no authentication
//   authentication -> 401 + WWW-Authenticate, empty body (429 when throttled)
//   Accept excludes what the route produces -> 406
//   POST/PUT with a non-empty body that is not application/json -> 415
//   body larger than max_body_bytes -> 413 "Request body too large"
//   then the handler, which may answer later.
#include "mimrest/api.hpp"

#include <condition_variable>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "core/api/authentication.hpp"
#include "core/api/call.hpp"
#include "core/api/openapi.hpp"
#include "core/api/query.hpp"
#include "core/api/state.hpp"
#include "core/detail/json_writer.hpp"
#include "core/detail/text.hpp"

namespace mimrest {

namespace {

using detail::Call;
using detail::CallInternals;
using detail::CallPtr;
using detail::CompiledRoute;
using detail::Operation;
using detail::split;
using detail::trim;

// "/api/" -> "/api", "/" -> "": the base path as a prefix to match.
std::string normalize_base(std::string base) {
  while (!base.empty() && base.back() == '/') {
    base.pop_back();
  }
  if (!base.empty() && base.front() != '/') {
    base.insert(base.begin(), '/');
  }
  return base;
}

// A q-value (RFC 7231 5.3.1) in thousandths; nullopt when malformed.
std::optional<int> parse_qvalue(std::string_view text) {
  if (text.empty() || (text[0] != '0' && text[0] != '1')) {
    return std::nullopt;
  }
  int value = (text[0] - '0') * 1000;
  if (text.size() == 1) {
    return value;
  }
  if (text[1] != '.' || text.size() > 5) {
    return std::nullopt;
  }
  int scale = 100;
  for (char c : text.substr(2)) {
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
    value += (c - '0') * scale;
    scale /= 10;
  }
  return value <= 1000 ? std::optional<int>(value) : std::nullopt;
}

// Whether an Accept header admits `produced` ("type/subtype"). The most
// specific matching media range decides, and q=0 excludes. Malformed ranges
// are ignored; an absent or empty header accepts anything.
bool accepts(std::optional<std::string_view> header, std::string_view produced) {
  if (!header || trim(*header).empty()) {
    return true;
  }
  auto slash = produced.find('/');
  std::string_view type = produced.substr(0, slash);
  std::string_view subtype = produced.substr(slash + 1);

  int best_specificity = 0;
  int best_q = 0;
  for (std::string_view range : split(*header, ',')) {
    auto parts = split(range, ';');
    std::string_view media = trim(parts[0]);
    auto media_slash = media.find('/');
    if (media_slash == std::string_view::npos) {
      continue;
    }
    std::string_view range_type = media.substr(0, media_slash);
    std::string_view range_subtype = media.substr(media_slash + 1);
    if (range_type.empty() || range_subtype.empty()) {
      continue;
    }
    int specificity = 0;
    if (range_type == "*" && range_subtype == "*") {
      specificity = 1;
    } else if (iequals(range_type, type) && range_subtype == "*") {
      specificity = 2;
    } else if (iequals(range_type, type) && iequals(range_subtype, subtype)) {
      specificity = 3;
    } else {
      continue;
    }
    std::optional<int> q = 1000;
    for (std::size_t i = 1; i < parts.size(); ++i) {
      std::string_view parameter = trim(parts[i]);
      auto eq = parameter.find('=');
      if (eq != std::string_view::npos && iequals(trim(parameter.substr(0, eq)), "q")) {
        q = parse_qvalue(trim(parameter.substr(eq + 1)));
      }
    }
    if (!q) {
      continue;
    }
    if (specificity > best_specificity || (specificity == best_specificity && *q > best_q)) {
      best_specificity = specificity;
      best_q = *q;
    }
  }
  return best_specificity > 0 && best_q > 0;
}

// Content-Type is application/json, parameters (charset) ignored.
bool is_json_content_type(std::optional<std::string_view> header) {
  if (!header) {
    return false;
  }
  std::string_view media = trim(header->substr(0, header->find(';')));
  return iequals(media, "application/json");
}

ApiConfig prepared(ApiConfig config) {
  if (!config.now_us) {
    config.now_us = system_now_us;
  }
  return config;
}

std::string allowed_methods(const detail::Route& route) {
  std::string methods;
  for (const auto& operation : route.operations) {
    methods += operation.method();
    methods += ", ";
  }
  methods += "OPTIONS";
  return methods;
}

bool group_enabled(const detail::RouteGroup& group, const ApiConfig& config,
                   const Backend& backend) {
  if (group.switchable() && config.handlers &&
      config.handlers->count(std::string(group.name)) == 0) {
    return false;
  }
  return group.available(config, backend);
}

// 5. to 7.: content negotiation, body type and size, then the handler.
void run_handler(const CallPtr& call) {
  const Request& request = call->request();
  const Operation& operation = *CallInternals::operation(*call);
  if (!accepts(request.headers.get("Accept"), CallInternals::route(*call)->route->produces)) {
    call->respond_empty(406);
    return;
  }
  if ((request.method == "POST" || request.method == "PUT") && !request.body.empty() &&
      !is_json_content_type(request.headers.get("Content-Type"))) {
    call->respond_empty(415);
    return;
  }
  if (request.body.size() > call->config().max_body_bytes) {
    call->fail(detail::common_errors::too_large);
    return;
  }
  operation.handler()(call);
}

// A configured page: GET and HEAD, no authentication.
void serve_page(const CallPtr& call, const StaticPage& page) {
  const std::string& method = call->request().method;
  Response response;
  if (method == "GET" || method == "HEAD") {
    response.headers.set("Content-Type", page.content_type);
    response.body = page.body;
  } else {
    response.status = method == "OPTIONS" ? 200 : 405;
    response.headers.set("Allow", "GET, HEAD, OPTIONS");
  }
  call->respond(std::move(response));
}

// 1. to 4.: routing, method, OPTIONS and authentication.
void dispatch(const CallPtr& call) {
  const Api::State& state = CallInternals::state(*call);
  const Request& request = call->request();
  std::string_view path = request.path;
  if (path.substr(0, state.base.size()) != state.base) {
    call->respond_empty(404);
    return;
  }
  path.remove_prefix(state.base.size());
  if (path.empty() || path.front() != '/') {
    call->respond_empty(404);
    return;
  }
  for (const StaticPage& page : state.config.pages) {
    if (path == page.path) {
      serve_page(call, page);
      return;
    }
  }
  auto raw_segments = split(path.substr(1), '/');
  if (raw_segments.size() > 1 && raw_segments.back().empty()) {
    raw_segments.pop_back();  // a trailing slash is tolerated
  }
  std::vector<std::string> segments;
  segments.reserve(raw_segments.size());
  for (auto raw : raw_segments) {
    if (raw.empty()) {
      call->respond_empty(404);
      return;
    }
    auto decoded = detail::percent_decode(raw);
    if (!decoded) {
      call->fail(detail::common_errors::invalid_path);
      return;
    }
    segments.push_back(std::move(*decoded));
  }

  const CompiledRoute* route = nullptr;
  std::vector<std::pair<std::string_view, std::string>> params;
  for (const auto& candidate : state.routes) {
    if (candidate.segments.size() != segments.size()) {
      continue;
    }
    bool matches = true;
    std::vector<std::pair<std::string_view, std::string>> candidate_params;
    for (std::size_t i = 0; i < segments.size() && matches; ++i) {
      std::string_view pattern = candidate.segments[i];
      if (pattern.size() > 2 && pattern.front() == '{' && pattern.back() == '}') {
        candidate_params.emplace_back(pattern.substr(1, pattern.size() - 2), segments[i]);
      } else {
        matches = pattern == segments[i];
      }
    }
    if (matches) {
      route = &candidate;
      params = std::move(candidate_params);
      break;
    }
  }
  if (route == nullptr) {
    call->respond_empty(404);
    return;
  }

  // 2. Method, 3. OPTIONS.
  const Operation* operation = nullptr;
  for (const auto& candidate : route->route->operations) {
    if (candidate.method() == request.method) {
      operation = &candidate;
    }
  }
  CallInternals::set_route(*call, route, operation, std::move(params));
  if (request.method == "OPTIONS" || operation == nullptr) {
    Response response;
    response.status = request.method == "OPTIONS" ? 200 : 405;
    response.headers.set("Allow", route->allowed);
    call->respond(std::move(response));
    return;
  }

  // 4. Authentication, then the rest.
  if (operation->access() != detail::Access::user) {
    run_handler(call);
    return;
  }
  detail::authenticate(call, [call] { run_handler(call); });
}

}  // namespace

Api::State::State(ApiConfig api_config, Backend api_backend)
    : config(prepared(std::move(api_config))),
      backend(api_backend),
      base(normalize_base(config.base_path)),
      throttle(config.auth),
      streams(std::make_shared<detail::StreamCounter>()),
      archive_json(config.archive_json_cache_bytes),
      cursors(config.archive_cursors) {
  for (const detail::RouteGroup* group : detail::all_groups()) {
    if (!group_enabled(*group, config, backend)) {
      continue;
    }
    groups.push_back(group);
    for (const auto& route : group->routes()) {
      routes.push_back(
          CompiledRoute{group, &route, split(route.path.substr(1), '/'), allowed_methods(route)});
    }
  }
  if (config.docs) {
    openapi_json = detail::openapi_document(config, backend, groups);
    docs_html = detail::docs_page(base + "/api-docs/openapi.json");
  }
}

Api::Api(ApiConfig config, Backend backend) {
  if (auto checked = check(config); !checked) {
    throw std::invalid_argument("mimrest::Api: " + checked.error());
  }
  if (backend.passwords == nullptr) {
    throw std::invalid_argument("mimrest::Api: the backend has no password verifier");
  }
  state_ = std::make_shared<State>(std::move(config), backend);
}

Api::~Api() {
  state_->liveness.close();
}

void Api::handle(Request request, Responder respond) const {
  auto call = std::make_shared<Call>(state_, std::move(request), std::move(respond));
  try {
    dispatch(call);
  } catch (...) {
    // Never expected: handlers report failures as values.
    call->fail(Failure::internal);
  }
}

Response Api::handle(const Request& request) const {
  struct Slot {
    std::mutex mutex;
    std::condition_variable ready;
    std::optional<Response> response;
  };
  auto slot = std::make_shared<Slot>();
  auto fill = [slot](Response response) {
    std::lock_guard<std::mutex> lock(slot->mutex);
    slot->response = std::move(response);
    slot->ready.notify_all();
  };
  // Should the core ever drop the responder, the caller still gets an answer.
  auto internal_error = error_response(500, "Internal server error");
  handle(Request(request), Responder(fill, [fill, internal_error] { fill(internal_error); }));
  std::unique_lock<std::mutex> lock(slot->mutex);
  slot->ready.wait(lock, [&] { return slot->response.has_value(); });
  return std::move(*slot->response);
}

Response Api::error_response(int status, std::string_view message) const {
  return detail::error_response(state_->config, status, message);
}

const ApiConfig& Api::config() const noexcept {
  return state_->config;
}

std::vector<std::string_view> Api::active_groups() const {
  std::vector<std::string_view> names;
  for (const auto* group : state_->groups) {
    names.push_back(group->name);
  }
  return names;
}

std::vector<std::string_view> Api::group_names() {
  std::vector<std::string_view> names;
  for (const auto* group : detail::all_groups()) {
    if (group->switchable()) {
      names.push_back(group->name);
    }
  }
  return names;
}

Expected<void, std::string> Api::check(const ApiConfig& config) {
  if (config.handlers) {
    const auto known = group_names();
    for (const auto& name : *config.handlers) {
      bool found = false;
      for (auto candidate : known) {
        found = found || candidate == name;
      }
      if (!found) {
        std::string list;
        for (auto candidate : known) {
          list += list.empty() ? "" : ", ";
          list += candidate;
        }
        return unexpected("unknown handler '" + name + "' (known: " + list + ")");
      }
    }
  }
  if (config.sse.max_unread_bytes == 0) {
    return unexpected(std::string("sse.max_unread_bytes must be positive"));
  }
  if (config.sse.keepalive_interval.count() <= 0) {
    return unexpected(std::string("sse.keepalive_interval must be positive"));
  }
  if (config.tokens.access_ttl.count() <= 0 || config.tokens.refresh_ttl.count() <= 0) {
    return unexpected(std::string("token lifetimes must be positive"));
  }
  if (config.auth.window.count() <= 0) {
    return unexpected(std::string("auth.window must be positive"));
  }
  return {};
}

}  // namespace mimrest
