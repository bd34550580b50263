// Server-sent events of one GET /sse connection.
//
// Locking: mutex_ guards every member. Nothing foreign runs under it: the
// transport's wake(), the backend Session's destructor (which takes backend
// locks while the backend may be calling deliver(), which waits for mutex_)
// and the close hook all run after it is released (AfterUnlock).
#include "mimrest/sse.hpp"

#include <utility>

#include "core/detail/sse_payload.hpp"
#include "mimrest/stanza_json.hpp"

namespace mimrest {

namespace {

constexpr std::string_view kKeepalive = ": keepalive\n\n";
constexpr std::string_view kReset = "event: reset\ndata: {}\n\n";

std::int64_t in_unit(std::int64_t us, TimestampUnit unit) {
  return unit == TimestampUnit::milliseconds ? us / 1000 : us;
}

std::shared_ptr<const std::string> convert(std::string_view stanza_xml, std::int64_t timestamp) {
  JsonOptions options;  // automatic: the room encoding for groupchat, chat otherwise
  options.sse = true;
  options.timestamp = timestamp;
  auto message = typed_message_to_json(stanza_xml, options);
  // Only chat and groupchat messages are pushed; malformed stanzas are dropped.
  if (!message || message->type == MessageType::other) {
    return nullptr;
  }
  std::string_view event = message->type == MessageType::groupchat ? "room.message" : "message";
  std::string payload;
  payload.reserve(message->json.size() + event.size() + 16);
  payload += "event: ";
  payload += event;
  payload += "\ndata: ";
  payload += message->json;
  payload += "\n\n";
  return std::make_shared<const std::string>(std::move(payload));
}

}  // namespace

namespace detail {

std::shared_ptr<const std::string> sse_payload(const RoutedStanza& stanza, TimestampUnit unit,
                                               const std::function<std::int64_t()>& now_us) {
  auto& derived = stanza.derived();
  const auto slot = static_cast<std::size_t>(unit == TimestampUnit::milliseconds ? 0 : 1);
  std::call_once(derived.once[slot], [&] {
    const std::int64_t now = now_us ? now_us() : system_now_us();
    derived.payload[slot] = convert(stanza.xml(), in_unit(now, unit));
  });
  return derived.payload[slot];
}

std::shared_ptr<const std::string> sse_payload(std::string_view stanza_xml, TimestampUnit unit,
                                               std::int64_t timestamp_us) {
  return convert(stanza_xml, in_unit(timestamp_us, unit));
}

}  // namespace detail

std::string format_sse_event(std::string_view id, std::string_view event, std::string_view data) {
  std::string out;
  out.reserve(data.size() + event.size() + id.size() + 24);
  out += "id: ";
  out += id;
  out += "\nevent: ";
  out += event;
  out += "\ndata: ";
  out += data;
  out += "\n\n";
  return out;
}

std::string sse_event_id(std::uint64_t sequence) {
  return "r" + std::to_string(sequence);
}

std::optional<std::uint64_t> parse_sse_event_id(std::string_view id) {
  if (id.size() < 2 || id.size() > 21 || id[0] != 'r' || id[1] == '0') {
    return std::nullopt;
  }
  std::uint64_t value = 0;
  for (char c : id.substr(1)) {
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
    const std::uint64_t digit = static_cast<std::uint64_t>(c - '0');
    if (value > (UINT64_MAX - digit) / 10) {
      return std::nullopt;
    }
    value = value * 10 + digit;
  }
  return value;
}

SseStream::SseStream(Options options) : options_(std::move(options)) {}

SseStream::~SseStream() {
  // No other reference exists any more, so no deliver() can be running on
  // this object. A stream dropped without close() still ends its session
  // and runs its close hook.
  AfterUnlock after;
  if (!closed_) {
    close_locked(after);
  }
  after.wake.reset();
  run(std::move(after));
}

void SseStream::hold_session(std::unique_ptr<Session> session) {
  AfterUnlock after;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_) {
      after.session = std::move(session);  // closed meanwhile: end it at once
    } else {
      after.session = std::move(session_);
      session_ = std::move(session);
    }
  }
  run(std::move(after));
}

void SseStream::deliver(const RoutedStanzaPtr& stanza) {
  if (!stanza) {
    return;
  }
  // Converted outside the lock, once for every stream the stanza goes to.
  auto payload = detail::sse_payload(*stanza, options_.timestamp_unit, options_.now_us);
  if (!payload) {
    return;
  }
  AfterUnlock after;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_) {
      return;
    }
    if (replaying_) {
      held_.push_back(stanza);
      return;
    }
    if (stanza->sequence() != 0 && stanza->sequence() <= replayed_up_to_) {
      return;  // the replay sent it already
    }
    queue_locked(stanza->sequence(), *payload, after);
  }
  run(std::move(after));
}

