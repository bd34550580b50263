// libFuzzer target: the whole request path, Api::handle over the in-memory
// backend: routing, %-decoding, authentication, content negotiation, CORS,
// limits and every handler.
//
// Input: a request written like HTTP/1.1 (LF or CRLF line ends):
//   METHOD SP path[?query] LF
//   Name: value LF          (any number of header fields, passed as they are)
//   LF
//   body                    (the rest, as it is)
// and a few pseudo-headers the decoder consumes:
//   Auth: user[:password]   adds "Authorization: Basic base64(user:password)";
//                           "@localhost" is added to a user without '@', the
//                           password defaults to the right one ("secret")
//   Repeat: N               the body is repeated N times (at most 2 MiB), so
//                           that small inputs reach the 1 MiB body limit
//   Token: access|refresh   adds "Authorization: Bearer <alice's token>"
//   Config: N               bits 0-6 switch the route groups of
//                           Api::group_names() off (in that order: sse,
//                           messages, contacts, rooms, rooms_config,
//                           rooms_users, rooms_messages), bit 7 docs on (off
//                           by default: building the OpenAPI document is
//                           most of the cost of an Api), bit 8 CORS for any
//                           origin, bit 9 base path "/" (else "/api"), bit 10
//                           a 1 KiB body limit, bit 11 realm "x", bit 12
//                           Bearer tokens on
// In the body, the query and header values, "@ACCESS@" and "@REFRESH@" stand
// for alice's access and refresh tokens.
//
// Before the request, the backend has alice, bob and carol (@localhost,
// password "secret"); alice owns room "team" with bob in it and one message,
// alice and bob are mutual contacts with one chat message exchanged, carol
// has invited alice, and alice has a token pair. CORS allows
// "https://app.example".
//
// Properties (api_support.hpp, check_response): the status is one that
// docs/api.md allows (no 500), every response has the Server header, 401/405/
// 406/415 and 204 have empty bodies, 401 has the realm's WWW-Authenticate and
// 405 an Allow header, error bodies are non-empty JSON strings, 2xx JSON
// bodies are valid JSON (201 {"id"}), a body always has a Content-Type, only
// OPTIONS, the documentation and a token refresh are served without valid
// credentials and valid credentials never get 401, an event stream only
// comes with 200 text/event-stream, CORS headers only for an allowed origin
// and reflecting it; paths route as docs/api.md says (404 outside the base path
// or with an empty segment, 400 "Invalid path" for a malformed escape), and
// every answer of an operation is one its OpenAPI document lists (status,
// and the error message).
#include <mimrest/api.hpp>
#include <mimrest/api_config.hpp>
#include <mimrest/http.hpp>

#include <rapidjson/document.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <string>
#include <string_view>

#include "api_support.hpp"
#include "fuzz_support.hpp"

namespace {

using mimrest::fuzz::make_request;

constexpr std::size_t kMaxRepeatedBody = 2 << 20;

std::string_view next_line(std::string_view& text) {
  const std::size_t lf = text.find('\n');
  std::string_view line = text.substr(0, lf);
  text.remove_prefix(lf == std::string_view::npos ? text.size() : lf + 1);
  if (!line.empty() && line.back() == '\r') {
    line.remove_suffix(1);
  }
  return line;
}

unsigned long number_of(std::string_view text) {
  unsigned long value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') {
      break;
    }
    value = value * 10 + static_cast<unsigned long>(c - '0');
    if (value > 100'000'000) {
      break;
    }
  }
  return value;
}

struct Tokens {
  std::string access;
  std::string refresh;
};

struct Decoded {
  mimrest::Request request;
  unsigned long config_bits = 0;
};

std::string substitute(std::string_view text, const Tokens& tokens) {
  std::string out(text);
  for (const auto& [placeholder, value] :
       {std::pair<std::string_view, const std::string&>{"@ACCESS@", tokens.access},
        std::pair<std::string_view, const std::string&>{"@REFRESH@", tokens.refresh}}) {
    for (std::size_t at = out.find(placeholder); at != std::string::npos;
         at = out.find(placeholder, at + value.size())) {
      out.replace(at, placeholder.size(), value);
    }
  }
  return out;
}

Decoded decode(std::string_view text, const Tokens& tokens) {
  Decoded decoded;
  mimrest::Request& request = decoded.request;
  const std::string_view request_line = next_line(text);
  const std::size_t space = request_line.find(' ');
  request.method = std::string(request_line.substr(0, space));
  const std::string_view target =
      space == std::string_view::npos ? std::string_view{} : request_line.substr(space + 1);
  const std::size_t question = target.find('?');
  request.path = std::string(target.substr(0, question));
  if (question != std::string_view::npos) {
    request.query = substitute(target.substr(question + 1), tokens);
  }
  request.remote_address = std::string(mimrest::fuzz::kRemoteAddress);

  unsigned long repeat = 1;
  while (!text.empty()) {
    const std::string_view line = next_line(text);
    if (line.empty()) {
      break;
    }
    const std::size_t colon = line.find(':');
    const std::string_view name = line.substr(0, colon);
    std::string_view value =
        colon == std::string_view::npos ? std::string_view{} : line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') {
      value.remove_prefix(1);
    }
    if (name == "Auth") {
      const std::size_t at = value.find(':');
      std::string user(value.substr(0, at));
      if (user.find('@') == std::string::npos) {
        user += "@localhost";
      }
      const std::string_view password =
          at == std::string_view::npos ? mimrest::fuzz::kPassword : value.substr(at + 1);
      request.headers.add("Authorization", mimrest::fuzz::basic_auth(user, password));
    } else if (name == "Token") {
      request.headers.add("Authorization",
                          "Bearer " + (value == "refresh" ? tokens.refresh : tokens.access));
    } else if (name == "Repeat") {
      repeat = number_of(value);
    } else if (name == "Config") {
      decoded.config_bits = number_of(value);
    } else {
      request.headers.add(std::string(name), substitute(value, tokens));
    }
  }
  if (repeat == 1 || text.empty()) {
    request.body = substitute(text, tokens);
  } else {
    const std::size_t total = std::min<std::size_t>(text.size() * repeat, kMaxRepeatedBody);
    request.body.reserve(total);
    while (request.body.size() < total) {
      request.body.append(text.substr(0, total - request.body.size()));
    }
  }
  return decoded;
}

