// Mounts the client REST API into a cpprestsdk http_listener, over http:// or
// https://, streaming GET /sse responses.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "mimrest/api.hpp"
#include "mimrest/expected.hpp"
#include "mimrest/export.hpp"
#include "mimrest/tls.hpp"

namespace mimrest::cpprest {

struct MIMREST_EXPORT ListenerOptions {
  std::string url = "http://127.0.0.1:8089";  ///< http:// or https://
  std::optional<TlsFiles> tls;                ///< required for https://
};

/// Serves `api` until stop() or destruction. SSE keepalives follow the Api's
/// sse.keepalive_interval. The Api must outlive stop().
///
/// Limits of cpprestsdk that this adapter cannot lift: pipelined requests on
/// one connection are not answered (only the first is), request headers have
/// no size limit and no read or idle timeout, and a request line whose path
/// has a malformed %-escape is answered 400 with an empty body by cpprestsdk
/// before the Api sees it. The Boost.Beast adapter has none of these.
class MIMREST_EXPORT Listener {
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
