// The client REST API entry point: routing and the common checks, in the
// order cowboy_rest applies them (see API.md "Status codes and error bodies"):
//
//   no route -> 404 (empty body); a path below the base path with a malformed
//   %-escape -> 400 "Invalid path"
//   method not allowed -> 405 + Allow
//   OPTIONS -> 200 + Allow, no authentication
//   authentication -> 401 + WWW-Authenticate, empty body
//   Accept excludes what the route produces -> 406
//   POST/PUT with a non-empty body that is not application/json -> 415
//   body larger than max_body_bytes -> 413 "Request body too large"
//   then the handler.
//
// Query strings are checked by the handlers that take them (the message
// lists, as in MongooseIM); other routes ignore them.
#include "mimrest/api.hpp"

#include <chrono>
#include <exception>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/api/handler_context.hpp"
#include "core/api/openapi.hpp"
#include "core/api/query.hpp"
#include "core/api/routes.hpp"
#include "mimrest/basic_auth.hpp"

namespace mimrest {

namespace {

using detail::Route;

constexpr std::string_view kDocsSegment = "api-docs";
constexpr std::string_view kOpenApiSegment = "openapi.json";

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
    text.remove_prefix(1);
  }
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) {
    text.remove_suffix(1);
  }
  return text;
}

// Splits on `separator`, keeping empty parts.
std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  while (true) {
    auto at = text.find(separator);
    parts.push_back(text.substr(0, at));
    if (at == std::string_view::npos) {
      return parts;
    }
    text.remove_prefix(at + 1);
  }
}

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

std::int64_t system_now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

ApiConfig prepared(ApiConfig config) {
  if (!config.now_us) {
    config.now_us = system_now_us;
  }
  return config;
}

Response status_only(int status) {
  Response response;
  response.status = status;
  return response;
}

}  // namespace

struct Api::Impl {
  Impl(ApiConfig api_config, Backend api_backend)
      : config(prepared(std::move(api_config))),
        backend(api_backend),
        authenticator(backend.passwords),
        base(normalize_base(config.base_path)),
        routes(detail::enabled_routes(config)) {
    for (const auto& route : routes) {
      route_patterns.push_back(split(route.path.substr(1), '/'));
    }
    if (config.docs) {
      openapi_json = detail::openapi_document(config, routes);
      docs_html = detail::docs_page(base + "/api-docs/openapi.json");
    }
  }

  Response handle(const Request& request) const;
  Response handle_docs(const Request& request, bool openapi) const;
  void add_cors(const Request& request, std::string_view methods, Response& response) const;

  ApiConfig config;
  Backend backend;
  BasicAuthenticator authenticator;
  std::string base;
  std::vector<Route> routes;
  /// The segments of each route's path, split once (views into `routes`).
  std::vector<std::vector<std::string_view>> route_patterns;
  std::string openapi_json;
  std::string docs_html;
};

void Api::Impl::add_cors(const Request& request, std::string_view methods,
                         Response& response) const {
  auto origin = request.headers.get("Origin");
  if (!origin) {
    return;
  }
  bool allowed = false;
  for (const auto& candidate : config.cors_allowed_origins) {
    if (candidate == "*" || iequals(candidate, *origin)) {
      allowed = true;
      break;
    }
  }
  if (!allowed) {
    return;
  }
  response.headers.set("Access-Control-Allow-Origin", std::string(*origin));
  response.headers.set("Access-Control-Allow-Credentials", "true");
  response.headers.set("Access-Control-Allow-Methods", std::string(methods));
  response.headers.set("Access-Control-Allow-Headers", "authorization, content-type");
  // The answer depends on the Origin: caches must keep them apart.
  response.headers.set("Vary", "Origin");
}

Response Api::Impl::handle_docs(const Request& request, bool openapi) const {
  constexpr std::string_view kMethods = "GET, OPTIONS";
  Response response;
  if (request.method == "OPTIONS") {
    response.headers.set("Allow", std::string(kMethods));
  } else if (request.method != "GET") {
    response.status = 405;
    response.headers.set("Allow", std::string(kMethods));
  } else if (!accepts(request.headers.get("Accept"), openapi ? "application/json" : "text/html")) {
    response.status = 406;
  } else if (openapi) {
    response = detail::json_response(200, openapi_json);
  } else {
    response.headers.set("Content-Type", "text/html; charset=utf-8");
    response.body = docs_html;
  }
  add_cors(request, kMethods, response);
  return response;
}

