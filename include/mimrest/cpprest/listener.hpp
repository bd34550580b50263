// Mounts the client REST API into a cpprestsdk http_listener, over http:// or
// https://, streaming GET /sse responses.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "mimrest/api.hpp"
#include "mimrest/expected.hpp"

namespace mimrest::cpprest {

struct TlsFiles {
  std::string certificate;  ///< PEM file
  std::string private_key;  ///< PEM file
};

struct ListenerOptions {
  std::string url = "http://127.0.0.1:8089";  ///< http:// or https://
  std::optional<TlsFiles> tls;                ///< required for https://
  /// Interval of SSE keepalive comments; a vanished client is noticed within
  /// about this long and its session closed.
  std::chrono::milliseconds sse_keepalive{15000};
};

/// Checks that both PEM files can be read, load, and belong together, the way
/// Listener::start() checks them; an error text naming the file otherwise.
/// Lets a host reject a bad configuration before it starts anything.
Expected<void, std::string> check_tls_files(const TlsFiles& files);

/// Serves `api` until stop() or destruction. The Api must outlive the listener.
class Listener {
 public:
  Listener(const Api& api, ListenerOptions options);
  ~Listener();
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  /// Starts accepting connections; an error text when it cannot (port taken,
  /// bad certificate, ...).
  Expected<void, std::string> start();
  /// Ends open SSE streams, lets in-flight requests finish, stops listening.
  void stop();
  /// The URL it listens on.
  std::string url() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mimrest::cpprest
