// Api::handle: routing, the order of the common checks, authentication,
// content negotiation, limits, CORS and configuration.
#include <string>
#include <vector>

#include "api_fixture.hpp"

using mimrest::Request;
using mimrest::Response;
using mimrest::test::ApiFixture;
using mimrest::test::basic_auth;
using mimrest::test::error_message;
using mimrest::test::FixtureOptions;

namespace {

std::string header(const Response& response, std::string_view name) {
  auto value = response.headers.get(name);
  return value ? std::string(*value) : std::string("<absent>");
}

FixtureOptions with_handlers(std::set<std::string> handlers) {
  FixtureOptions options;
  options.api.handlers = std::move(handlers);
  return options;
}

}  // namespace

TEST_CASE("Unknown paths answer 404 with an empty body") {
  ApiFixture f;
  for (const char* path : {"/nothing", "/messages/a/b", "/rooms/x/y", "/", "/contacts//x"}) {
    INFO(path);
    auto response = f.get(path);
    CHECK(response.status == 404);
    CHECK(response.body.empty());
  }
  // Outside the base path, and the base path itself.
  Request request = f.request("GET", "");
  request.path = "/other/messages";
  CHECK(f.handle(request).status == 404);
  request.path = "/api";
  CHECK(f.handle(request).status == 404);
  request.path = "/apimessages";
  CHECK(f.handle(request).status == 404);
}

TEST_CASE("404 comes before 405: an unknown path with any method is 404") {
  ApiFixture f;
  CHECK(f.del("/nothing").status == 404);
  CHECK(f.handle(f.request("PATCH", "/nothing")).status == 404);
}

TEST_CASE("A method the path does not have answers 405 with Allow, before authentication") {
  ApiFixture f;
  auto response = f.handle(f.request("DELETE", "/messages", {}, std::nullopt));
  CHECK(response.status == 405);
  CHECK(header(response, "Allow") == "GET, POST, OPTIONS");
  CHECK(response.body.empty());

  CHECK(header(f.put("/messages/bob@localhost", "{}"), "Allow") == "GET, OPTIONS");
  CHECK(header(f.post("/contacts/bob@localhost", "{}"), "Allow") == "GET, PUT, DELETE, OPTIONS");
  CHECK(header(f.del("/rooms"), "Allow") == "GET, POST, PUT, OPTIONS");
  CHECK(header(f.get("/rooms/abc/config"), "Allow") == "PUT, OPTIONS");
  CHECK(header(f.get("/rooms/abc/users"), "Allow") == "POST, DELETE, OPTIONS");
  CHECK(header(f.post("/sse", "{}"), "Allow") == "GET, OPTIONS");
  CHECK(f.handle(f.request("HEAD", "/contacts")).status == 405);
}

TEST_CASE("OPTIONS answers 200 with Allow and needs no authentication") {
  ApiFixture f;
  auto response = f.handle(f.request("OPTIONS", "/contacts/bob@localhost", {}, std::nullopt));
  CHECK(response.status == 200);
  CHECK(header(response, "Allow") == "GET, PUT, DELETE, OPTIONS");
  CHECK(response.body.empty());
  // Even with wrong credentials.
  Request request = f.request("OPTIONS", "/rooms");
  request.headers.set("Authorization", basic_auth("alice@localhost", "wrong"));
  CHECK(f.handle(request).status == 200);
}

TEST_CASE("Every authentication failure answers the same 401") {
  ApiFixture f;
  auto reference = f.handle(f.request("GET", "/contacts", {}, std::nullopt));
  CHECK(reference.status == 401);
  CHECK(header(reference, "WWW-Authenticate") == "Basic realm=\"mongooseim\"");
  CHECK(reference.body.empty());

  std::vector<std::string> values = {
      "Bearer abc",
      "Basic",
      "Basic !!!notbase64",
      "Basic " + mimrest::base64_encode("alice@localhost"),  // no colon
      "Basic " + mimrest::base64_encode("@@@:secret"),       // invalid JID
      basic_auth("alice@otherdomain", "secret"),             // unknown domain
      basic_auth("mallory@localhost", "secret"),             // unknown user
      basic_auth("alice@localhost", "wrong"),                // wrong password
      basic_auth("alice@localhost", ""),                     // empty password
      basic_auth("alice@localhost/res", "secret"),           // not a bare JID
  };
  for (const auto& value : values) {
    INFO(value);
    Request request = f.request("GET", "/contacts", {}, std::nullopt);
    request.headers.set("Authorization", value);
    auto response = f.handle(request);
    CHECK(response.status == reference.status);
    CHECK(response.headers.fields() == reference.headers.fields());
    CHECK(response.body == reference.body);
  }
  // The JID is prepared before lookup; the scheme is case-insensitive.
  Request request = f.request("GET", "/contacts", {}, std::nullopt);
  request.headers.set("Authorization", "bAsIc " + mimrest::base64_encode("Alice@LOCALHOST:secret"));
  CHECK(f.handle(request).status == 200);
}

