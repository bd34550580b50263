// Internal: PostgreSQL LISTEN/NOTIFY, which makes several processes on one
// database one service. Every write transaction tells the others, with its
// commit, what it delivered (Announcer); each other process's Listener hands
// that to its own sessions, in each user's stream order (see README).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "core/detail/test_export.hpp"
#include "mimrest/jid.hpp"
#include "sql/dispatcher.hpp"
#include "sql/notice_codec.hpp"
#include "sql/pg_driver.hpp"
#include "sql/session_table.hpp"
#include "sql/store.hpp"

namespace mimrest::sql::detail {

inline constexpr const char* kChannel = "mimrest";

/// Store's on_commit on PostgreSQL: queues, inside the transaction, the
/// NOTIFY payloads (notice_codec.hpp) of what it delivered and of the logins
/// it ended. A payload too large for NOTIFY is stored in mimrest_notices by
/// the same transaction and announced by its row number: nothing is dropped.
class MIMREST_TEST_EXPORT Announcer {
 public:
  Announcer(std::string node, Clock clock) : node_(std::move(node)), clock_(std::move(clock)) {}
  void operator()(Connection& db, WriteContext& context) const;

 private:
  std::string node_;
  Clock clock_;
};

struct ListenerOptions {
  std::string url;
  std::chrono::milliseconds connect_timeout{10000};
  std::string node;  ///< this process's name in payloads (its own are skipped)
  Log log;
  /// A password changed on another process: drop cached logins of the user.
  std::function<void(const Jid&)> invalidate;
  /// How long a missing range may stay missing before it is read from the
  /// database (its notification was lost with a connection).
  std::chrono::milliseconds patience{300};
};

/// One thread with its own connection: LISTEN, deliver what other processes
/// committed, in order (through the Dispatcher), fill gaps, and reconnect
/// (re-LISTENing, then reading what it missed) after a lost connection.
class MIMREST_TEST_EXPORT Listener {
 public:
  Listener(ListenerOptions options, Dispatcher& dispatcher, const SessionTable& sessions);
  ~Listener();
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  /// Whether LISTEN is in place now (tests, monitoring).
  bool listening() const noexcept { return listening_.load(); }

 private:
  void run();
  void connect();
  void handle(const std::string& payload, bool stored);
  void deliver(notice::Message& message);
  /// Reads `user`'s stream in (from, to] and hands it to the dispatcher.
  void fetch(const std::string& user, std::uint64_t from, std::uint64_t to);

  ListenerOptions options_;
  Dispatcher& dispatcher_;
  const SessionTable& sessions_;
  std::unique_ptr<PgConnection> connection_;
  int wake_fd_ = -1;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> listening_{false};
  bool reported_bad_payload_ = false;
  std::thread thread_;
};

}  // namespace mimrest::sql::detail
