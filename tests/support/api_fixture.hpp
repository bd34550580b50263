// Shared test fixture for the client REST API: an in-memory backend with the
// users alice, bob and carol (all @localhost, password "secret"), an Api wired
// to it, a manual clock, and helpers to build requests and read JSON bodies.
//
// Typical use:
//   mimrest::test::ApiFixture f;
//   auto response = f.post("/messages", R"({"to":"bob@localhost","body":"hi"})");
//   auto json = mimrest::test::parse_json(response.body);
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <catch2/catch.hpp>

#include "mimrest/api.hpp"
#include "mimrest/api_config.hpp"
#include "mimrest/crypto.hpp"
#include "mimrest/http.hpp"
#include "mimrest/jid.hpp"
#include "mimrest/memory/memory_backend.hpp"
#include "test_jid.hpp"

namespace mimrest::test {

inline constexpr std::string_view kPassword = "secret";
/// 2023-11-14T22:13:20Z in microseconds: the fixture clock's start.
inline constexpr std::int64_t kStartUs = 1'700'000'000'000'000;

/// "Basic <base64(user:password)>".
inline std::string basic_auth(std::string_view user, std::string_view password = kPassword) {
  std::string pair(user);
  pair += ':';
  pair += password;
  return "Basic " + base64_encode(pair);
}

/// Parses a body that must be JSON.
inline rapidjson::Document parse_json(const std::string& body) {
  rapidjson::Document document;
  document.Parse(body.c_str(), body.size());
  INFO("body: " << body);
  REQUIRE_FALSE(document.HasParseError());
  return document;
}

/// Compact JSON text of a value, for comparisons in assertions.
inline std::string to_json(const rapidjson::Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

/// Settings for the fixture; defaults suit most tests.
struct FixtureOptions {
  ApiConfig api;
  memory::MemoryBackendConfig backend;

  FixtureOptions() {
    // Cheap password hashing: tests authenticate on every request.
    backend.password_iterations = 1;
  }
};

class ApiFixture {
 public:
  explicit ApiFixture(FixtureOptions options = {})
      : memory_(with_clock(std::move(options.backend))),
        api_(with_clock(std::move(options.api)), memory_.backend()),
        alice(jid("alice@localhost")),
        bob(jid("bob@localhost")),
        carol(jid("carol@localhost")) {
    REQUIRE(memory_.add_user(alice, kPassword).has_value());
    REQUIRE(memory_.add_user(bob, kPassword).has_value());
    REQUIRE(memory_.add_user(carol, kPassword).has_value());
  }

  ApiFixture(const ApiFixture&) = delete;
  ApiFixture& operator=(const ApiFixture&) = delete;

  memory::MemoryBackend& memory() { return memory_; }
  const Api& api() const { return api_; }
  const ApiConfig& config() const { return api_.config(); }

  /// The manual clock shared by the backend and the Api (microseconds).
  std::int64_t now_us() const { return clock_us_.load(); }
  void set_now_us(std::int64_t us) { clock_us_.store(us); }
  void advance_ms(std::int64_t ms) { clock_us_.fetch_add(ms * 1000); }

  /// A request to `path` below the base path ("/messages"), authenticated as
  /// `user` (no Authorization header when nullopt). A non-empty body gets
  /// Content-Type: application/json. `path` may carry "?query".
  Request request(std::string method, std::string_view path, std::string body = {},
                  std::optional<std::string_view> user = "alice@localhost") const {
    Request request;
    request.method = std::move(method);
    std::string full = api_.config().base_path + std::string(path);
    auto question = full.find('?');
    if (question != std::string::npos) {
      request.query = full.substr(question + 1);
      full.resize(question);
    }
    request.path = std::move(full);
    if (user) {
      request.headers.add("Authorization", basic_auth(*user));
    }
    if (!body.empty()) {
      request.headers.add("Content-Type", "application/json");
    }
    request.body = std::move(body);
    return request;
  }

  Response handle(const Request& request) const { return api_.handle(request); }

  Response get(std::string_view path, std::string_view user = "alice@localhost") const {
    return handle(request("GET", path, {}, user));
  }
  Response post(std::string_view path, std::string body,
                std::string_view user = "alice@localhost") const {
    return handle(request("POST", path, std::move(body), user));
  }
  Response put(std::string_view path, std::string body,
               std::string_view user = "alice@localhost") const {
    return handle(request("PUT", path, std::move(body), user));
  }
  Response del(std::string_view path, std::string body = {},
               std::string_view user = "alice@localhost") const {
    return handle(request("DELETE", path, std::move(body), user));
  }

 private:
  memory::MemoryBackendConfig with_clock(memory::MemoryBackendConfig config) {
    config.now_us = [this] { return clock_us_.load(); };
    return config;
  }
  ApiConfig with_clock(ApiConfig config) {
    config.now_us = [this] { return clock_us_.load(); };
    return config;
  }

  std::atomic<std::int64_t> clock_us_{kStartUs};
  memory::MemoryBackend memory_;
  Api api_;

 public:
  const Jid alice;
  const Jid bob;
  const Jid carol;
};

/// The JSON string body of an error response, decoded ("Missing JID").
inline std::string error_message(const Response& response) {
  auto document = parse_json(response.body);
  REQUIRE(document.IsString());
  return std::string(document.GetString(), document.GetStringLength());
}

/// Checks an error response: its status and its decoded message.
inline void require_error(const Response& response, int status, std::string_view message) {
  INFO("body: " << response.body);
  CHECK(response.status == status);
  CHECK(error_message(response) == message);
}

}  // namespace mimrest::test
