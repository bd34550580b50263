// Shared by the fuzz targets that drive Api::handle: an in-memory backend with
// a few users behind an Api, request helpers, and the properties every
// response must have whatever the request (docs/api.md, "Status codes and
// error bodies", "Authentication", "CORS"), including that it is one of the
// responses the Api's own OpenAPI document lists for the operation.
#pragma once

#include <mimrest/api.hpp>
#include <mimrest/api_config.hpp>
#include <mimrest/basic_auth.hpp>
#include <mimrest/crypto.hpp>
#include <mimrest/http.hpp>
#include <mimrest/jid.hpp>
#include <mimrest/memory/memory_backend.hpp>
#include <mimrest/sse.hpp>

#include <rapidjson/document.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fuzz_support.hpp"

namespace mimrest::fuzz {

inline constexpr std::string_view kPassword = "secret";
/// Where every fuzzed request comes from (failed logins are counted by it).
inline constexpr std::string_view kRemoteAddress = "192.0.2.1";

/// The accounts every fuzzed backend has (all with kPassword).
inline const std::vector<std::string>& known_users() {
  static const std::vector<std::string> users = {"alice@localhost", "bob@localhost",
                                                 "carol@localhost"};
  return users;
}

inline Jid jid(std::string_view text) {
  auto parsed = Jid::parse(text);
  MIMREST_FUZZ_CHECK(parsed.has_value(), std::string(text));
  return std::move(*parsed);
}

inline std::string basic_auth(std::string_view user, std::string_view password = kPassword) {
  std::string pair(user);
  pair += ':';
  pair += password;
  return "Basic " + base64_encode(pair);
}

/// A manual clock, one millisecond further at every reading, so that runs are
/// reproducible.
struct ManualClock {
  std::shared_ptr<std::int64_t> now_us = std::make_shared<std::int64_t>(1'700'000'000'000'000);
  std::function<std::int64_t()> function() const {
    return [now = now_us] { return *now += 1000; };
  }
};

/// An ApiConfig without the documentation routes: building the OpenAPI
/// document is most of the cost of making an Api.
inline ApiConfig without_docs() {
  ApiConfig config;
  config.docs = false;
  return config;
}

/// A fresh in-memory backend with the known users, and the Api on it.
class World {
 public:
  explicit World(ApiConfig config = without_docs()) : memory_(backend_config(clock_)) {
    for (const auto& user : known_users()) {
      MIMREST_FUZZ_CHECK(memory_.add_user(jid(user), kPassword).has_value(), user);
    }
    api_ = make_api(std::move(config));
  }

  const Api& api() const { return *api_; }
  memory::MemoryBackend& memory() { return memory_; }

  /// Another Api over the same backend (for example with every handler on).
  std::unique_ptr<Api> make_api(ApiConfig config) {
    config.now_us = clock_.function();
    const auto checked = Api::check(config);
    MIMREST_FUZZ_CHECK(checked.has_value(), "configuration refused: " + checked.error());
    return std::make_unique<Api>(std::move(config), memory_.backend());
  }

 private:
  static memory::MemoryBackendConfig backend_config(const ManualClock& clock) {
    memory::MemoryBackendConfig config;
    config.password_iterations = 1;  // authentication runs on every request
    config.now_us = clock.function();
    return config;
  }