Response Api::Impl::handle(const Request& request) const {
  // 1. Routing.
  std::string_view path = request.path;
  if (path.substr(0, base.size()) != base) {
    return status_only(404);
  }
  path.remove_prefix(base.size());
  if (path.empty() || path.front() != '/') {
    return status_only(404);
  }
  auto raw_segments = split(path.substr(1), '/');
  if (raw_segments.size() > 1 && raw_segments.back().empty()) {
    raw_segments.pop_back();  // a trailing slash is tolerated
  }
  std::vector<std::string> segments;
  segments.reserve(raw_segments.size());
  for (auto raw : raw_segments) {
    if (raw.empty()) {
      return status_only(404);
    }
    auto decoded = detail::percent_decode(raw);
    if (!decoded) {
      return detail::error_response(400, "Invalid path");
    }
    segments.push_back(std::move(*decoded));
  }

  if (config.docs && !segments.empty() && segments[0] == kDocsSegment) {
    if (segments.size() == 1) {
      return handle_docs(request, false);
    }
    if (segments.size() == 2 && segments[1] == kOpenApiSegment) {
      return handle_docs(request, true);
    }
  }

  const Route* route = nullptr;
  std::vector<std::string> params;
  for (std::size_t index = 0; index < routes.size(); ++index) {
    const Route& candidate = routes[index];
    const auto& pattern = route_patterns[index];
    if (pattern.size() != segments.size()) {
      continue;
    }
    bool matches = true;
    std::vector<std::string> candidate_params;
    for (std::size_t i = 0; i < pattern.size() && matches; ++i) {
      if (!pattern[i].empty() && pattern[i].front() == '{') {
        candidate_params.push_back(segments[i]);
      } else {
        matches = pattern[i] == segments[i];
      }
    }
    if (matches) {
      route = &candidate;
      params = std::move(candidate_params);
      break;
    }
  }
  if (route == nullptr) {
    return status_only(404);
  }

  std::string methods = detail::allowed_methods(*route);
  auto finish = [&](Response response) {
    add_cors(request, methods, response);
    return response;
  };

  // 2. Method, 3. OPTIONS.
  const detail::Operation* operation = nullptr;
  for (const auto& candidate : route->operations) {
    if (candidate.method == request.method) {
      operation = &candidate;
    }
  }
  if (request.method == "OPTIONS" || operation == nullptr) {
    Response response = status_only(request.method == "OPTIONS" ? 200 : 405);
    response.headers.set("Allow", methods);
    return finish(std::move(response));
  }

  // 4. Authentication: every failure looks the same.
  auto user = authenticator.authenticate(request.headers.get("Authorization"));
  if (!user) {
    Response response = status_only(401);
    response.headers.set("WWW-Authenticate", "Basic realm=\"" + config.realm + "\"");
    return finish(std::move(response));
  }

  // 5. Content negotiation.
  if (!accepts(request.headers.get("Accept"), route->produces)) {
    return finish(status_only(406));
  }
  // 6. Request body type.
  if ((request.method == "POST" || request.method == "PUT") && !request.body.empty() &&
      !is_json_content_type(request.headers.get("Content-Type"))) {
    return finish(status_only(415));
  }
  // Size limit: before anything parses the body.
  if (request.body.size() > config.max_body_bytes) {
    return finish(detail::error_response(413, "Request body too large"));
  }

  // 7. The handler.
  detail::HandlerContext context{request, *user, config, backend, std::move(params)};
  return finish(operation->handler(context));
}

Api::Api(ApiConfig config, Backend backend)
    : impl_(std::make_unique<Impl>(std::move(config), backend)) {}

Api::~Api() = default;

Response Api::handle(const Request& request) const {
  try {
    return impl_->handle(request);
  } catch (const std::exception&) {
    // Never expected: handlers report failures as values.
    return detail::error_response(500, "Internal server error");
  } catch (...) {
    return detail::error_response(500, "Internal server error");
  }
}

const ApiConfig& Api::config() const noexcept {
  return impl_->config;
}

}  // namespace mimrest
