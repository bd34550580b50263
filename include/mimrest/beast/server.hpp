// Serves an Api over HTTP/1.1 and HTTPS with Boost.Beast: the reference
// server's default transport. Enforces the transport limits of docs/api.md
// ("Beyond MongooseIM" -> "Transport"): header size (431), body size (413 at
// once from Content-Length or while reading chunks), header and idle
// timeouts, a connection cap with no busy loop (also when the process runs
// out of descriptors), pipelined requests answered in order, and the SSE
// rules of the adapter kit (ServingGate, SseStream).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "mimrest/api.hpp"
#include "mimrest/expected.hpp"
#include "mimrest/export.hpp"
#include "mimrest/tls.hpp"

namespace mimrest::beast {

struct MIMREST_EXPORT ServerOptions {
  std::string url = "http://127.0.0.1:8089";  ///< http:// or https://; port 0 picks one
  std::optional<TlsFiles> tls;                ///< required for https://
  /// Request line and headers together; beyond: 431 and the connection closes.
  std::size_t max_header_bytes = 16384;
  /// A request's headers must arrive within this; else the connection closes.
  std::chrono::seconds header_timeout{10};
  /// A keep-alive connection with no request for this long is closed.
  std::chrono::seconds idle_timeout{60};
  /// Open connections; further ones are closed at once, unless an older one
  /// still waits for its headers: that one is closed instead. Out of
  /// descriptors, an idle one may be closed too (docs/api.md, "Transport").
  std::size_t max_connections = 10000;
  /// I/O threads; 0: one per hardware thread.
  unsigned threads = 0;
  /// How long stop() lets requests in flight finish.
  std::chrono::milliseconds drain{10000};
  /// Where the transport reports what it cannot tell a client (an exception
  /// thrown on an I/O thread), one line per call, from any thread; empty:
  /// standard error.
  std::function<void(std::string_view)> log;
};

/// Serves `api` from start() until stop() or destruction. The Api must
/// outlive stop().
///
/// Each connection reads ahead up to 16 pipelined requests and answers them
/// in order, however their answers complete. After GET /sse the connection
/// only streams: requests sent behind it on the same connection are not
/// answered. A connection that ends after an answer (Connection: close, an
/// error answer) reads and drops what the client still sends for up to two
/// seconds before closing, so that the answer is not lost to a reset.
class MIMREST_EXPORT Server {
 public:
  Server(const Api& api, ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// Binds and starts accepting; an error text when it cannot (bad URL, port
  /// taken, bad certificate).
  Expected<void, std::string> start();
  /// Stops accepting, ends event streams, lets requests in flight finish
  /// within the drain, closes every connection and joins the threads.
  /// Idempotent. Call it from a thread of the host, never from one of the
  /// server's I/O threads.
  void stop();
  /// The URL it listens on, with the actual port.
  std::string url() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mimrest::beast
