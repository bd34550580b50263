// Configuration of the client REST API handlers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "mimrest/sse.hpp"

namespace mimrest {

/// The handler groups that can be switched on one by one.
enum class Handler { sse, messages, contacts, rooms, rooms_config, rooms_users, rooms_messages };

std::string_view to_string(Handler handler) noexcept;
std::optional<Handler> handler_from_string(std::string_view name) noexcept;
/// Every handler, the default.
std::set<Handler> all_handlers();

struct ApiConfig {
  std::string base_path = "/api";
  std::set<Handler> handlers = all_handlers();
  bool docs = true;
  std::string realm = "mongooseim";
  /// Origins that get CORS headers; "*" reflects any origin; empty: no CORS.
  std::vector<std::string> cors_allowed_origins;
  /// SSE "timestamp" unit; MongooseIM sends microseconds.
  TimestampUnit sse_timestamp_unit = TimestampUnit::microseconds;
  /// Largest request body accepted (413 beyond).
  std::size_t max_body_bytes = 1 << 20;
  /// Deepest JSON nesting accepted in a request body (400 beyond).
  std::size_t max_json_depth = 32;
  /// Current time in microseconds since the epoch; replaceable for tests.
  std::function<std::int64_t()> now_us;
};

}  // namespace mimrest
