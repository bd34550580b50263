// What the listener and every session of one running Server share: the I/O
// context, the adapter kit's gate, the TLS context, the open connections and
// the log.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <utility>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>

#include "beast/connections.hpp"
#include "mimrest/api.hpp"
#include "mimrest/beast/server.hpp"
#include "mimrest/serving.hpp"

namespace mimrest::beast::detail {

namespace net = boost::asio;

/// The first read of a request: most requests fit, and an idle connection
/// (or an event stream, which only watches for the client leaving) keeps no
/// more than this.
constexpr std::size_t first_read_bytes = 512;
/// Later reads of a request (large headers, bodies).
constexpr std::size_t read_bytes = 16384;
/// A buffer grown beyond this by an earlier request is given back when the
/// connection waits for its next one.
constexpr std::size_t kept_buffer_bytes = 4096;
/// After the last answer of a connection that ends, what the client still
/// sends is read and dropped for this long (or this many bytes), so that
/// closing does not reset the connection before the client has read the
/// answer.
constexpr auto linger_time = std::chrono::seconds(2);
constexpr std::size_t linger_bytes = 256 * 1024;

/// Shared by the listener, the sessions and what the core holds of them
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
  ConnectionList connections;

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

  /// One line to the log sink of the options (standard error by default).
  void log(std::string_view line) const;

 private:
  std::mutex post_mutex_;
  bool posting_ = true;
};

}  // namespace mimrest::beast::detail
