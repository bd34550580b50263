#include "sql/dispatcher.hpp"

#include <algorithm>
#include <memory>
#include <utility>

namespace mimrest::sql::detail {

Dispatcher::Dispatcher(const SessionTable& sessions, std::uint64_t watermark, bool fill_gaps)
    : sessions_(sessions), fill_gaps_(fill_gaps) {
  Chain& chain = chains_[""];
  chain.watermark = watermark;
  chain.known_last = watermark;
}

void Dispatcher::deliver(const std::vector<Delivery>& deliveries) const {
  if (sessions_.empty()) {
    return;
  }
  std::vector<std::shared_ptr<SessionEntry>> entries;
  for (const Delivery& delivery : deliveries) {
    entries.clear();
    for (const Recipient& recipient : delivery.recipients) {
      sessions_.sessions_of(recipient.user, entries);
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

void Dispatcher::track_gap(Chain& chain) {
  const bool gap = chain.ready && (!chain.held.empty() || chain.known_last > chain.watermark);
  if (!gap) {
    chain.gap_since.reset();
  } else if (!chain.gap_since) {
    chain.gap_since = std::chrono::steady_clock::now();
  }
}

void Dispatcher::publish(Batch batch) {
  std::unique_lock lock(mutex_);
  auto it = chains_.find(batch.stream);
  if (it == chains_.end()) {
    if (fill_gaps_) {
      return;  // nobody here follows that stream
    }
    // This process's writer is the only one that publishes: its order is
    // the streams' order.
    lock.unlock();
    deliver(batch.deliveries);
    return;
  }
  step(lock, it->first, it->second, std::move(batch));
}

void Dispatcher::publish(std::vector<Delivery> deliveries) {
  if (!fill_gaps_) {
    deliver(deliveries);
    return;
  }
  std::unique_lock lock(mutex_);
  for (Delivery& delivery : deliveries) {
    const std::uint64_t sequence = delivery.stanza->sequence();
    if (sequence == 0) {
      lock.unlock();
      deliver({delivery});
      lock.lock();
      continue;
    }
    for (Recipient& recipient : delivery.recipients) {
      auto it = chains_.find(recipient.user.bare_string());
      if (it == chains_.end()) {
        continue;  // no session of that user here
      }
      const std::uint64_t prev = recipient.prev;
      Batch batch{prev, sequence, {}, it->first};
      batch.deliveries.push_back(Delivery{{std::move(recipient)}, delivery.stanza});
      step(lock, it->first, it->second, std::move(batch));
    }
  }
}

void Dispatcher::step(std::unique_lock<std::mutex>& lock, const std::string& stream, Chain& chain,
                      Batch batch) {
  if (chain.ready && batch.last <= chain.watermark) {
    return;  // delivered already (a gap fill overtook it)
  }
  if (batch.last > chain.known_last) {
    chain.known_last = batch.last;
  }
  if (!fill_gaps_ && chain.ready && batch.prev > chain.watermark) {
    chain.watermark = batch.prev;  // rows of another process: not delivered live
  }
  chain.held.emplace(batch.prev, std::move(batch));
  if (!chain.ready || chain.draining) {
    track_gap(chain);
    return;  // delivered in turn by the thread draining, or once ready
  }
  drain(lock, stream, chain);
}

void Dispatcher::drain(std::unique_lock<std::mutex>& lock, const std::string& stream,
                       Chain& chain) {
  chain.draining = true;
  for (;;) {
    auto next = chain.held.find(chain.watermark);
    // A step that starts inside what was delivered (a gap fill cut across
    // it) continues from the watermark.
    if (next == chain.held.end() && !chain.held.empty() &&
        chain.held.begin()->first < chain.watermark) {
      next = chain.held.begin();
    }
    if (next == chain.held.end()) {
      break;
    }
    Batch ready = std::move(next->second);
    chain.held.erase(next);
    if (ready.last <= chain.watermark) {
      continue;
    }
    if (ready.prev < chain.watermark) {
      const std::uint64_t delivered = chain.watermark;
      auto& list = ready.deliveries;
      list.erase(std::remove_if(list.begin(), list.end(),
                                [delivered](const Delivery& d) {
                                  const std::uint64_t sequence = d.stanza->sequence();
                                  return sequence != 0 && sequence <= delivered;
                                }),
                 list.end());
    }
    chain.watermark = ready.last;
    lock.unlock();
    deliver(ready.deliveries);
    lock.lock();
  }
  chain.draining = false;
  track_gap(chain);
  forget_if_unused(stream);
}

void Dispatcher::note_committed(std::uint64_t last) {
  note_committed("", last);
}

void Dispatcher::note_committed(const std::string& stream, std::uint64_t last) {
  std::lock_guard lock(mutex_);
  auto it = chains_.find(stream);
  if (it == chains_.end() || !it->second.ready) {
    return;
  }
  Chain& chain = it->second;
  if (last > chain.known_last) {
    chain.known_last = last;
  }
  if (!fill_gaps_ && chain.held.empty() && chain.known_last > chain.watermark) {
    chain.watermark = chain.known_last;
  }
  track_gap(chain);
}

std::optional<std::pair<std::uint64_t, std::uint64_t>> Dispatcher::stale_gap(
    std::chrono::milliseconds patience) {
  for (const Gap& gap : stale_gaps(patience)) {
    if (gap.stream.empty()) {
      return std::make_pair(gap.from, gap.to);
    }
  }
  return std::nullopt;
}

std::vector<Dispatcher::Gap> Dispatcher::stale_gaps(std::chrono::milliseconds patience) {
  std::vector<Gap> gaps;
  std::lock_guard lock(mutex_);
  const auto now = std::chrono::steady_clock::now();
  for (auto& [stream, chain] : chains_) {
    track_gap(chain);
    if (!chain.gap_since || chain.draining || now - *chain.gap_since < patience) {
      continue;
    }
    const std::uint64_t to = chain.held.empty() ? chain.known_last : chain.held.begin()->first;
    if (to > chain.watermark) {
      gaps.push_back(Gap{stream, chain.watermark, to});
    }
  }
  return gaps;
}

std::uint64_t Dispatcher::watermark() const {
  return watermark("").value_or(0);
}

std::optional<std::uint64_t> Dispatcher::watermark(const std::string& stream) const {
  std::lock_guard lock(mutex_);
  auto it = chains_.find(stream);
  if (it == chains_.end() || !it->second.ready) {
    return std::nullopt;
  }
  return it->second.watermark;
}

std::vector<std::string> Dispatcher::followed() const {
  std::vector<std::string> streams;
  std::lock_guard lock(mutex_);
  for (const auto& [stream, chain] : chains_) {
    if (!stream.empty() && chain.ready) {
      streams.push_back(stream);
    }
  }
  return streams;
}

bool Dispatcher::follows(const std::string& user) const {
  std::lock_guard lock(mutex_);
  return chains_.count(user) != 0;
}

void Dispatcher::opening(const Jid& user, std::function<void(bool)> ready) {
  if (!fill_gaps_ || !read_head_) {
    ready(true);
    return;
  }
  std::unique_lock lock(mutex_);
  auto [it, inserted] = chains_.try_emplace(user.bare_string());
  Chain& chain = it->second;
  ++chain.sessions;
  if (inserted) {
    chain.ready = false;
  }
  if (chain.ready) {
    lock.unlock();
    ready(true);
    return;
  }
  // The first session to wait reads where the stream stands; deliveries
  // published meanwhile are held, then those after that point go out.
  const bool first = chain.waiting.empty();
  chain.waiting.push_back(std::move(ready));
  if (first) {
    std::string stream = it->first;
    lock.unlock();
    read_head_(user, [this, stream](std::optional<std::uint64_t> head) { started(stream, head); });
  }
}

void Dispatcher::started(const std::string& stream, std::optional<std::uint64_t> head) {
  std::unique_lock lock(mutex_);
  auto it = chains_.find(stream);
  if (it == chains_.end()) {
    return;
  }
  Chain& chain = it->second;
  auto waiting = std::move(chain.waiting);
  chain.waiting.clear();
  if (head) {
    chain.ready = true;
    chain.watermark = *head;
    chain.known_last = std::max(chain.known_last, *head);
    drain(lock, stream, chain);  // what arrived meanwhile, from the head on
  } else {
    // The sessions waiting fail and close (closed() lets the chain go); a
    // later session reads the head again.
    chain.held.clear();
    chain.known_last = 0;
  }
  lock.unlock();
  for (auto& callback : waiting) {
    callback(head.has_value());
  }
}

void Dispatcher::closed(const Jid& user) {
  if (!fill_gaps_ || !read_head_) {
    return;
  }
  std::lock_guard lock(mutex_);
  const std::string stream = user.bare_string();
  auto it = chains_.find(stream);
  if (it == chains_.end()) {
    return;
  }
  if (it->second.sessions > 0) {
    --it->second.sessions;
  }
  forget_if_unused(stream);
}

void Dispatcher::forget_if_unused(const std::string& stream) {
  if (stream.empty()) {
    return;
  }
  auto it = chains_.find(stream);
  if (it != chains_.end() && it->second.sessions == 0 && !it->second.draining &&
      it->second.waiting.empty()) {
    chains_.erase(it);
  }
}

}  // namespace mimrest::sql::detail