void SseStream::begin_replay() {
  std::lock_guard<std::mutex> lock(mutex_);
  replaying_ = true;
}

void SseStream::finish_replay(const std::vector<LoggedEvent>& events, bool reset) {
  std::uint64_t replayed_up_to = 0;
  std::vector<std::pair<std::uint64_t, std::shared_ptr<const std::string>>> queued;
  if (!reset) {
    for (const auto& event : events) {
      auto payload =
          detail::sse_payload(event.stanza_xml, options_.timestamp_unit, event.timestamp_us);
      if (payload) {
        queued.emplace_back(event.sequence, std::move(payload));
      }
      replayed_up_to = std::max(replayed_up_to, event.sequence);
    }
  }
  bool first = true;
  while (true) {
    AfterUnlock after;
    std::vector<RoutedStanzaPtr> held;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (closed_) {
        return;
      }
      if (first && reset) {
        append_locked(kReset, after);
      }
      if (first) {
        replayed_up_to_ = replayed_up_to;
      }
      first = false;
      for (const auto& [sequence, payload] : queued) {
        queue_locked(sequence, *payload, after);
      }
      // Live deliveries keep being held while the earlier ones are queued,
      // so that the stream stays in order; the last round goes live.
      held.swap(held_);
      if (held.empty()) {
        replaying_ = false;
      }
    }
    run(std::move(after));
    if (held.empty()) {
      return;
    }
    queued.clear();
    for (const auto& stanza : held) {
      // Skipped when the replay already had it.
      if (stanza->sequence() != 0 && stanza->sequence() <= replayed_up_to) {
        continue;
      }
      if (auto payload = detail::sse_payload(*stanza, options_.timestamp_unit, options_.now_us)) {
        queued.emplace_back(stanza->sequence(), std::move(payload));
      }
    }
  }
}

void SseStream::start(Transport transport) {
  AfterUnlock after;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    transport_ = std::make_shared<const Transport>(std::move(transport));
    started_ = true;
    if (closed_ || !pending_.empty()) {
      after.wake = transport_;
    }
  }
  run(std::move(after));
}

std::string SseStream::take() {
  std::lock_guard<std::mutex> lock(mutex_);
  std::string bytes = std::move(pending_);
  pending_.clear();
  return bytes;
}

void SseStream::keepalive() {
  AfterUnlock after;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_ || !started_) {
      return;  // nothing to keep alive yet: the transport has not started
    }
    append_locked(kKeepalive, after);
  }
  run(std::move(after));
}

void SseStream::close() {
  AfterUnlock after;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_) {
      return;
    }
    close_locked(after);
  }
  run(std::move(after));
}

bool SseStream::closed() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return closed_;
}

std::uint64_t SseStream::events_sent() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return events_;
}

void SseStream::queue_locked(std::uint64_t sequence, const std::string& payload,
                             AfterUnlock& after) {
  std::string id;
  if (!options_.resumable) {
    id = std::to_string(next_id_++);
  } else if (sequence != 0) {
    id = sse_event_id(sequence);
  }
  ++events_;
  if (!id.empty()) {
    std::string line = "id: ";
    line += id;
    line += '\n';
    append_locked(line, after);
  }
  append_locked(payload, after);
}

void SseStream::append_locked(std::string_view bytes, AfterUnlock& after) {
  if (closed_) {
    return;
  }
  const bool was_empty = pending_.empty();
  pending_ += bytes;
  std::size_t unread = pending_.size();
  if (started_ && transport_->unread_bytes) {
    unread += transport_->unread_bytes();
  }
  if (unread > options_.max_unread_bytes) {
    // The client is not keeping up: end the stream and release its bytes now.
    close_locked(after);
    return;
  }
  if (started_ && was_empty) {
    after.wake = transport_;
  }
}

void SseStream::close_locked(AfterUnlock& after) {
  closed_ = true;
  std::string().swap(pending_);
  held_.clear();
  held_.shrink_to_fit();
  after.session = std::move(session_);
  after.on_close = options_.on_close;
  if (started_) {
    after.wake = transport_;
  }
}

void SseStream::run(AfterUnlock after) {
  // The stream's place (on_close) is given back before its session ends, so
  // that whoever sees the session gone can open a stream in its place.
  if (after.on_close) {
    after.on_close();
  }
  after.session.reset();
  if (after.wake && after.wake->wake) {
    try {
      after.wake->wake();
    } catch (...) {
      // A failing transport must not break the backend's delivery; it
      // notices its dead connection and closes the stream.
    }
  }
}

}  // namespace mimrest
