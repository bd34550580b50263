// Internal: what an Api keeps - configuration, backend, the compiled routes
// and documents, and the shared counters. Held by a shared_ptr so that
// requests in flight may outlive the Api object.
#pragma once

#include <atomic>
#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/api/archive_cursors.hpp"
#include "core/api/archive_json_cache.hpp"
#include "core/api/route_group.hpp"
#include "mimrest/api.hpp"
#include "mimrest/api_config.hpp"
#include "mimrest/backend/backend.hpp"
#include "mimrest/jid.hpp"
#include "mimrest/login_throttle.hpp"

namespace mimrest::detail {

/// Lets the Api's destructor wait until no thread is inside a call into the
/// backend, and refuse new ones afterwards.
class Liveness {
 public:
  /// True when a backend call may start; then leave() must follow.
  bool enter() noexcept {
    active_.fetch_add(1);
    if (closed_.load()) {
      active_.fetch_sub(1);
      return false;
    }
    return true;
  }
  void leave() noexcept { active_.fetch_sub(1); }
  /// Refuses new calls and waits for those under way to return.
  void close() noexcept {
    closed_.store(true);
    while (active_.load() != 0) {
      std::this_thread::yield();
    }
  }

 private:
  std::atomic<int> active_{0};
  std::atomic<bool> closed_{false};
};

/// Open event streams per user (the sse.max_streams_per_user cap).
class StreamCounter {
 public:
  /// Counts one more stream of `user` unless it already has `limit`.
  bool try_open(const Jid& user, std::size_t limit);
  void close(const Jid& user);

 private:
  std::mutex mutex_;
  std::unordered_map<Jid, std::size_t> open_;
};

struct CompiledRoute {
  const RouteGroup* group;
  const Route* route;
  std::vector<std::string_view> segments;  ///< the path split at '/'
  std::string allowed;                     ///< "GET, POST, OPTIONS"
};

}  // namespace mimrest::detail

namespace mimrest {

struct Api::State {
  State(ApiConfig api_config, Backend api_backend);

  const ApiConfig config;
  const Backend backend;
  const std::string base;                         ///< the base path without a trailing slash
  std::vector<const detail::RouteGroup*> groups;  ///< the active ones
  std::vector<detail::CompiledRoute> routes;
  std::string openapi_json;
  std::string docs_html;

  detail::Liveness liveness;
  LoginThrottle throttle;
  std::shared_ptr<detail::StreamCounter> streams;
  detail::ArchiveJsonCache archive_json;
  detail::ArchiveCursors cursors;

  std::int64_t now_us() const { return config.now_us(); }
};

}  // namespace mimrest
