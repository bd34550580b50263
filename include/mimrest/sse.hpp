// A server-sent-events stream of one GET /sse connection: receives the stanzas
// the backend routes to the user's session and turns them into SSE bytes that
// the transport pulls when it is ready to write.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mimrest/api_config.hpp"
#include "mimrest/backend/event_log.hpp"
#include "mimrest/backend/sessions.hpp"
#include "mimrest/export.hpp"

namespace mimrest {

/// Formats one SSE event: "id: ID\nevent: NAME\ndata: DATA\n\n" (DATA has no
/// newlines: it is compact JSON).
MIMREST_EXPORT std::string format_sse_event(std::string_view id, std::string_view event,
                                            std::string_view data);

/// The stream is the StanzaSink of the user's session: the backend delivers
/// to it from any thread. Chat messages become "message" events, groupchat
/// messages "room.message" events, everything else is dropped. A stanza
/// delivered to many streams is converted to JSON once for all of them.
///
/// Transport side (what an adapter does):
///   stream->start({wake, unread_bytes});  // once the response headers are out
///   on wake (from any thread: post it to your loop), write stream->take()
///   if it is not empty; when closed() the response ends.
///   call keepalive() every ApiConfig::sse.keepalive_interval (a failed
///   write tells you the client is gone) and close() when the client leaves
///   or the server stops.
/// Bytes not yet taken are buffered here; when they plus the transport's own
/// unread bytes exceed the cap, the stream closes at that write and releases
/// them. close() ends the backend session (the user goes offline), is
/// idempotent, and wakes the transport once more so that it ends the
/// response.
class MIMREST_EXPORT SseStream final : public StanzaSink {
 public:
  struct Options {
    TimestampUnit timestamp_unit = TimestampUnit::microseconds;
    /// Current time in microseconds since the epoch (system clock if empty).
    std::function<std::int64_t()> now_us;
    std::size_t max_unread_bytes = 4 << 20;
    /// Event ids are resume tokens made from the stanzas' sequences
    /// (sse_event_id()) instead of 1, 2, 3 per connection.
    bool resumable = false;
    /// Called once when the stream closes, with no lock held (the core's
    /// bookkeeping of streams per user).
    std::function<void()> on_close;
  };

  struct Transport {
    /// Bytes are ready to take(), or the stream closed. Called with no stream
    /// lock held, possibly from a backend thread: must not block.
    std::function<void()> wake;
    /// Optional: bytes the transport took but the client has not read yet.
    std::function<std::size_t()> unread_bytes;
  };

  explicit SseStream(Options options);
  ~SseStream() override;
  SseStream(const SseStream&) = delete;
  SseStream& operator=(const SseStream&) = delete;

  /// Keeps the backend session alive as long as the stream is open (core).
  void hold_session(std::unique_ptr<Session> session);

  void deliver(const RoutedStanzaPtr& stanza) override;

  /// Resuming (core): from now on live deliveries are held back until
  /// finish_replay(), so that none is lost while the missed events are read.
  void begin_replay();
  /// Queues `event: reset` when `reset`, else the missed `events`; then the
  /// held-back live deliveries that the replay did not already contain (by
  /// sequence), and goes live. A live delivery that the replay already
  /// contained and that comes later (another node's event, read from the
  /// database before this node was told of it) is not sent either.
  void finish_replay(const std::vector<LoggedEvent>& events, bool reset);

  /// Starts serving: what arrived before is ready to take() at once.
  void start(Transport transport);
  /// The bytes ready to send, in order (empty when none or closed).
  std::string take();
  /// Queues an SSE comment (": keepalive\n\n").
  void keepalive();
  void close();
  bool closed() const;
  /// Events queued so far (the last event id of a non-resumable stream).
  std::uint64_t events_sent() const;

 private:
  // What must run once the lock is released: waking the transport, and on
  // close the session's end and the close hook.
  struct AfterUnlock {
    std::shared_ptr<const Transport> wake;  ///< set when the transport must be woken
    std::unique_ptr<Session> session;
    std::function<void()> on_close;
  };
  /// Queues one event under the lock (the id line, then the shared payload).
  void queue_locked(std::uint64_t sequence, const std::string& payload, AfterUnlock& after);
  /// Appends bytes under the lock, enforcing the unread-bytes cap.
  void append_locked(std::string_view bytes, AfterUnlock& after);
  void close_locked(AfterUnlock& after);
  void run(AfterUnlock after);

  const Options options_;
  mutable std::mutex mutex_;
  std::unique_ptr<Session> session_;
  std::shared_ptr<const Transport> transport_;
  bool started_ = false;
  bool replaying_ = false;
  std::vector<RoutedStanzaPtr> held_;
  std::uint64_t replayed_up_to_ = 0;  ///< the highest sequence the replay sent
  std::string pending_;
  std::uint64_t next_id_ = 1;
  std::uint64_t events_ = 0;
  bool closed_ = false;
};

/// The event id of a resumable stream for an archive sequence ("r42"), and
/// back (nullopt for text that no stream could have sent).
MIMREST_EXPORT std::string sse_event_id(std::uint64_t sequence);
MIMREST_EXPORT std::optional<std::uint64_t> parse_sse_event_id(std::string_view id);

}  // namespace mimrest