TEST_CASE("The realm is configurable") {
  FixtureOptions options;
  options.api.realm = "chat";
  ApiFixture f(std::move(options));
  auto response = f.get("/contacts", "alice@localhost:x");
  CHECK(response.status == 401);
  CHECK(header(response, "WWW-Authenticate") == "Basic realm=\"chat\"");
}

TEST_CASE("Accept is negotiated after authentication") {
  ApiFixture f;
  auto with_accept = [&](std::string path, std::string accept, bool authenticated = true) {
    Request request = f.request(
        "GET", path, {},
        authenticated ? std::optional<std::string_view>("alice@localhost") : std::nullopt);
    request.headers.set("Accept", accept);
    return f.handle(request).status;
  };
  CHECK(with_accept("/contacts", "text/html", false) == 401);
  CHECK(with_accept("/contacts", "text/html") == 406);
  CHECK(with_accept("/contacts", "application/json") == 200);
  CHECK(with_accept("/contacts", "Application/JSON") == 200);
  CHECK(with_accept("/contacts", "*/*") == 200);
  CHECK(with_accept("/contacts", "application/*") == 200);
  CHECK(with_accept("/contacts", "text/*") == 406);
  CHECK(with_accept("/contacts", "application/json; charset=utf-8") == 200);
  CHECK(with_accept("/contacts", "text/html, application/json;q=0.5") == 200);
  CHECK(with_accept("/contacts", "application/json;q=0") == 406);
  CHECK(with_accept("/contacts", "application/json; q=0.000") == 406);
  CHECK(with_accept("/contacts", "*/*;q=0") == 406);
  CHECK(with_accept("/contacts", "application/json;q=0, */*") == 406);  // most specific wins
  CHECK(with_accept("/contacts", "text/html;q=0, */*;q=0.1") == 200);
  CHECK(with_accept("/contacts", "") == 200);
  CHECK(with_accept("/contacts", "garbage") == 406);
  CHECK(with_accept("/contacts", "application/json;q=2") == 406);  // malformed q: ignored
  CHECK(with_accept("/sse", "application/json") == 406);
  // A request the handler rejects still gets 406 first.
  CHECK(with_accept("/contacts/bob@localhost", "text/plain") == 406);
}

TEST_CASE("POST and PUT bodies must be application/json (415), after 406") {
  ApiFixture f;
  auto send = [&](std::string method, std::optional<std::string> type, std::string body,
                  std::string accept = "*/*") {
    Request request = f.request(method, "/contacts", {});
    request.body = std::move(body);
    if (type) {
      request.headers.set("Content-Type", *type);
    }
    request.headers.set("Accept", accept);
    return f.handle(request);
  };
  CHECK(send("POST", std::string("text/plain"), R"({"jid":"bob@localhost"})").status == 415);
  CHECK(send("POST", std::nullopt, R"({"jid":"bob@localhost"})").status == 415);
  CHECK(send("POST", std::string("application/jsonx"), R"({"jid":"bob@localhost"})").status == 415);
  CHECK(send("POST", std::string("text/plain"), R"({"jid":"b"})", "text/html").status == 406);
  CHECK(send("POST", std::string("Application/JSON; charset=utf-8"), R"({"jid":"bob@localhost"})")
            .status == 204);
  // An empty body is not checked here; the handler rejects it.
  auto empty = send("POST", std::string("text/plain"), "");
  CHECK(empty.status == 400);
  CHECK(error_message(empty) == "Invalid request body");
  // DELETE bodies are not subject to the check.
  Request request = f.request("DELETE", "/contacts");
  request.body = R"({"to_delete":[]})";
  request.headers.set("Content-Type", "text/plain");
  CHECK(f.handle(request).status == 200);
}

TEST_CASE("Bodies beyond max_body_bytes answer 413 after authentication") {
  FixtureOptions options;
  options.api.max_body_bytes = 64;
  ApiFixture f(std::move(options));
  std::string body = R"({"to":"bob@localhost","body":")" + std::string(64, 'x') + "\"}";
  auto response = f.post("/messages", body);
  CHECK(response.status == 413);
  CHECK(error_message(response) == "Request body too large");
  CHECK(f.post("/messages", body, "alice@localhost:wrong").status == 401);
  CHECK(f.post("/messages", R"({"to":"bob@localhost","body":"hi"})").status == 200);
  // Whatever the method: a GET with such a body too (and the fixture checks
  // that the operation documents the answer).
  auto get = f.handle(f.request("GET", "/contacts", body));
  CHECK(get.status == 413);
  CHECK(error_message(get) == "Request body too large");
}

