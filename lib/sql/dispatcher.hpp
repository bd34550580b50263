// Internal: hands committed stanzas to this process's sessions, in the order
// of each user's stream.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/detail/test_export.hpp"
#include "mimrest/backend/sessions.hpp"
#include "mimrest/jid.hpp"
#include "sql/session_table.hpp"

namespace mimrest::sql::detail {

/// One recipient of a stanza: a user (bare) and the sequence that user's
/// stream stood at before this stanza (0 when not known or not archived).
struct Recipient {
  Recipient(Jid who, std::uint64_t before = 0)  // NOLINT(google-explicit-constructor)
      : user(std::move(who)), prev(before) {}
  Jid user;
  std::uint64_t prev;
};

/// One stanza for the sessions of some users: ONE RoutedStanza for all of
/// them (a room broadcast converts it once).
struct Delivery {
  std::vector<Recipient> recipients;
  RoutedStanzaPtr stanza;
};

/// A step of one stream: the stanzas with sequences in (prev, last]. Steps
/// chain: the next step's prev is this one's last. A user's stream is
/// `stream` = the user's bare JID; "" names a default stream whose steps
/// may carry stanzas for anyone.
struct Batch {
  Batch() = default;
  Batch(std::uint64_t from, std::uint64_t to, std::vector<Delivery> stanzas, std::string of = {})
      : prev(from), last(to), deliveries(std::move(stanzas)), stream(std::move(of)) {}

  std::uint64_t prev = 0;
  std::uint64_t last = 0;
  std::vector<Delivery> deliveries;
  std::string stream;
};

/// Delivers each stream's steps in order, whichever thread publishes them
/// (the writer for this process's transactions, the listener for other
/// processes'): a step is held until the one before it was delivered. A
/// session thus sees increasing sequences, which resumable streams need.
/// Thread-safe; sinks run with no lock held, each stream's steps one after
/// the other.
///
/// With gap filling (PostgreSQL), a user's stream is followed while the
/// user has sessions here (attach/detach): its position is read when the
/// first one opens, and a step whose predecessor never arrives (its
/// notification was lost) is reported by stale_gaps() for the listener to
/// read from the database. Without (SQLite: this process's writer is the
/// only one that delivers), stanzas go out in the order they are published
/// and a gap in the default stream is skipped.
class MIMREST_TEST_EXPORT Dispatcher : public SessionWatcher {
 public:
  /// `watermark`: where the default stream stands.
  Dispatcher(const SessionTable& sessions, std::uint64_t watermark, bool fill_gaps);

  /// Reads where a user's stream stands (mimrest_streams.pushed), then calls
  /// back with it, or with nothing when it cannot be read now.
  using HeadReader =
      std::function<void(const Jid&, std::function<void(std::optional<std::uint64_t>)>)>;
  /// Set before the first session opens.
  void set_head_reader(HeadReader reader) { read_head_ = std::move(reader); }

  void publish(Batch batch);
  /// What one transaction delivered: a step of each recipient's stream per
  /// stanza (recipients named with their prev), in order; stanzas that were
  /// not archived go out at once.
  void publish(std::vector<Delivery> deliveries);
  /// Delivers stanzas that were not archived (sequence 0) at once.
  void deliver_now(const std::vector<Delivery>& deliveries) const;
  /// Records that the default stream's sequences up to `last` were committed.
  void note_committed(std::uint64_t last);
  /// Records that `stream` was committed up to `last` (a read after a lost
  /// connection): what this process was not told of is a gap.
  void note_committed(const std::string& stream, std::uint64_t last);

  /// The range (from, to] of the default stream that has been missing for
  /// longer than `patience`, if any.
  std::optional<std::pair<std::uint64_t, std::uint64_t>> stale_gap(
      std::chrono::milliseconds patience);
  struct Gap {
    std::string stream;
    std::uint64_t from = 0;
    std::uint64_t to = 0;
  };
  /// Every stream's range missing for longer than `patience`: its steps'
  /// notification was lost, read them from the database and publish them as
  /// one step (from, to].
  std::vector<Gap> stale_gaps(std::chrono::milliseconds patience);
  std::uint64_t watermark() const;
  std::optional<std::uint64_t> watermark(const std::string& stream) const;
  /// The users whose streams are followed (with gap filling).
  std::vector<std::string> followed() const;
  /// Whether `user`'s (bare) stream is followed here.
  bool follows(const std::string& user) const;

  // SessionWatcher
  void opening(const Jid& user, std::function<void(bool)> ready) override;
  void closed(const Jid& user) override;

 private:
  struct Chain {
    bool ready = true;                    // its position is known
    std::uint64_t watermark = 0;          // delivered up to here
    std::uint64_t known_last = 0;         // committed up to here, as far as we know
    std::map<std::uint64_t, Batch> held;  // by prev
    bool draining = false;
    std::optional<std::chrono::steady_clock::time_point> gap_since;
    std::size_t sessions = 0;
    std::vector<std::function<void(bool)>> waiting;  // opened before it was ready
  };

  void deliver(const std::vector<Delivery>& deliveries) const;
  /// Holds `batch` in `chain`, then delivers what is in order unless another
  /// thread does. Takes and gives back the lock.
  void step(std::unique_lock<std::mutex>& lock, const std::string& stream, Chain& chain,
            Batch batch);
  void drain(std::unique_lock<std::mutex>& lock, const std::string& stream, Chain& chain);
  /// Marks when the chain's current gap opened (or clears it). Under the lock.
  static void track_gap(Chain& chain);
  /// The head read came back.
  void started(const std::string& stream, std::optional<std::uint64_t> head);
  /// Erases a user's chain nobody follows any more. Under the lock.
  void forget_if_unused(const std::string& stream);

  const SessionTable& sessions_;
  const bool fill_gaps_;
  HeadReader read_head_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Chain> chains_;  // "" is the default stream
};

}  // namespace mimrest::sql::detail
