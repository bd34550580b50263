// Internal: PostgreSQL LISTEN/NOTIFY, which makes several processes on one
// database one service. Every write transaction that archives sends, with
// its commit, "r <node> <prev> <last>" (its sequence range); each other
// process fetches those rows and delivers them to its own sessions.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "mimrest/jid.hpp"
#include "sql/dispatcher.hpp"
#include "sql/pg_driver.hpp"
#include "sql/session_table.hpp"
#include "sql/store.hpp"

namespace mimrest::sql::detail {

inline constexpr const char* kChannel = "mimrest";

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
/// (re-LISTENing) after a lost connection.
class Listener {
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
  void handle(const Notification& notification);
  /// Reads the rows of (from, to] and hands them to the dispatcher.
  void fetch(std::uint64_t from, std::uint64_t to);

  ListenerOptions options_;
  Dispatcher& dispatcher_;
  const SessionTable& sessions_;
  std::unique_ptr<PgConnection> connection_;
  int wake_fd_ = -1;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> listening_{false};
  std::thread thread_;
};

}  // namespace mimrest::sql::detail