mimrest::ApiConfig config_of(unsigned long bits) {
  mimrest::ApiConfig config;
  const auto names = mimrest::Api::group_names();
  config.handlers.emplace();
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i >= 7 || ((bits >> i) & 1) == 0) {
      config.handlers->emplace(names[i]);
    }
  }
  config.docs = ((bits >> 7) & 1) != 0;
  config.cors_allowed_origins = {"https://app.example"};
  if ((bits >> 8) & 1) {
    config.cors_allowed_origins.push_back("*");
  }
  config.base_path = ((bits >> 9) & 1) ? "/" : "/api";
  if ((bits >> 10) & 1) {
    config.max_body_bytes = 1024;
  }
  if ((bits >> 11) & 1) {
    config.realm = "x";
  }
  config.tokens.enabled = ((bits >> 12) & 1) != 0;
  return config;
}

// The state every request meets, made through an Api with every handler on.
Tokens populate(mimrest::fuzz::World& world) {
  mimrest::ApiConfig config = mimrest::fuzz::without_docs();
  config.tokens.enabled = true;
  const auto api = world.make_api(config);
  auto expect = [&](int status, mimrest::Request request) {
    mimrest::Response response = mimrest::fuzz::handle(*api, request);
    MIMREST_FUZZ_CHECK(response.status == status,
                       "setup: " + mimrest::fuzz::describe(request, response));
    return response;
  };
  expect(201, make_request("PUT", "/rooms/team", R"({"name":"Team","subject":"Work"})",
                           "alice@localhost"));
  expect(204, make_request("POST", "/rooms/team/users", R"({"user":"bob@localhost"})",
                           "alice@localhost"));
  expect(200, make_request("POST", "/rooms/team/messages",
                           R"({"body":"Hello team","markable":true})", "alice@localhost"));
  expect(204, make_request("POST", "/contacts", R"({"jid":"bob@localhost"})", "alice@localhost"));
  expect(204, make_request("PUT", "/contacts/bob%40localhost", R"({"action":"invite"})",
                           "alice@localhost"));
  expect(204, make_request("PUT", "/contacts/alice%40localhost", R"({"action":"accept"})",
                           "bob@localhost"));
  expect(200, make_request("POST", "/messages", R"({"to":"bob@localhost","body":"Hi Bob"})",
                           "alice@localhost"));
  expect(204, make_request("POST", "/contacts", R"({"jid":"alice@localhost"})", "carol@localhost"));
  expect(204, make_request("PUT", "/contacts/alice%40localhost", R"({"action":"invite"})",
                           "carol@localhost"));
  const mimrest::Response pair =
      expect(200, make_request("POST", "/tokens", {}, "alice@localhost"));
  rapidjson::Document document;
  MIMREST_FUZZ_CHECK(mimrest::fuzz::parse_json(pair.body, document).empty(), pair.body);
  const auto access = mimrest::fuzz::string_at(document, "access_token");
  const auto refresh = mimrest::fuzz::string_at(document, "refresh_token");
  MIMREST_FUZZ_CHECK(access && refresh, pair.body);
  return Tokens{std::string(*access), std::string(*refresh)};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  // The configuration first (it decides the Api), then the tokens the
  // request may use, then the request.
  const unsigned long bits = decode(text, Tokens{}).config_bits;
  mimrest::fuzz::World world(config_of(bits));
  const Tokens tokens = populate(world);
  const Decoded decoded = decode(text, tokens);
  const mimrest::Response response = mimrest::fuzz::handle(world.api(), decoded.request);
  const bool tokens_on = world.api().config().tokens.enabled;
  const mimrest::fuzz::ResponseContext context{world.api().config(),
                                               tokens_on ? tokens.access : std::string_view{},
                                               tokens_on ? tokens.refresh : std::string_view{}};
  mimrest::fuzz::check_response(context, decoded.request, response);
  // MIMREST_FUZZ_VERBOSE=1 shows each request and its answer (for writing seeds).
  static const bool verbose = std::getenv("MIMREST_FUZZ_VERBOSE") != nullptr;
  if (verbose) {
    std::printf("  %s\n", mimrest::fuzz::describe(decoded.request, response).c_str());
  }
  return 0;
}
