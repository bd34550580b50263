// The adapter kit: request accounting, event streams and their keepalives,
// drain on stop.
#include "mimrest/serving.hpp"

#include <vector>

namespace mimrest {

bool is_transport_header(std::string_view name) noexcept {
  for (std::string_view framing : {"Content-Length", "Transfer-Encoding", "Connection",
                                   "Keep-Alive", "Upgrade", "TE", "Trailer"}) {
    if (iequals(name, framing)) {
      return true;
    }
  }
  return false;
}

ServingGate::ServingGate(const Api& api)
    : api_(api),
      max_body_bytes_(api.config().max_body_bytes),
      keepalive_interval_(api.config().sse.keepalive_interval) {}

void ServingGate::release(std::atomic<std::size_t>& count, const std::atomic<bool>& closing) {
  if (count.fetch_sub(1) == 1 && closing.load()) {
    // stop() may be waiting for this: wake it under the mutex, so that the
    // wake-up cannot fall between its check of the count and its wait.
    std::lock_guard<std::mutex> lock(mutex_);
    idle_.notify_all();
  }
}

bool ServingGate::handle(Request request, Responder respond) {
  in_api_.fetch_add(1);
  if (api_closed_.load()) {
    release(in_api_, api_closed_);
    return false;
  }
  struct Leave {
    ServingGate& gate;
    ~Leave() { gate.release(gate.in_api_, gate.api_closed_); }
  } leave{*this};
  // Returns once the request is dispatched; completions may come later, and
  // the Api keeps what they need alive.
  api_.handle(std::move(request), std::move(respond));
  return true;
}

Response ServingGate::transport_error(int status, std::string_view message) const {
  return api_.error_response(status, message);
}

Response ServingGate::body_too_large() const {
  return transport_error(413, "Request body too large");
}

Response ServingGate::stopping_response() const {
  return transport_error(503, "Service unavailable");
}

ServingGate::~ServingGate() = default;

ServingGate::Ticket::Ticket(Ticket&& other) noexcept : gate_(other.gate_) {
  other.gate_ = nullptr;
}

ServingGate::Ticket& ServingGate::Ticket::operator=(Ticket&& other) noexcept {
  if (this != &other) {
    if (gate_ != nullptr) {
      gate_->leave();
    }
    gate_ = other.gate_;
    other.gate_ = nullptr;
  }
  return *this;
}

ServingGate::Ticket::~Ticket() {
  if (gate_ != nullptr) {
    gate_->leave();
  }
}

std::optional<ServingGate::Ticket> ServingGate::enter() {
  in_flight_.fetch_add(1);
  if (stopping_.load()) {
    release(in_flight_, stopping_);
    return std::nullopt;
  }
  return Ticket(this);
}

void ServingGate::leave() {
  release(in_flight_, stopping_);
}

bool ServingGate::add_stream(const std::shared_ptr<SseStream>& stream) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!stopping_) {
      streams_.emplace(next_stream_++, stream);
      return true;
    }
  }
  stream->close();
  return false;
}

std::vector<std::shared_ptr<SseStream>> ServingGate::open_streams_locked() {
  std::vector<std::shared_ptr<SseStream>> open;
  open.reserve(streams_.size());
  for (auto it = streams_.begin(); it != streams_.end();) {
    auto stream = it->second.lock();
    if (!stream || stream->closed()) {
      it = streams_.erase(it);
    } else {
      open.push_back(std::move(stream));
      ++it;
    }
  }
  return open;
}

void ServingGate::tick() {
  std::vector<std::shared_ptr<SseStream>> open;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    open = open_streams_locked();
  }
  // Outside the lock: a keepalive may wake the transport.
  for (const auto& stream : open) {
    stream->keepalive();
  }
}

void ServingGate::forget_closed() {
  std::vector<std::shared_ptr<SseStream>> open;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    open = open_streams_locked();
  }
  // Released outside the lock: the last reference to a stream may go here.
}

std::chrono::milliseconds ServingGate::keepalive_interval() const noexcept {
  return keepalive_interval_;
}

bool ServingGate::stop(std::chrono::milliseconds drain) {
  std::vector<std::shared_ptr<SseStream>> open;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_.store(true);
    for (auto& [id, weak] : streams_) {
      if (auto stream = weak.lock()) {
        open.push_back(std::move(stream));
      }
    }
    streams_.clear();
  }
  // Ending the streams lets their responses complete like any other.
  for (const auto& stream : open) {
    stream->close();
  }
  open.clear();
  std::unique_lock<std::mutex> lock(mutex_);
  const bool drained = idle_.wait_for(lock, drain, [&] { return in_flight_.load() == 0; });
  api_closed_.store(true);
  idle_.wait(lock, [&] { return in_api_.load() == 0; });
  return drained;
}

bool ServingGate::stopping() const {
  return stopping_.load();
}

std::size_t ServingGate::in_flight() const {
  return in_flight_.load();
}

std::size_t ServingGate::open_streams() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::size_t count = 0;
  for (const auto& [id, weak] : streams_) {
    auto stream = weak.lock();
    count += stream && !stream->closed() ? 1 : 0;
  }
  return count;
}

}  // namespace mimrest
