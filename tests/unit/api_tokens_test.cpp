// Bearer tokens through the Api: issuing, using, refreshing with rotation
// and replay detection, revoking, expiry, and the 401 challenge.
#include <string>

#include "api_fixture.hpp"
#include "mimrest/sse.hpp"

using mimrest::Request;
using mimrest::Response;
using mimrest::test::ApiFixture;
using mimrest::test::FixtureOptions;
using mimrest::test::parse_json;

namespace {

FixtureOptions with_tokens() {
  FixtureOptions options;
  options.api.tokens.enabled = true;
  options.api.tokens.access_ttl = std::chrono::seconds(900);
  options.api.tokens.refresh_ttl = std::chrono::seconds(3600);
  return options;
}

struct Pair {
  std::string access;
  std::string refresh;
};

Pair read_pair(const Response& response) {
  INFO(response.body);
  REQUIRE(response.status == 200);
  CHECK(response.headers.get("Cache-Control") == std::string_view("no-store"));
  auto json = parse_json(response.body);
  CHECK(std::string(json["token_type"].GetString()) == "Bearer");
  CHECK(json["expires_in"].GetInt64() == 900);
  return Pair{json["access_token"].GetString(), json["refresh_token"].GetString()};
}

Pair login(const ApiFixture& f, std::string_view user = "alice@localhost") {
  return read_pair(f.post("/tokens", "", user));
}

Request bearer(const ApiFixture& f, std::string method, std::string_view path,
               const std::string& token, std::string body = {}) {
  Request request = f.request(std::move(method), path, std::move(body), std::nullopt);
  request.headers.set("Authorization", "Bearer " + token);
  return request;
}

Response refresh(const ApiFixture& f, const std::string& token) {
  return f.handle(
      f.request("POST", "/tokens/refresh", "{\"refresh_token\":\"" + token + "\"}", std::nullopt));
}

void require_invalid_token(const Response& response) {
  INFO(response.body);
  CHECK(response.status == 401);
  CHECK(response.body.empty());
  bool bearer_challenge = false;
  for (const auto& [name, value] : response.headers) {
    bearer_challenge =
        bearer_challenge || (mimrest::iequals(name, "WWW-Authenticate") &&
                             value == "Bearer realm=\"mongooseim\", error=\"invalid_token\"");
  }
  CHECK(bearer_challenge);
}

}  // namespace

TEST_CASE("Tokens are off by default") {
  ApiFixture f;
  CHECK(f.post("/tokens", "").status == 404);
  Request request = bearer(f, "GET", "/contacts", std::string(43, 'A'));
  auto response = f.handle(request);
  CHECK(response.status == 401);
  CHECK(response.headers.get("WWW-Authenticate") == std::string_view("Basic realm=\"mongooseim\""));
}

TEST_CASE("An access token works on every route like Basic") {
  ApiFixture f(with_tokens());
  Pair pair = login(f);
  CHECK(pair.access != pair.refresh);
  CHECK(pair.access.size() == 43);

  CHECK(f.handle(bearer(f, "GET", "/contacts", pair.access)).status == 200);
  auto sent = f.handle(
      bearer(f, "POST", "/messages", pair.access, R"({"to":"bob@localhost","body":"via token"})"));
  CHECK(sent.status == 200);
  auto history = f.get("/messages", "bob@localhost");
  CHECK(history.body.find("\"from\":\"alice@localhost\"") != std::string::npos);
  // Case-insensitive scheme.
  Request lower = f.request("GET", "/rooms", {}, std::nullopt);
  lower.headers.set("Authorization", "bearer " + pair.access);
  CHECK(f.handle(lower).status == 200);

  SECTION("GET /sse also takes it in the query; no other route does") {
    Request sse = f.request("GET", "/sse?access_token=" + pair.access, {}, std::nullopt);
    auto stream = f.handle(sse);
    REQUIRE(stream.status == 200);
    REQUIRE(stream.event_stream);
    CHECK(f.store().session_count(f.alice) == 1);
    stream.event_stream->close();
    Request contacts = f.request("GET", "/contacts?access_token=" + pair.access, {}, std::nullopt);
    CHECK(f.handle(contacts).status == 401);
  }
  SECTION("the refresh token is not an access token") {
    require_invalid_token(f.handle(bearer(f, "GET", "/contacts", pair.refresh)));
  }
}

TEST_CASE("Bad tokens answer 401 with the Bearer challenge") {
  ApiFixture f(with_tokens());
  for (const std::string& token : {std::string(), std::string("short"), std::string(43, 'A'),
                                   std::string(43, '%'), std::string(44, 'A')}) {
    INFO(token);
    Request request = f.request("GET", "/contacts", {}, std::nullopt);
    request.headers.set("Authorization", "Bearer " + token);
    require_invalid_token(f.handle(request));
  }
  // Without credentials both schemes are offered, the same for every failure.
  auto none = f.get("/contacts", "alice@localhost:wrong");
  require_invalid_token(none);
  CHECK(none.headers.get("WWW-Authenticate") == std::string_view("Basic realm=\"mongooseim\""));
}