TEST_CASE("JSON nesting beyond max_json_depth is an invalid request body") {
  FixtureOptions options;
  options.api.max_json_depth = 4;
  ApiFixture f(std::move(options));
  // Depth 4: accepted (the extra members are ignored).
  auto ok = f.post("/messages", R"({"to":"bob@localhost","body":"hi","x":[[{"y":1}]]})");
  CHECK(ok.status == 200);
  auto deep = f.post("/messages", R"({"to":"bob@localhost","body":"hi","x":[[[{"y":1}]]]})");
  CHECK(deep.status == 400);
  CHECK(error_message(deep) == "Invalid request body");
  // Brackets inside strings do not count.
  CHECK(f.post("/messages", R"({"to":"bob@localhost","body":"[[[[[[{{{{"})").status == 200);
  // Very deep input is rejected without recursion.
  std::string huge(200000, '[');
  CHECK(f.post("/messages", huge).status == 400);
}

TEST_CASE("Bodies that are not JSON objects are invalid") {
  ApiFixture f;
  for (const char* body : {"kukurydza", "[]", "\"text\"", "42", "null", "{\"to\":", "{} {}",
                           "{\"to\":\"\xff\xfe\"}"}) {
    INFO(body);
    auto response = f.post("/messages", body);
    CHECK(response.status == 400);
    CHECK(error_message(response) == "Invalid request body");
  }
}

TEST_CASE("JSON responses carry Content-Type application/json") {
  ApiFixture f;
  CHECK(header(f.get("/contacts"), "Content-Type") == "application/json");
  CHECK(header(f.get("/messages"), "Content-Type") == "application/json");
  CHECK(header(f.post("/messages", "{}"), "Content-Type") == "application/json");
  CHECK(header(f.get("/rooms"), "Content-Type") == "application/json");
}

TEST_CASE("CORS headers for allowed origins") {
  FixtureOptions options;
  options.api.cors_allowed_origins = {"https://chat.example"};
  ApiFixture f(std::move(options));

  Request request = f.request("GET", "/contacts");
  request.headers.set("Origin", "https://chat.example");
  auto response = f.handle(request);
  CHECK(response.status == 200);
  CHECK(header(response, "Access-Control-Allow-Origin") == "https://chat.example");
  CHECK(header(response, "Access-Control-Allow-Credentials") == "true");
  // PUT is there because MongooseIM routes /contacts/[:jid]: PUT without a JID is
  // 400 "Missing JID", not 405.
  CHECK(header(response, "Access-Control-Allow-Methods") == "GET, POST, PUT, DELETE, OPTIONS");
  CHECK(header(response, "Access-Control-Allow-Headers") == "authorization, content-type");

  // Preflight: no credentials, CORS and Allow.
  Request preflight = f.request("OPTIONS", "/messages", {}, std::nullopt);
  preflight.headers.set("Origin", "https://chat.example");
  preflight.headers.set("Access-Control-Request-Method", "POST");
  auto answer = f.handle(preflight);
  CHECK(answer.status == 200);
  CHECK(header(answer, "Access-Control-Allow-Origin") == "https://chat.example");
  CHECK(header(answer, "Access-Control-Allow-Methods") == "GET, POST, OPTIONS");
  CHECK(header(answer, "Allow") == "GET, POST, OPTIONS");

  // Errors of a matched path carry them too.
  Request unauthenticated = f.request("GET", "/contacts", {}, std::nullopt);
  unauthenticated.headers.set("Origin", "https://chat.example");
  auto denied = f.handle(unauthenticated);
  CHECK(denied.status == 401);
  CHECK(header(denied, "Access-Control-Allow-Origin") == "https://chat.example");

  // Another origin, no Origin, or no route: no CORS headers.
  request.headers.set("Origin", "https://evil.example");
  CHECK_FALSE(f.handle(request).headers.contains("Access-Control-Allow-Origin"));
  CHECK_FALSE(f.get("/contacts").headers.contains("Access-Control-Allow-Origin"));
  Request nowhere = f.request("GET", "/nowhere");
  nowhere.headers.set("Origin", "https://chat.example");
  CHECK_FALSE(f.handle(nowhere).headers.contains("Access-Control-Allow-Origin"));
}

TEST_CASE("CORS: \"*\" reflects any origin, no configuration gives none") {
  FixtureOptions options;
  options.api.cors_allowed_origins = {"*"};
  ApiFixture f(std::move(options));
  Request request = f.request("GET", "/rooms");
  request.headers.set("Origin", "http://anything.test:8080");
  auto response = f.handle(request);
  CHECK(header(response, "Access-Control-Allow-Origin") == "http://anything.test:8080");
  CHECK(header(response, "Access-Control-Allow-Methods") == "GET, POST, PUT, OPTIONS");

  ApiFixture plain;
  Request other = plain.request("GET", "/rooms");
  other.headers.set("Origin", "http://anything.test:8080");
  CHECK_FALSE(plain.handle(other).headers.contains("Access-Control-Allow-Origin"));
}

TEST_CASE("A disabled handler group's paths answer 404") {
  ApiFixture f(with_handlers({"contacts"}));
  CHECK(f.get("/contacts").status == 200);
  CHECK(f.get("/messages").status == 404);
  CHECK(f.handle(f.request("OPTIONS", "/messages")).status == 404);
  CHECK(f.get("/sse").status == 404);
  CHECK(f.get("/rooms").status == 404);

  ApiFixture rooms_only(with_handlers({"rooms"}));
  CHECK(rooms_only.get("/rooms").status == 200);
  CHECK(rooms_only.put("/rooms/abc/config", "{}").status == 404);
  CHECK(rooms_only.get("/rooms/abc/messages").status == 404);
  CHECK(rooms_only.del("/rooms/abc/users/bob@localhost").status == 404);
}

TEST_CASE("The base path is configurable") {
  for (const char* base : {"/v1/chat", "/v1/chat/"}) {
    FixtureOptions options;
    options.api.base_path = base;
    ApiFixture f(std::move(options));
    Request request = f.request("GET", "");
    request.path = "/v1/chat/contacts";
    CHECK(f.handle(request).status == 200);
    request.path = "/api/contacts";
    CHECK(f.handle(request).status == 404);
  }
  FixtureOptions root;
  root.api.base_path = "/";
  ApiFixture f(std::move(root));
  Request request = f.request("GET", "");
  request.path = "/contacts";
  CHECK(f.handle(request).status == 200);
}

TEST_CASE("A trailing slash is tolerated") {
  ApiFixture f;
  CHECK(f.get("/contacts/").status == 200);
  CHECK(f.get("/messages/bob@localhost/").status == 200);
}

TEST_CASE("Path segments are percent-decoded") {
  ApiFixture f;
  REQUIRE(f.post("/contacts", R"({"jid":"bob@localhost"})").status == 204);
  CHECK(f.put("/contacts/bob%40localhost", R"({"action":"invite"})").status == 204);
  CHECK(f.get("/%63ontacts").status == 200);
  auto bad = f.get("/messages/bob%4");
  CHECK(bad.status == 400);
  CHECK(error_message(bad) == "Invalid path");
  CHECK(f.get("/messages/%zzbob").status == 400);
  // A decoded NUL or slash is just data, and not a valid JID here.
  auto nul = f.get("/messages/bob%00@localhost");
  CHECK(nul.status == 400);
  CHECK(error_message(nul) == "Invalid interlocutor JID");
}

TEST_CASE("Routes without paging ignore the query string") {
  ApiFixture f;
  CHECK(f.get("/contacts?foo=bar").status == 200);
  CHECK(f.get("/rooms?x").status == 200);
}

TEST_CASE("Config is kept, with a clock filled in") {
  mimrest::memory::MemoryBackend memory;
  mimrest::ApiConfig config;
  config.base_path = "/x";
  mimrest::Api api(config, memory.backend());
  CHECK(api.config().base_path == "/x");
  REQUIRE(api.config().now_us);
  CHECK(api.config().now_us() > 1'600'000'000'000'000);
}

TEST_CASE("Hostile requests never reach the 500 fallback") {
  ApiFixture f;
  std::vector<std::string> paths = {"/messages/%",
                                    "/messages/%%",
                                    "/contacts/%FF%FE",
                                    "/rooms/%00/users/%00",
                                    "/messages/" + std::string(5000, 'a'),
                                    "/rooms/@/messages",
                                    "/contacts/a@b@c"};
  std::vector<std::string> bodies = {"",
                                     "{",
                                     "[[[[[[[[",
                                     "{\"jid\":{}}",
                                     "{\"to\":1,\"body\":2}",
                                     "{\"to_delete\":[1]}",
                                     "{\"action\":[]}",
                                     std::string(1000, '{')};
  std::vector<std::string> methods = {"GET", "POST", "PUT", "DELETE", "OPTIONS", "get", ""};
  for (const auto& method : methods) {
    for (const auto& path : paths) {
      for (const auto& body : bodies) {
        auto response = f.handle(f.request(method, path, body));
        INFO(method << " " << path << " " << body);
        CHECK(response.status != 500);
      }
    }
  }
  for (const char* query : {"limit=%", "limit=&before=", "&&&", "=", "limit=1=2", "before=-",
                            "limit=99999999999999999999999", "before=-99999999999999999999"}) {
    INFO(query);
    CHECK(f.get(std::string("/messages?") + query).status != 500);
    CHECK(f.get(std::string("/rooms/abc/messages?") + query).status != 500);
  }
}
