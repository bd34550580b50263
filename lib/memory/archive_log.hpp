// Internal: one message archive (a user's or a room's) with MAM-like paging.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "mimrest/backend/archive.hpp"
#include "mimrest/backend/event_log.hpp"
#include "mimrest/jid.hpp"

namespace mimrest::memory::detail {

/// Numbers archived rows across every archive of one backend, in the order
/// they are appended (each store takes a number under its own lock, so a
/// reader that first notes current() and then reads sees every row up to it).
class Sequencer {
 public:
  std::uint64_t next() noexcept { return last_.fetch_add(1) + 1; }
  std::uint64_t current() const noexcept { return last_.load(); }

 private:
  std::atomic<std::uint64_t> last_{0};
};

/// Rows in archiving order. Not synchronized: its owner locks around it.
class ArchiveLog {
 public:
  /// Archives `stanza_xml` at max(now_us, last timestamp + 1), so timestamps
  /// are unique and strictly increasing; the id is that timestamp in decimal.
  /// Returns the row's sequence. `pushed`: the owner's live streams got it
  /// (not a one-to-one message the owner sent), so a resumed stream replays it.
  std::uint64_t append(std::int64_t now_us, std::uint64_t sequence, std::optional<Jid> with,
                       std::string stanza_xml, bool pushed = true);
  /// Rows exchanged with `with` (bare compare; all when nullopt) strictly
  /// between the bounds (ids are the rows' timestamps, unique here, so an id
  /// bound is given as a time): the newest `limit` without `after_us`, the
  /// oldest `limit` with it; oldest first.
  std::vector<ArchivedMessage> range(const std::optional<Jid>& with,
                                     std::optional<std::int64_t> after_us,
                                     std::optional<std::int64_t> before_us,
                                     std::size_t limit) const;
  /// Appends the pushed rows with after < sequence <= up_to to `out`.
  void events_between(std::uint64_t after, std::uint64_t up_to,
                      std::vector<LoggedEvent>& out) const;
  std::size_t size() const noexcept { return rows_.size(); }
  /// The newest row (the log must not be empty).
  const ArchivedMessage& last() const { return rows_.back().message; }

 private:
  struct Row {
    ArchivedMessage message;
    std::uint64_t sequence;
    std::optional<Jid> with;  // bare
    bool pushed;
  };
  // A deque: appending never moves the rows already there (a vector's
  // reallocation would copy the whole archive under its owner's lock).
  std::deque<Row> rows_;
};

}  // namespace mimrest::memory::detail