TEST_CASE("Access tokens expire") {
  ApiFixture f(with_tokens());
  Pair pair = login(f);
  f.advance_ms(899'000);
  CHECK(f.handle(bearer(f, "GET", "/contacts", pair.access)).status == 200);
  f.advance_ms(1'000);
  require_invalid_token(f.handle(bearer(f, "GET", "/contacts", pair.access)));
  // The refresh token lives longer.
  Pair next = read_pair(refresh(f, pair.refresh));
  CHECK(f.handle(bearer(f, "GET", "/contacts", next.access)).status == 200);
  f.advance_ms(3'600'000);
  require_invalid_token(refresh(f, next.refresh));
}

TEST_CASE("Refreshing rotates the pair; a spent refresh token revokes its family") {
  ApiFixture f(with_tokens());
  Pair first = login(f);
  Pair other_login = login(f);  // another family of the same user
  Pair second = read_pair(refresh(f, first.refresh));
  CHECK(second.access != first.access);
  CHECK(second.refresh != first.refresh);
  CHECK(f.handle(bearer(f, "GET", "/contacts", second.access)).status == 200);
  // The old access token stays valid until it expires.
  CHECK(f.handle(bearer(f, "GET", "/contacts", first.access)).status == 200);

  // Replay: the spent refresh token is presented again.
  require_invalid_token(refresh(f, first.refresh));
  for (const std::string& token : {first.access, second.access}) {
    require_invalid_token(f.handle(bearer(f, "GET", "/contacts", token)));
  }
  require_invalid_token(refresh(f, second.refresh));
  // The other family is not touched.
  CHECK(f.handle(bearer(f, "GET", "/contacts", other_login.access)).status == 200);
}

TEST_CASE("Refresh bodies are checked") {
  ApiFixture f(with_tokens());
  auto post = [&](std::string body) {
    return f.handle(f.request("POST", "/tokens/refresh", std::move(body), std::nullopt));
  };
  auto missing = post(R"({"token":"x"})");
  CHECK(missing.status == 400);
  CHECK(missing.body == "\"Missing refresh token\"");
  CHECK(post("not json").status == 400);
  CHECK(post(R"({"refresh_token": 5})").status == 400);
  require_invalid_token(post(R"({"refresh_token":"nope"})"));
  require_invalid_token(post("{\"refresh_token\":\"" + std::string(43, 'B') + "\"}"));
  // An access token is not a refresh token.
  Pair pair = login(f);
  require_invalid_token(post("{\"refresh_token\":\"" + pair.access + "\"}"));
  CHECK(f.handle(bearer(f, "GET", "/contacts", pair.access)).status == 200);
}

TEST_CASE("DELETE /tokens revokes every token of the user") {
  ApiFixture f(with_tokens());
  Pair alice = login(f);
  Pair alice_again = login(f);
  Pair bob = login(f, "bob@localhost");
  CHECK(f.handle(bearer(f, "DELETE", "/tokens", alice.access)).status == 204);
  for (const std::string& token : {alice.access, alice_again.access}) {
    require_invalid_token(f.handle(bearer(f, "GET", "/contacts", token)));
  }
  require_invalid_token(refresh(f, alice_again.refresh));
  CHECK(f.handle(bearer(f, "GET", "/contacts", bob.access)).status == 200);
}

// not-gateway: the gateway's tokens live as long as the user's XMPP session,
// which a password changed on the XMPP server does not end (lib/xmpp/README.md).
TEST_CASE("A password change revokes every token of the user", "[not-gateway]") {
  ApiFixture f(with_tokens());
  Pair bob = login(f, "bob@localhost");
  CHECK(f.handle(bearer(f, "GET", "/contacts", bob.access)).status == 200);
  REQUIRE(f.store().set_password(f.bob, "new secret").has_value());
  require_invalid_token(f.handle(bearer(f, "GET", "/contacts", bob.access)));
  require_invalid_token(refresh(f, bob.refresh));
}

TEST_CASE("Bad tokens count towards the failed-login throttle") {
  FixtureOptions options = with_tokens();
  options.api.auth.max_failures = 1;  // 10 per address
  ApiFixture f(std::move(options));
  Pair pair = login(f);
  for (int i = 0; i < 10; ++i) {
    Request request = bearer(f, "GET", "/contacts", std::string(43, 'C'));
    request.remote_address = "10.2.2.2";
    CHECK(f.handle(request).status == 401);
  }
  Request good = bearer(f, "GET", "/contacts", pair.access);
  good.remote_address = "10.2.2.2";
  CHECK(f.handle(good).status == 429);
  good.remote_address = "10.2.2.3";
  CHECK(f.handle(good).status == 200);
}
