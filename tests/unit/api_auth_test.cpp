// Authentication through the Api: failed-login throttling by account and
// client address, and the Server header on every answer.
#include <string>

#include "api_fixture.hpp"

using mimrest::Request;
using mimrest::test::ApiFixture;
using mimrest::test::basic_auth;
using mimrest::test::FixtureOptions;

namespace {

Request from(const ApiFixture& f, std::string_view user, std::string_view password,
             std::string address) {
  Request request = f.request("GET", "/contacts", {}, std::nullopt);
  request.headers.set("Authorization", basic_auth(user, password));
  request.remote_address = std::move(address);
  return request;
}

FixtureOptions throttled(std::size_t max_failures) {
  FixtureOptions options;
  options.api.auth.max_failures = max_failures;
  options.api.auth.window = std::chrono::seconds(60);
  return options;
}

}  // namespace

TEST_CASE("Failures beyond the limit answer 429 with Retry-After, without a password check") {
  ApiFixture f(throttled(3));
  for (int i = 0; i < 3; ++i) {
    CHECK(f.handle(from(f, "alice@localhost", "wrong", "10.0.0.1")).status == 401);
  }
  auto refused = f.handle(from(f, "alice@localhost", "wrong", "10.0.0.1"));
  CHECK(refused.status == 429);
  CHECK(refused.body == "\"Too many failed logins\"");
  CHECK(refused.headers.get("Retry-After") == std::string_view("60"));
  CHECK(refused.headers.get("Content-Type") == std::string_view("application/json"));
  // Not checked at all: the right password is refused too until the window ends.
  CHECK(f.handle(from(f, "alice@localhost", "secret", "10.0.0.1")).status == 429);

  SECTION("other accounts and other addresses are not affected") {
    CHECK(f.handle(from(f, "bob@localhost", "secret", "10.0.0.1")).status == 200);
    CHECK(f.handle(from(f, "alice@localhost", "secret", "10.0.0.2")).status == 200);
  }
  SECTION("the window passes") {
    f.advance_ms(30'000);
    auto later = f.handle(from(f, "alice@localhost", "secret", "10.0.0.1"));
    CHECK(later.status == 429);
    CHECK(later.headers.get("Retry-After") == std::string_view("30"));
    f.advance_ms(30'000);
    CHECK(f.handle(from(f, "alice@localhost", "secret", "10.0.0.1")).status == 200);
  }
}

TEST_CASE("One address failing for many accounts is stopped at ten times the limit") {
  ApiFixture f(throttled(2));
  // Two failures for each of ten accounts (that may not even exist).
  for (int account = 0; account < 10; ++account) {
    const std::string user = "user" + std::to_string(account) + "@localhost";
    CHECK(f.handle(from(f, user, "guess", "10.0.0.9")).status == 401);
    CHECK(f.handle(from(f, user, "guess", "10.0.0.9")).status == 401);
  }
  CHECK(f.handle(from(f, "carol@localhost", "secret", "10.0.0.9")).status == 429);
  CHECK(f.handle(from(f, "carol@localhost", "secret", "10.0.0.10")).status == 200);
}

TEST_CASE("Malformed credentials count against the address") {
  ApiFixture f(throttled(1));
  for (int i = 0; i < 10; ++i) {
    Request garbage = f.request("GET", "/contacts", {}, std::nullopt);
    garbage.headers.set("Authorization", "Basic !!!");
    garbage.remote_address = "10.1.1.1";
    CHECK(f.handle(garbage).status == 401);
  }
  CHECK(f.handle(from(f, "alice@localhost", "secret", "10.1.1.1")).status == 429);
}

TEST_CASE("A success clears the account's count from that address") {
  ApiFixture f(throttled(3));
  for (int round = 0; round < 5; ++round) {
    CHECK(f.handle(from(f, "alice@localhost", "wrong", "10.0.0.3")).status == 401);
    CHECK(f.handle(from(f, "alice@localhost", "wrong", "10.0.0.3")).status == 401);
    CHECK(f.handle(from(f, "alice@localhost", "secret", "10.0.0.3")).status == 200);
  }
}

TEST_CASE("Throttling can be switched off") {
  ApiFixture f(throttled(0));
  for (int i = 0; i < 50; ++i) {
    CHECK(f.handle(from(f, "alice@localhost", "wrong", "10.0.0.4")).status == 401);
  }
  CHECK(f.handle(from(f, "alice@localhost", "secret", "10.0.0.4")).status == 200);
}

TEST_CASE("Every answer carries the Server header") {
  FixtureOptions options;
  options.api.server_name = "chat-frontend";
  ApiFixture f(std::move(options));
  for (const Request& request :
       {f.request("GET", "/contacts"), f.request("GET", "/contacts", {}, std::nullopt),
        f.request("GET", "/nothing"), f.request("PATCH", "/messages"),
        f.request("OPTIONS", "/rooms", {}, std::nullopt), f.request("GET", "/api-docs"),
        f.request("POST", "/messages", "{}")}) {
    INFO(request.method << " " << request.path);
    CHECK(f.handle(request).headers.get("Server") == std::string_view("chat-frontend"));
  }
  CHECK(f.api().error_response(413, "Request body too large").headers.get("Server") ==
        std::string_view("chat-frontend"));
  ApiFixture defaults;
  CHECK(defaults.get("/contacts").headers.get("Server") == std::string_view("mimrest"));
}
