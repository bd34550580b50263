// A server-sent-events stream of one GET /sse connection: receives the stanzas
// the backend routes to the user's session and turns them into SSE events.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "mimrest/backend/sessions.hpp"

namespace mimrest {

enum class TimestampUnit { milliseconds, microseconds };

/// Formats one SSE event: "id: N\nevent: NAME\ndata: DATA\n\n" (DATA has no
/// newlines: it is compact JSON).
std::string format_sse_event(std::uint64_t id, std::string_view event, std::string_view data);

/// The stream is a StanzaSink: the backend delivers the user's stanzas to it,
/// from any thread. Chat messages become "message" events, groupchat messages
/// "room.message" events, everything else is dropped. Event ids count from 1.
///
/// The adapter attaches a writer and receives ready-to-send bytes in order;
/// events delivered before attach() are kept and flushed on attach. close()
/// ends the backend session (the user goes offline) and is idempotent; the
/// adapter calls it when the client goes away or the server shuts down.
class SseStream final : public StanzaSink, public std::enable_shared_from_this<SseStream> {
 public:
  using Writer = std::function<void(std::string_view bytes)>;
  using Clock = std::function<std::int64_t()>;  ///< now, in the unit below

  SseStream(TimestampUnit unit, Clock now);
  ~SseStream() override;

  /// Keeps the backend session alive as long as the stream is open.
  void hold_session(std::unique_ptr<Session> session);

  void deliver(std::string_view stanza_xml) override;

  void attach(Writer writer);
  /// Writes an SSE comment line (": keepalive\n\n") so that a dead
  /// connection is noticed by the transport.
  void keepalive();
  void close();
  bool closed() const;
  /// Events sent so far (the last event id).
  std::uint64_t events_sent() const;

 private:
  void write_locked(std::string bytes);

  mutable std::mutex mutex_;
  TimestampUnit unit_;
  Clock now_;
  std::unique_ptr<Session> session_;
  Writer writer_;
  std::string pending_;
  std::uint64_t next_id_ = 1;
  bool closed_ = false;
};

}  // namespace mimrest