  ManualClock clock_;
  memory::MemoryBackend memory_;
  std::unique_ptr<Api> api_;
};

/// A request authenticated as `user` (no Authorization when empty), with a
/// JSON Content-Type when it has a body. `path` is below the base path and
/// may carry "?query".
inline Request make_request(std::string method, std::string_view path, std::string body = {},
                            std::string_view user = {}, std::string_view base = "/api") {
  Request request;
  request.method = std::move(method);
  std::string full = std::string(base) + std::string(path);
  const std::size_t question = full.find('?');
  if (question != std::string::npos) {
    request.query = full.substr(question + 1);
    full.resize(question);
  }
  request.path = std::move(full);
  if (!user.empty()) {
    request.headers.add("Authorization", basic_auth(user));
  }
  if (!body.empty()) {
    request.headers.add("Content-Type", "application/json");
  }
  request.body = std::move(body);
  request.remote_address = std::string(kRemoteAddress);
  return request;
}

/// Handles a request and closes the event stream of a GET /sse.
inline Response handle(const Api& api, const Request& request) {
  Response response = api.handle(request);
  if (response.event_stream) {
    response.event_stream->close();
  }
  return response;
}

inline std::string describe(const Request& request, const Response& response) {
  std::string text = request.method + " " + printable(request.path, 200);
  if (!request.query.empty()) {
    text += "?" + printable(request.query, 100);
  }
  text += " body " + printable(request.body, 200) + " -> " + std::to_string(response.status) + " " +
          printable(response.body, 300);
  return text;
}

/// Percent-decodes one path segment; nullopt for a malformed escape.
inline std::optional<std::string> percent_decode(std::string_view text) {
  auto hex = [](char c) {
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
  };
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size() || hex(text[i + 1]) < 0 || hex(text[i + 2]) < 0) {
      return std::nullopt;
    }
    out += static_cast<char>(hex(text[i + 1]) * 16 + hex(text[i + 2]));
    i += 2;
  }
  return out;
}

/// How the API routes a path, worked out independently of it (docs/api.md,
/// "Requests and responses": a malformed %-escape in a path below the base
/// path answers 400, one trailing slash is ignored).
struct RoutedPath {
  enum class Kind { outside, empty_segment, invalid_escape, segments } kind = Kind::outside;
  std::vector<std::string> segments;  ///< percent-decoded, below the base path
};

inline RoutedPath route_path(std::string_view base_path, std::string_view path) {
  std::string base(base_path);
  while (!base.empty() && base.back() == '/') {
    base.pop_back();
  }
  if (!base.empty() && base.front() != '/') {
    base.insert(base.begin(), '/');
  }
  RoutedPath routed;
  if (path.substr(0, base.size()) != base || path.size() <= base.size() ||
      path[base.size()] != '/') {
    return routed;
  }
  path.remove_prefix(base.size() + 1);
  std::vector<std::string_view> raw;
  while (true) {
    const std::size_t slash = path.find('/');
    raw.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) {
      break;
    }
    path.remove_prefix(slash + 1);
  }
  if (raw.size() > 1 && raw.back().empty()) {
    raw.pop_back();
  }
  for (const std::string_view segment : raw) {
    if (segment.empty()) {
      routed.kind = RoutedPath::Kind::empty_segment;
      return routed;
    }
    auto decoded = percent_decode(segment);
    if (!decoded) {
      routed.kind = RoutedPath::Kind::invalid_escape;
      return routed;
    }
    routed.segments.push_back(std::move(*decoded));
  }
  routed.kind = RoutedPath::Kind::segments;
  return routed;
}

/// Whether the request is for the documentation (which needs no
/// authentication).
inline bool is_docs_request(const ApiConfig& config, const Request& request) {
  const RoutedPath routed = route_path(config.base_path, request.path);
  const auto& segments = routed.segments;
  return routed.kind == RoutedPath::Kind::segments &&
         ((segments.size() == 1 && segments[0] == "api-docs") ||
          (segments.size() == 2 && segments[0] == "api-docs" && segments[1] == "openapi.json"));
}

/// The responses the Api's OpenAPI document lists: per path template and
/// method, the statuses and, for error statuses, the messages (fixed texts,
/// and templated ones as a prefix and suffix around anything).
class OpenApiSpec {
 public:
  struct Status {
    std::set<std::string> texts;
    std::vector<std::pair<std::string, std::string>> templates;
    bool matches(std::string_view message) const {
      if (texts.count(std::string(message)) != 0) {
        return true;
      }
      for (const auto& [prefix, suffix] : templates) {
        if (message.size() >= prefix.size() + suffix.size() &&
            message.substr(0, prefix.size()) == prefix &&
            message.substr(message.size() - suffix.size()) == suffix) {
          return true;
        }
      }
      return false;
    }
  };
  using Operation = std::map<int, Status>;
  struct Route {
    std::vector<std::string> segments;            ///< "{name}" for a parameter
    std::map<std::string, Operation> operations;  ///< by upper-case method
  };

  /// The document of an Api with every group on (and tokens as asked),
  /// parsed once per process.
  static const OpenApiSpec& get(bool tokens) {
    static const OpenApiSpec without_tokens(document(false));
    static const OpenApiSpec with_tokens(document(true));
    return tokens ? with_tokens : without_tokens;
  }

