// Handler group names and the configuration defaults.
#include <catch2/catch.hpp>

#include "mimrest/api_config.hpp"

using mimrest::Handler;

TEST_CASE("Handler names round-trip") {
  auto handlers = mimrest::all_handlers();
  CHECK(handlers.size() == 7);
  for (Handler handler : handlers) {
    auto name = mimrest::to_string(handler);
    INFO(name);
    CHECK(mimrest::handler_from_string(name) == handler);
  }
  CHECK(mimrest::to_string(Handler::rooms_messages) == "rooms_messages");
  CHECK(mimrest::to_string(Handler::sse) == "sse");
  CHECK(mimrest::handler_from_string("contacts") == Handler::contacts);
  CHECK_FALSE(mimrest::handler_from_string("Contacts").has_value());
  CHECK_FALSE(mimrest::handler_from_string("").has_value());
  CHECK_FALSE(mimrest::handler_from_string("rooms ").has_value());
}

TEST_CASE("ApiConfig defaults follow MongooseIM") {
  mimrest::ApiConfig config;
  CHECK(config.base_path == "/api");
  CHECK(config.handlers == mimrest::all_handlers());
  CHECK(config.docs);
  CHECK(config.realm == "mongooseim");
  CHECK(config.cors_allowed_origins.empty());
  CHECK(config.sse_timestamp_unit == mimrest::TimestampUnit::microseconds);
  CHECK(config.max_body_bytes > 0);
  CHECK(config.max_json_depth > 0);
  CHECK_FALSE(config.now_us);
}
