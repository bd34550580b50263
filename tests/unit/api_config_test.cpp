// Route group names, the configuration defaults and checks, and which groups
// an Api turns on.
#include <catch2/catch.hpp>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

#include "mimrest/api.hpp"
#include "mimrest/api_config.hpp"
#include "mimrest/memory/memory_backend.hpp"

using mimrest::Api;
using mimrest::ApiConfig;

namespace {

std::vector<std::string> names(const std::vector<std::string_view>& views) {
  return std::vector<std::string>(views.begin(), views.end());
}

}  // namespace

TEST_CASE("The configuration names are the route groups' own") {
  CHECK(names(Api::group_names()) == std::vector<std::string>{"sse", "messages", "contacts",
                                                              "rooms", "rooms_config",
                                                              "rooms_users", "rooms_messages"});
}

TEST_CASE("ApiConfig defaults follow MongooseIM and docs/api.md") {
  ApiConfig config;
  CHECK(config.base_path == "/api");
  CHECK_FALSE(config.handlers.has_value());
  CHECK(config.docs);
  CHECK(config.realm == "mongooseim");
  CHECK(config.server_name == "mimrest");
  CHECK(config.cors_allowed_origins.empty());
  CHECK(config.sse.timestamp_unit == mimrest::TimestampUnit::microseconds);
  CHECK(config.sse.max_unread_bytes == 4u << 20);
  CHECK(config.sse.max_streams_per_user == 10);
  CHECK_FALSE(config.sse.resume);
  CHECK(config.sse.max_replay == 1000);
  CHECK(config.auth.max_failures == 10);
  CHECK(config.auth.window == std::chrono::seconds(60));
  CHECK_FALSE(config.tokens.enabled);
  CHECK(config.tokens.access_ttl == std::chrono::seconds(900));
  CHECK(config.tokens.refresh_ttl == std::chrono::seconds(1209600));
  CHECK(config.max_body_bytes == 1u << 20);
  CHECK(config.max_json_depth > 0);
  CHECK_FALSE(config.now_us);
  CHECK(Api::check(config));
}

TEST_CASE("Api::check names what is wrong") {
  ApiConfig config;
  config.handlers = std::set<std::string>{"sse", "presence"};
  auto checked = Api::check(config);
  REQUIRE_FALSE(checked);
  CHECK(checked.error().find("presence") != std::string::npos);
  CHECK(checked.error().find("rooms_messages") != std::string::npos);  // lists the known ones

  ApiConfig no_window;
  no_window.auth.window = std::chrono::seconds(0);
  CHECK_FALSE(Api::check(no_window));
  ApiConfig no_cap;
  no_cap.sse.max_unread_bytes = 0;
  CHECK_FALSE(Api::check(no_cap));
  ApiConfig no_ttl;
  no_ttl.tokens.access_ttl = std::chrono::seconds(0);
  CHECK_FALSE(Api::check(no_ttl));
}

TEST_CASE("An Api refuses a bad configuration and a backend without passwords") {
  mimrest::memory::MemoryBackend memory;
  ApiConfig bad;
  bad.handlers = std::set<std::string>{"nope"};
  CHECK_THROWS_AS(Api(bad, memory.backend()), std::invalid_argument);
  mimrest::Backend no_passwords = memory.backend();
  no_passwords.passwords = nullptr;
  CHECK_THROWS_AS(Api(ApiConfig{}, no_passwords), std::invalid_argument);
}

TEST_CASE("Groups are on when enabled and backed by the backend") {
  mimrest::memory::MemoryBackend memory;
  {
    Api api(ApiConfig{}, memory.backend());
    CHECK(names(api.active_groups()) ==
          std::vector<std::string>{"docs", "sse", "messages", "contacts", "rooms", "rooms_config",
                                   "rooms_users", "rooms_messages"});
  }
  {
    ApiConfig config;
    config.handlers = std::set<std::string>{"messages", "rooms"};
    config.docs = false;
    config.tokens.enabled = true;
    Api api(config, memory.backend());
    CHECK(names(api.active_groups()) == std::vector<std::string>{"messages", "rooms", "tokens"});
  }
  {
    // A host without rooms, live events or contacts passes no implementation.
    mimrest::Backend backend = memory.backend();
    backend.muc_light = nullptr;
    backend.sessions = nullptr;
    backend.roster = nullptr;
    backend.tokens = nullptr;
    ApiConfig config;
    config.tokens.enabled = true;
    Api api(config, backend);
    CHECK(names(api.active_groups()) == std::vector<std::string>{"docs", "messages"});
  }
}
