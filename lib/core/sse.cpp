// Server-sent events of one GET /sse connection.
//
// Locking: mutex_ guards every member. The writer runs under mutex_ so that
// events reach the connection in id order; it must therefore not block and
// must never call back into the stream. The backend Session is never
// destroyed under mutex_: its destructor takes backend locks while the
// backend may be calling deliver(), which waits for mutex_.
#include "mimrest/sse.hpp"

#include <utility>

#include "mimrest/stanza_json.hpp"

namespace mimrest {

std::string format_sse_event(std::uint64_t id, std::string_view event, std::string_view data) {
  std::string out;
  out.reserve(data.size() + event.size() + 40);
  out += "id: ";
  out += std::to_string(id);
  out += "\nevent: ";
  out += event;
  out += "\ndata: ";
  out += data;
  out += "\n\n";
  return out;
}

SseStream::SseStream(TimestampUnit unit, Clock now) : unit_(unit), now_(std::move(now)) {}

SseStream::~SseStream() {
  // No other reference exists any more, so no deliver() can be running on
  // this object; releasing the session here takes no stream lock.
  session_.reset();
}

void SseStream::hold_session(std::unique_ptr<Session> session) {
  std::unique_ptr<Session> rejected;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_) {
      rejected = std::move(session);  // closed meanwhile: end it at once
    } else {
      rejected = std::move(session_);
      session_ = std::move(session);
    }
  }
}

void SseStream::deliver(std::string_view stanza_xml) {
  JsonOptions options;  // automatic: the room encoding for groupchat, chat otherwise
  options.sse = true;
  options.timestamp = now_ ? now_() : 0;
  auto message = typed_message_to_json(stanza_xml, options);
  // Only chat and groupchat messages are pushed; malformed stanzas are dropped.
  if (!message || message->type == MessageType::other) {
    return;
  }
  const std::string& json = message->json;
  std::string_view event = message->type == MessageType::groupchat ? "room.message" : "message";

  std::lock_guard<std::mutex> lock(mutex_);
  if (closed_) {
    return;
  }
  write_locked(format_sse_event(next_id_++, event, json));
}

void SseStream::attach(Writer writer) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (closed_) {
    return;
  }
  writer_ = std::move(writer);
  if (!pending_.empty()) {
    std::string bytes = std::move(pending_);
    pending_.clear();
    write_locked(std::move(bytes));
  }
}

void SseStream::keepalive() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (closed_ || !writer_) {
    return;  // nothing to keep alive yet: the adapter has not attached
  }
  write_locked(": keepalive\n\n");
}

void SseStream::close() {
  std::unique_ptr<Session> session;
  Writer writer;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_) {
      return;
    }
    closed_ = true;
    session = std::move(session_);
    writer = std::move(writer_);
    pending_.clear();
  }
  // Both are released here, outside mutex_ (see the note at the top).
}

bool SseStream::closed() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return closed_;
}

std::uint64_t SseStream::events_sent() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return next_id_ - 1;
}

void SseStream::write_locked(std::string bytes) {
  if (!writer_) {
    pending_ += bytes;
    return;
  }
  try {
    writer_(bytes);
  } catch (...) {
    // A failing transport must not break the backend's delivery; the
    // adapter notices the dead connection and closes the stream.
  }
}

}  // namespace mimrest
