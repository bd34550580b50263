// Internal: hands committed stanzas to this process's sessions, in sequence
// order.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include "core/detail/test_export.hpp"
#include "mimrest/backend/sessions.hpp"
#include "mimrest/jid.hpp"
#include "sql/session_table.hpp"

namespace mimrest::sql::detail {

/// One stanza for the sessions of some users: ONE RoutedStanza for all of
/// them (a room broadcast converts it once).
struct Delivery {
  std::vector<Jid> recipients;  ///< bare
  RoutedStanzaPtr stanza;
};

/// What one committed write transaction archived: the sequences in
/// (prev, last], with the deliveries they make. Transactions chain: the next
/// one's prev is this one's last (the counter row serialises them).
struct Batch {
  std::uint64_t prev = 0;
  std::uint64_t last = 0;
  std::vector<Delivery> deliveries;
};

/// Delivers batches in sequence order, whichever thread publishes them (the
/// writer for this process's transactions, the listener for other
/// processes'): a batch is held until the one before it was delivered. A
/// session thus sees increasing sequences, which resumable streams need.
/// Thread-safe; sinks run with no lock held, one batch after the other.
class MIMREST_TEST_EXPORT Dispatcher {
 public:
  /// `fill_gaps`: a batch whose predecessors never arrive is held until
  /// fill() supplies them (PostgreSQL); without it the gap is skipped (a
  /// SQLite file written by another process, which has no live delivery).
  Dispatcher(const SessionTable& sessions, std::uint64_t watermark, bool fill_gaps);

  void publish(Batch batch);
  /// Delivers stanzas that were not archived (sequence 0) at once.
  void deliver_now(const std::vector<Delivery>& deliveries) const;
  /// Records that sequences up to `last` were committed (a counter read).
  void note_committed(std::uint64_t last);

  /// The range (from, to] that has been missing for longer than `patience`,
  /// if any: its batch's notification was lost, fetch it from the database.
  std::optional<std::pair<std::uint64_t, std::uint64_t>> stale_gap(
      std::chrono::milliseconds patience);
  std::uint64_t watermark() const;

 private:
  void deliver(const std::vector<Delivery>& deliveries) const;
  /// Marks when the current gap opened (or clears it). Under the lock.
  void track_gap();

  const SessionTable& sessions_;
  const bool fill_gaps_;
  mutable std::mutex mutex_;
  std::uint64_t watermark_;
  std::uint64_t known_last_;
  std::map<std::uint64_t, Batch> held_;  // by prev
  bool draining_ = false;
  std::optional<std::chrono::steady_clock::time_point> gap_since_;
};

}  // namespace mimrest::sql::detail
