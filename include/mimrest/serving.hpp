// The adapter kit: what every HTTP adapter does the same way around an Api -
// request accounting and drain on stop, the open SSE streams and their
// keepalives, the body limit and header filtering - so that an adapter is
// only transport code.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "mimrest/api.hpp"
#include "mimrest/export.hpp"
#include "mimrest/http.hpp"
#include "mimrest/sse.hpp"

namespace mimrest {

/// Whether a response header belongs to the transport (message framing and
/// connection management) and must not be copied out of a Response:
/// Content-Length, Transfer-Encoding, Connection, Keep-Alive, Upgrade, TE,
/// Trailer.
MIMREST_EXPORT bool is_transport_header(std::string_view name) noexcept;

/// Tracks one server's requests and event streams, and is the adapter's
/// only way to the Api, so that nothing reaches the Api once stop() has
/// returned (the host may then destroy it). Thread-safe.
class MIMREST_EXPORT ServingGate {
 public:
  explicit ServingGate(const Api& api);
  ~ServingGate();
  ServingGate(const ServingGate&) = delete;
  ServingGate& operator=(const ServingGate&) = delete;

  /// Held while a request is being served (from arrival to the last byte of
  /// its answer); stop() waits for every ticket to be released.
  class Ticket {
   public:
    Ticket(Ticket&& other) noexcept;
    Ticket& operator=(Ticket&& other) noexcept;
    ~Ticket();

   private:
    friend class ServingGate;
    explicit Ticket(ServingGate* gate) : gate_(gate) {}
    ServingGate* gate_;
  };

  /// A ticket, or nullopt once stop() has begun: answer stopping().
  std::optional<Ticket> enter();

  /// Api::handle(), unless stop() has finished (then false, and `respond` is
  /// not called: answer stopping()).
  bool handle(Request request, Responder respond);

  /// Whether a body of `length` bytes (a Content-Length, or what has arrived
  /// so far) is over the Api's limit: answer body_too_large() at once and
  /// read no more.
  bool body_too_large(std::uint64_t length) const noexcept { return length > max_body_bytes_; }
  /// 413 "Request body too large", with the Api's common headers.
  Response body_too_large() const;
  /// 503 "Service unavailable": the server is stopping.
  Response stopping_response() const;
  /// Any other answer the transport gives itself (400, 431), with the Api's
  /// common headers and `message` as a JSON string body.
  Response transport_error(int status, std::string_view message) const;

  /// Registers an open event stream, which stop() will close; false (and the
  /// stream closed) when stopping.
  bool add_stream(const std::shared_ptr<SseStream>& stream);

  /// Call every keepalive_interval(): sends a keepalive to every open stream
  /// and forgets closed ones.
  void tick();
  /// Forgets closed streams only: for an adapter whose streams send their
  /// own keepalives (call it now and then, e.g. every keepalive_interval()).
  void forget_closed();
  std::chrono::milliseconds keepalive_interval() const noexcept;

  /// Refuses new requests, closes every open stream, waits up to `drain` for
  /// requests in flight to finish, then closes the way to the Api (waiting
  /// for calls into it that are under way). True when every request
  /// finished within the drain.
  bool stop(std::chrono::milliseconds drain);
  bool stopping() const;

  std::size_t in_flight() const;
  std::size_t open_streams() const;

 private:
  void leave();
  /// The open streams; forgets the closed ones.
  std::vector<std::shared_ptr<SseStream>> open_streams_locked();

  /// Leaves a count taken by handle() or enter(): wakes stop() when it
  /// waits for that count to reach zero.
  void release(std::atomic<std::size_t>& count, const std::atomic<bool>& closing);

  const Api& api_;
  const std::size_t max_body_bytes_;
  std::chrono::milliseconds keepalive_interval_;
  // The per-request counts are atomics, so that requests on different
  // threads do not contend for mutex_: a request counts itself in, then
  // checks the flag; stop() sets the flag, then waits for the count (both
  // sequentially consistent, so one of them sees the other).
  std::atomic<bool> api_closed_{false};
  std::atomic<std::size_t> in_api_{0};
  std::atomic<bool> stopping_{false};
  std::atomic<std::size_t> in_flight_{0};
  /// Guards streams_, and the waits of stop() on idle_.
  mutable std::mutex mutex_;
  std::condition_variable idle_;
  std::uint64_t next_stream_ = 0;
  std::unordered_map<std::uint64_t, std::weak_ptr<SseStream>> streams_;
};

}  // namespace mimrest