  /// The route whose template matches the decoded segments, if any.
  const Route* find(const std::vector<std::string>& segments) const {
    for (const Route& route : routes_) {
      if (route.segments.size() != segments.size()) {
        continue;
      }
      bool matches = true;
      for (std::size_t i = 0; i < segments.size() && matches; ++i) {
        const std::string& pattern = route.segments[i];
        matches = (pattern.size() > 2 && pattern.front() == '{') || pattern == segments[i];
      }
      if (matches) {
        return &route;
      }
    }
    return nullptr;
  }

 private:
  static std::string document(bool tokens) {
    ApiConfig config;
    config.tokens.enabled = tokens;
    World world(config);
    const Response response =
        handle(world.api(), make_request("GET", "/api-docs/openapi.json", {}, {}));
    MIMREST_FUZZ_CHECK(response.status == 200, "no OpenAPI document: " + response.body);
    return response.body;
  }

  // "^prefix.*suffix$" with \-escapes -> (prefix, suffix).
  static std::pair<std::string, std::string> parse_pattern(std::string_view pattern) {
    MIMREST_FUZZ_CHECK(pattern.size() >= 2 && pattern.front() == '^' && pattern.back() == '$',
                       std::string(pattern));
    pattern = pattern.substr(1, pattern.size() - 2);
    std::string parts[2];
    int part = 0;
    for (std::size_t i = 0; i < pattern.size(); ++i) {
      if (pattern[i] == '\\' && i + 1 < pattern.size()) {
        parts[part] += pattern[++i];
      } else if (pattern.substr(i, 2) == ".*" && part == 0) {
        part = 1;
        ++i;
      } else {
        parts[part] += pattern[i];
      }
    }
    return {parts[0], parts[1]};
  }

  static void add_schema(const rapidjson::Value& schema, Status& status) {
    if (!schema.IsObject()) {
      return;
    }
    if (schema.HasMember("enum") && schema["enum"].IsArray()) {
      for (const auto& text : schema["enum"].GetArray()) {
        if (text.IsString()) {
          status.texts.emplace(text.GetString(), text.GetStringLength());
        }
      }
    }
    if (const auto pattern = string_at(schema, "pattern")) {
      status.templates.push_back(parse_pattern(*pattern));
    }
    if (schema.HasMember("anyOf") && schema["anyOf"].IsArray()) {
      for (const auto& alternative : schema["anyOf"].GetArray()) {
        add_schema(alternative, status);
      }
    }
  }

  explicit OpenApiSpec(const std::string& json) {
    rapidjson::Document document;
    const std::string error = parse_json(json, document);
    MIMREST_FUZZ_CHECK(error.empty() && document.IsObject() && document.HasMember("paths") &&
                           document["paths"].IsObject(),
                       "OpenAPI document: " + error);
    for (const auto& path : document["paths"].GetObject()) {
      Route route;
      std::string_view text(path.name.GetString(), path.name.GetStringLength());
      MIMREST_FUZZ_CHECK(!text.empty() && text.front() == '/', std::string(text));
      text.remove_prefix(1);
      while (true) {
        const std::size_t slash = text.find('/');
        route.segments.emplace_back(text.substr(0, slash));
        if (slash == std::string_view::npos) {
          break;
        }
        text.remove_prefix(slash + 1);
      }
      for (const auto& method : path.value.GetObject()) {
        std::string name(method.name.GetString(), method.name.GetStringLength());
        for (char& c : name) {
          c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
        }
        Operation& operation = route.operations[name];
        const rapidjson::Value& responses = method.value["responses"];
        for (const auto& response : responses.GetObject()) {
          const int status = std::stoi(std::string(response.name.GetString()));
          Status& documented = operation[status];
          if (response.value.HasMember("content")) {
            for (const auto& media : response.value["content"].GetObject()) {
              if (media.value.HasMember("schema")) {
                add_schema(media.value["schema"], documented);
              }
            }
          }
        }
      }
      routes_.push_back(std::move(route));
    }
    MIMREST_FUZZ_CHECK(!routes_.empty(), "an OpenAPI document without paths");
  }

