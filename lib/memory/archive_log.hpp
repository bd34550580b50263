// Internal: one message archive (a user's or a room's) with MAM-like paging.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/detail/test_export.hpp"
#include "mimrest/backend/archive.hpp"
#include "mimrest/backend/event_log.hpp"
#include "mimrest/jid.hpp"

namespace mimrest::memory::detail {

/// Numbers archived rows across every archive of one backend, in the order
/// they are appended (each store takes a number under its own lock, so a
/// reader that first notes current() and then reads sees every row up to it).
class MIMREST_TEST_EXPORT Sequencer {
 public:
  std::uint64_t next() noexcept { return last_.fetch_add(1) + 1; }
  std::uint64_t current() const noexcept { return last_.load(); }

 private:
  std::atomic<std::uint64_t> last_{0};
};

/// Rows in archiving order. Not synchronized: its owner locks around it.
class MIMREST_TEST_EXPORT ArchiveLog {
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
  std::size_t size() const noexcept { return size_; }
  /// The newest row (the log must not be empty).
  const ArchivedMessage& last() const { return row(size_ - 1).message; }

 private:
  struct Row {
    ArchivedMessage message;
    std::uint64_t sequence;
    std::optional<Jid> with;  // bare
    bool pushed;
  };
  // Rows in blocks of a fixed size, each allocated once: appending never
  // moves a row, and what grows with the archive is the list of blocks, one
  // pointer per kBlockRows rows. (A vector's reallocation copies the whole
  // archive under its owner's lock; a deque's map holds a pointer per two
  // or three rows of this size and is copied whole when it fills: both a
  // stall that grows with the archive.)
  static constexpr std::size_t kBlockRows = 1024;
  const Row& row(std::size_t i) const { return (*blocks_[i / kBlockRows])[i % kBlockRows]; }
  /// The first index in [lo, hi) whose row does not satisfy `before` (rows
  /// satisfying it come first), hi if none.
  template <typename Before>
  std::size_t partition_point(std::size_t lo, std::size_t hi, Before before) const {
    while (lo < hi) {
      const std::size_t mid = lo + (hi - lo) / 2;
      if (before(row(mid))) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo;
  }
  std::vector<std::unique_ptr<std::vector<Row>>> blocks_;
  std::size_t size_ = 0;
};

}  // namespace mimrest::memory::detail
