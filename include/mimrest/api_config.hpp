// Configuration of the client REST API. Every limit and protection has a
// default (see docs/api.md, "Beyond MongooseIM"); features that change what a
// MongooseIM client sees (tokens, resumable event ids) are off by default.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "mimrest/export.hpp"

namespace mimrest {

/// The unit of "timestamp" in SSE events (MongooseIM sends microseconds).
enum class TimestampUnit { milliseconds, microseconds };

struct MIMREST_EXPORT SseConfig {
  TimestampUnit timestamp_unit = TimestampUnit::microseconds;
  /// A comment line is written to an idle stream this often, so that a
  /// vanished client is noticed (the adapter's timer drives it).
  std::chrono::milliseconds keepalive_interval{15000};
  /// A client that leaves more than this many bytes unread has its stream
  /// ended and the bytes released (checked at every write).
  std::size_t max_unread_bytes = 4 << 20;
  /// Open streams per user; one more GET /sse answers 429.
  std::size_t max_streams_per_user = 10;
  /// Resumable streams: opaque increasing event ids and Last-Event-ID replay
  /// (needs Backend::events).
  bool resume = false;
  /// At most this many missed events are replayed; beyond, `event: reset`.
  std::size_t max_replay = 1000;
};

struct MIMREST_EXPORT AuthConfig {
  /// Failed logins for one account from one client address within `window`
  /// beyond which further attempts answer 429 without a password check; ten
  /// times this for one address over all accounts. 0 turns throttling off.
  std::size_t max_failures = 10;
  std::chrono::seconds window{60};
  /// Bound on the (account, address) and address counters kept; the oldest
  /// are forgotten first.
  std::size_t max_tracked = 100000;
};

struct MIMREST_EXPORT TokenConfig {
  /// Bearer tokens: POST /tokens, POST /tokens/refresh, DELETE /tokens and
  /// `Authorization: Bearer` (needs Backend::tokens).
  bool enabled = false;
  std::chrono::seconds access_ttl{900};
  std::chrono::seconds refresh_ttl{1209600};
};

/// A fixed document served under the base path without authentication (GET
/// and HEAD), for example a browser page that uses the API.
struct MIMREST_EXPORT StaticPage {
  std::string path;  ///< below the base path, e.g. "/demo"
  std::string content_type;
  std::string body;
};

struct MIMREST_EXPORT ApiConfig {
  std::string base_path = "/api";
  /// The route groups that are on, by name (see Api::group_names()); nullopt:
  /// every group. A group whose backend capability is missing is off anyway.
  std::optional<std::set<std::string>> handlers;
  bool docs = true;
  std::string realm = "mongooseim";
  /// The Server header of every response.
  std::string server_name = "mimrest";
  /// The message of a 503 when the backend is out of service for now
  /// (Failure::unavailable): a gateway names what it cannot reach.
  std::string unavailable_message = "Service unavailable";
  /// Origins that get CORS headers; "*" reflects any origin; empty: no CORS.
  std::vector<std::string> cors_allowed_origins;
  /// Largest request body accepted (413 beyond).
  std::size_t max_body_bytes = 1 << 20;
  /// Deepest JSON nesting accepted in a request body (400 beyond).
  std::size_t max_json_depth = 32;
  /// Memory for the JSON of archived messages already converted (clients
  /// read the same recent history again and again, and converting a stanza
  /// costs an XML parse); least recently used rows go first. 0: no cache.
  std::size_t archive_json_cache_bytes = 8 << 20;
  /// Ends of served archive pages remembered, so that a client paging on by
  /// a message's timestamp continues right after that message instead of
  /// skipping the others of its millisecond (or second, on an archive that
  /// stores whole seconds); least recently used first out. 0: none.
  std::size_t archive_cursors = 10000;
  SseConfig sse;
  AuthConfig auth;
  TokenConfig tokens;
  /// Served before any route (a page's path must not be one of the API's).
  std::vector<StaticPage> pages;
  /// Current time in microseconds since the epoch; the system clock when
  /// empty. Replaceable for tests.
  std::function<std::int64_t()> now_us;
};

/// Microseconds since the epoch by the system clock.
MIMREST_EXPORT std::int64_t system_now_us();

}  // namespace mimrest