  std::vector<Route> routes_;
};

/// Credentials as docs/api.md defines them, decided without the Api.
enum class Credentials { valid, invalid, unsure };

/// `access_token`: the live access token of a known user when tokens are on
/// (empty otherwise).
inline Credentials credentials_of(const Request& request, std::string_view access_token) {
  if (!access_token.empty() && request.query.find(access_token) != std::string::npos) {
    return Credentials::unsure;  // GET /sse?access_token=
  }
  const auto header = request.headers.get("Authorization");
  if (!header) {
    return Credentials::invalid;
  }
  if (!access_token.empty() && header->find(access_token) != std::string_view::npos) {
    return *header == "Bearer " + std::string(access_token) ? Credentials::valid
                                                            : Credentials::unsure;
  }
  const auto credentials = parse_basic_authorization(*header);
  if (!credentials || credentials->password != kPassword) {
    return Credentials::invalid;
  }
  for (const auto& user : known_users()) {
    if (credentials->user == jid(user)) {
      return Credentials::valid;
    }
  }
  return Credentials::invalid;
}

/// What check_response needs to know besides the request and the response.
struct ResponseContext {
  const ApiConfig& config;
  /// The live access token of a known user when tokens are on, else empty.
  std::string_view access_token = {};
  /// A live refresh token (POST /tokens/refresh answers 200 for it).
  std::string_view refresh_token = {};
};

