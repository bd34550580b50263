// What the listener and every connection of one running Server share: the
// I/O context, the adapter kit's gate, the TLS context, the connection count
// and the list of open connections that stop() closes.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>

#include "mimrest/api.hpp"
#include "mimrest/beast/server.hpp"
#include "mimrest/serving.hpp"

namespace mimrest::beast::detail {

namespace net = boost::asio;

/// A connection as stop() sees it.
class Closable {
 public:
  virtual ~Closable() = default;
  /// Closes the connection on its own strand, from any thread.
  virtual void shut() = 0;
};

/// Shared by the listener, the connections and what the core holds of them
/// (responders, SSE wakes), so that it outlives whichever of them ends last.
/// Declared first, the I/O context is destroyed last.
struct ServerState {
  ServerState(const Api& api, ServerOptions server_options)
      : options(std::move(server_options)),
        gate(api),
        max_body_bytes(api.config().max_body_bytes) {}

  net::io_context io;
  const ServerOptions options;
  ServingGate gate;
  const std::size_t max_body_bytes;
  std::optional<net::ssl::context> tls;
  /// Connections accepted and not yet closed (max_connections).
  std::atomic<std::size_t> connections{0};

  /// net::post(), unless stop() has finished with the I/O context: then the
  /// handler is dropped (with what it holds) instead of waiting in a queue
  /// that nothing runs any more. For posts from threads other than the I/O
  /// threads (the core's completions and SSE wakes).
  template <class Executor, class Handler>
  void post(const Executor& executor, Handler&& handler) {
    std::lock_guard<std::mutex> lock(post_mutex_);
    if (posting_) {
      net::post(executor, std::forward<Handler>(handler));
    }
  }
  void end_posting() {
    std::lock_guard<std::mutex> lock(post_mutex_);
    posting_ = false;
  }

  std::uint64_t add_connection(std::weak_ptr<Closable> connection) {
    std::lock_guard<std::mutex> lock(registry_mutex_);
    const std::uint64_t id = next_id_++;
    open_.emplace(id, std::move(connection));
    return id;
  }
  void remove_connection(std::uint64_t id) {
    std::lock_guard<std::mutex> lock(registry_mutex_);
    open_.erase(id);
  }
  std::vector<std::shared_ptr<Closable>> open_connections() {
    std::vector<std::shared_ptr<Closable>> out;
    std::lock_guard<std::mutex> lock(registry_mutex_);
    out.reserve(open_.size());
    for (const auto& [id, weak] : open_) {
      if (auto connection = weak.lock()) {
        out.push_back(std::move(connection));
      }
    }
    return out;
  }

 private:
  std::mutex post_mutex_;
  bool posting_ = true;
  std::mutex registry_mutex_;
  std::uint64_t next_id_ = 0;
  std::unordered_map<std::uint64_t, std::weak_ptr<Closable>> open_;
};

}  // namespace mimrest::beast::detail
