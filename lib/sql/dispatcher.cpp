#include "sql/dispatcher.hpp"

#include <memory>
#include <utility>

namespace mimrest::sql::detail {

Dispatcher::Dispatcher(const SessionTable& sessions, std::uint64_t watermark, bool fill_gaps)
    : sessions_(sessions), fill_gaps_(fill_gaps), watermark_(watermark), known_last_(watermark) {}

void Dispatcher::deliver(const std::vector<Delivery>& deliveries) const {
  if (sessions_.empty()) {
    return;
  }
  std::vector<std::shared_ptr<SessionEntry>> entries;
  for (const Delivery& delivery : deliveries) {
    entries.clear();
    for (const Jid& user : delivery.recipients) {
      sessions_.sessions_of(user, entries);
    }
    for (const auto& entry : entries) {
      if (entry->open.load()) {
        entry->sink->deliver(delivery.stanza);
      }
    }
  }
}

void Dispatcher::deliver_now(const std::vector<Delivery>& deliveries) const {
  deliver(deliveries);
}

void Dispatcher::track_gap() {
  const bool gap = !held_.empty() || known_last_ > watermark_;
  if (!gap) {
    gap_since_.reset();
  } else if (!gap_since_) {
    gap_since_ = std::chrono::steady_clock::now();
  }
}

void Dispatcher::publish(Batch batch) {
  std::unique_lock lock(mutex_);
  if (batch.last <= watermark_) {
    return;  // already delivered (a gap fill overtook it)
  }
  if (batch.last > known_last_) {
    known_last_ = batch.last;
  }
  if (!fill_gaps_ && batch.prev > watermark_) {
    watermark_ = batch.prev;  // rows of another process: not delivered live
  }
  held_.emplace(batch.prev, std::move(batch));
  if (draining_) {
    track_gap();
    return;  // the thread draining delivers it in turn
  }
  draining_ = true;
  for (;;) {
    auto next = held_.find(watermark_);
    // A range that starts inside what was delivered (a gap fill cut across
    // it) continues from the watermark.
    if (next == held_.end() && !held_.empty() && held_.begin()->first < watermark_) {
      next = held_.begin();
    }
    if (next == held_.end()) {
      break;
    }
    Batch ready = std::move(next->second);
    held_.erase(next);
    if (ready.last <= watermark_) {
      continue;
    }
    watermark_ = ready.last;
    lock.unlock();
    deliver(ready.deliveries);
    lock.lock();
  }
  draining_ = false;
  track_gap();
}

void Dispatcher::note_committed(std::uint64_t last) {
  std::lock_guard lock(mutex_);
  if (last > known_last_) {
    known_last_ = last;
  }
  if (!fill_gaps_ && held_.empty() && known_last_ > watermark_) {
    watermark_ = known_last_;
  }
  track_gap();
}

std::optional<std::pair<std::uint64_t, std::uint64_t>> Dispatcher::stale_gap(
    std::chrono::milliseconds patience) {
  std::lock_guard lock(mutex_);
  track_gap();
  if (!gap_since_ || draining_ || std::chrono::steady_clock::now() - *gap_since_ < patience) {
    return std::nullopt;
  }
  const std::uint64_t to = held_.empty() ? known_last_ : held_.begin()->first;
  if (to <= watermark_) {
    return std::nullopt;
  }
  return std::make_pair(watermark_, to);
}

std::uint64_t Dispatcher::watermark() const {
  std::lock_guard lock(mutex_);
  return watermark_;
}

}  // namespace mimrest::sql::detail