/// The properties of every response.
inline void check_response(const ResponseContext& where, const Request& request,
                           const Response& response) {
  const ApiConfig& config = where.config;
  auto context = [&] { return describe(request, response); };
  const int status = response.status;
  // The statuses docs/api.md has for a backend that never fails (429 needs
  // more failed logins or streams than these targets make).
  static constexpr int kAllowed[] = {200, 201, 204, 400, 401, 403, 404, 405, 406, 413, 415};
  bool allowed = false;
  for (const int candidate : kAllowed) {
    allowed = allowed || candidate == status;
  }
  MIMREST_FUZZ_CHECK(allowed, "status not in the contract: " + context());
  MIMREST_FUZZ_CHECK(
      response.headers.get("Server") == std::optional<std::string_view>(config.server_name),
      "Server header: " + context());

  const auto content_type = response.headers.get("Content-Type");
  const bool json = content_type && *content_type == "application/json";
  MIMREST_FUZZ_CHECK(response.body.empty() || content_type.has_value(),
                     "a body without Content-Type: " + context());
  MIMREST_FUZZ_CHECK(!response.event_stream ||
                         (status == 200 && response.body.empty() &&
                          content_type == std::optional<std::string_view>("text/event-stream")),
                     context());

  switch (status) {
    case 401:
      MIMREST_FUZZ_CHECK(response.body.empty(), context());
      break;
    case 405:
      MIMREST_FUZZ_CHECK(response.body.empty() && response.headers.contains("Allow"), context());
      break;
    case 204:
    case 406:
    case 415:
      MIMREST_FUZZ_CHECK(response.body.empty(), context());
      break;
    default:
      break;
  }
  std::optional<std::string> message;  // of an error body
  if (status >= 400 && !response.body.empty()) {
    // Error bodies are the message as a JSON string.
    rapidjson::Document document;
    const std::string error = parse_json(response.body, document);
    MIMREST_FUZZ_CHECK(
        json && error.empty() && document.IsString() && document.GetStringLength() > 0,
        "error body: " + error + " " + context());
    message = std::string(document.GetString(), document.GetStringLength());
  }
  if (status == 400 || status == 403 || status == 413) {
    MIMREST_FUZZ_CHECK(!response.body.empty(), context());
  }
  if (status / 100 == 2 && json) {
    rapidjson::Document document;
    const std::string error = parse_json(response.body, document);
    MIMREST_FUZZ_CHECK(error.empty(), "2xx body: " + error + " " + context());
    if (status == 201) {
      MIMREST_FUZZ_CHECK(document.IsObject() && string_at(document, "id"), context());
    }
  }

  // Authentication: a request without valid credentials gets nothing but
  // OPTIONS, the documentation and a token refresh; valid credentials are
  // never refused with 401.
  const Credentials credentials = credentials_of(request, where.access_token);
  const RoutedPath routed = route_path(config.base_path, request.path);
  // POST /tokens/refresh takes no Authorization (a refresh token in the body).
  const bool refresh_route = routed.kind == RoutedPath::Kind::segments &&
                             routed.segments == std::vector<std::string>{"tokens", "refresh"};
  if (credentials == Credentials::valid && !refresh_route) {
    MIMREST_FUZZ_CHECK(status != 401, context());
  }
  if (status == 401) {
    const auto challenge = response.headers.get("WWW-Authenticate");
    MIMREST_FUZZ_CHECK(challenge && (*challenge == "Basic realm=\"" + config.realm + "\"" ||
                                     challenge->rfind("Bearer ", 0) == 0),
                       context());
  }
  if (credentials == Credentials::invalid && status / 100 == 2) {
    const bool refresh = refresh_route && !where.refresh_token.empty() &&
                         request.method == "POST" &&
                         request.body.find(where.refresh_token) != std::string::npos;
    MIMREST_FUZZ_CHECK(
        request.method == "OPTIONS" || refresh ||
            (request.method == "GET" && config.docs && is_docs_request(config, request)),
        "served without valid credentials: " + context());
    MIMREST_FUZZ_CHECK(!response.event_stream, context());
  }

  // CORS headers only for an allowed Origin, reflecting it.
  if (const auto allow_origin = response.headers.get("Access-Control-Allow-Origin")) {
    const auto origin = request.headers.get("Origin");
    MIMREST_FUZZ_CHECK(origin && *origin == *allow_origin, context());
    bool origin_allowed = false;
    for (const auto& candidate : config.cors_allowed_origins) {
      origin_allowed = origin_allowed || candidate == "*" || iequals(candidate, *origin);
    }
    MIMREST_FUZZ_CHECK(origin_allowed, context());
    const auto methods = response.headers.get("Access-Control-Allow-Methods");
    MIMREST_FUZZ_CHECK(
        methods && methods->size() >= 7 && methods->substr(methods->size() - 7) == "OPTIONS",
        context());
  }

  // Routing as docs/api.md says, and every answer of an operation one that its
  // OpenAPI document lists (status, and the message of an error).
  switch (routed.kind) {
    case RoutedPath::Kind::outside:
    case RoutedPath::Kind::empty_segment:
      MIMREST_FUZZ_CHECK(status == 404 && response.body.empty(), "routing: " + context());
      return;
    case RoutedPath::Kind::invalid_escape:
      MIMREST_FUZZ_CHECK(status == 400 && message == std::optional<std::string>("Invalid path"),
                         "routing: " + context());
      return;
    case RoutedPath::Kind::segments:
      break;
  }
  // A JID in the path that does not parse is echoed, with every byte that is
  // not valid UTF-8 replaced by U+FFFD.
  if (message && status == 400) {
    const auto& segments = routed.segments;
    std::string_view prefix;
    if (segments.size() == 2 && segments[0] == "contacts") {
      prefix = "Invalid JID: ";
    } else if (segments.size() == 4 && segments[0] == "rooms" && segments[2] == "users") {
      prefix = "Invalid user JID: ";
    }
    if (!prefix.empty() && message->rfind(prefix, 0) == 0) {
      MIMREST_FUZZ_CHECK(*message == std::string(prefix) + utf8_replacing_invalid(segments.back()),
                         "echoed JID: " + context());
    }
  }

  const OpenApiSpec::Route* route = OpenApiSpec::get(config.tokens.enabled).find(routed.segments);
  if (route == nullptr || request.method == "OPTIONS" || (status == 404 && response.body.empty())) {
    return;  // no such operation, the documentation itself, or a group that is off
  }
  const auto operation = route->operations.find(request.method);
  if (operation == route->operations.end()) {
    MIMREST_FUZZ_CHECK(status == 405, "method not allowed: " + context());
    return;
  }
  const auto documented = operation->second.find(status);
  MIMREST_FUZZ_CHECK(documented != operation->second.end(),
                     "status not documented for the operation: " + context());
  if (message) {
    MIMREST_FUZZ_CHECK(documented->second.matches(*message),
                       "message not documented for the operation: " + context());
  }
}

}  // namespace mimrest::fuzz
