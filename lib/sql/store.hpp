// Internal: the connections and threads of the SQL backend. One writer
// thread commits write requests in groups (many requests, one transaction,
// one fsync); reader threads, each with its own connection, answer reads in
// parallel. Both reconnect by themselves after a lost connection.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/detail/test_export.hpp"
#include "mimrest/backend/error.hpp"
#include "sql/connection.hpp"
#include "sql/dispatcher.hpp"

namespace mimrest::sql::detail {

using Log = std::function<void(std::string_view)>;
using Clock = std::function<std::int64_t()>;

/// Opens connections of one database. Throws DbError on failure.
class ConnectionFactory {
 public:
  virtual ~ConnectionFactory() = default;
  virtual std::unique_ptr<Connection> open_writer() = 0;
  virtual std::unique_ptr<Connection> open_reader() = 0;
  virtual const Dialect& dialect() const noexcept = 0;
};

/// The numbers of JIDs the writer has seen committed. JID rows are never
/// deleted or renumbered, so a number once committed stays right.
/// Bounded: emptied when full. Used by the writer thread only.
class JidCache {
 public:
  std::optional<std::int64_t> find(const std::string& jid) const {
    auto it = ids_.find(jid);
    return it == ids_.end() ? std::nullopt : std::optional<std::int64_t>(it->second);
  }
  /// Remembers what one committed transaction learned.
  void publish(std::vector<std::pair<std::string, std::int64_t>>& learned) {
    if (ids_.size() + learned.size() > kMaxEntries) {
      ids_.clear();
    }
    for (auto& [jid, id] : learned) {
      ids_.emplace(std::move(jid), id);
    }
    learned.clear();
  }

 private:
  static constexpr std::size_t kMaxEntries = 100000;
  std::unordered_map<std::string, std::int64_t> ids_;
};

/// The counters of one JID, user or room (a row of mimrest_streams).
struct StreamCounter {
  /// The highest sequence of any row of its archive or of its stream: a new
  /// row's sequence is above it.
  std::uint64_t last = 0;
  /// The sequence of the last item of its stream (what its sessions were
  /// last given); 0 when none.
  std::uint64_t pushed = 0;
  /// Whether the JID has an account (read with the counter).
  bool account = false;
};

/// What a write request will touch, said before it runs so that the writer
/// locks every request's streams of a batch with one statement, in one
/// order (see README, "Sequences").
class Declaration {
 public:
  /// A JID whose archive or stream the request changes (recorded when new).
  void user(std::string jid) { users_.push_back(std::move(jid)); }
  /// A JID the request changes only when it exists already (not recorded).
  void existing(std::string jid) { existing_.push_back(std::move(jid)); }
  /// A room: its own counter and its occupants'.
  void room(std::string jid) { rooms_.push_back(std::move(jid)); }

  const std::vector<std::string>& users() const noexcept { return users_; }
  const std::vector<std::string>& existing() const noexcept { return existing_; }
  const std::vector<std::string>& rooms() const noexcept { return rooms_; }
  void clear() {
    users_.clear();
    existing_.clear();
    rooms_.clear();
  }

 private:
  std::vector<std::string> users_;
  std::vector<std::string> existing_;
  std::vector<std::string> rooms_;
};

/// What one write request does inside a batch transaction, besides its
/// statements: the sequences it takes and what it delivers after the commit.
class WriteContext {
 public:
  WriteContext(const Clock& clock, const JidCache& jids) : clock_(clock), jids_(jids) {}

  /// The number of a JID, recorded when new.
  std::int64_t jid(Connection& db, const std::string& jid);
  /// What jid() looked up or recorded, for the cache once committed.
  std::vector<std::pair<std::string, std::int64_t>>& learned() noexcept { return learned_; }

  std::int64_t now_us() const { return clock_(); }

  /// Reads (and on PostgreSQL locks, in JID order) the counters of `users`
  /// and of the occupants of `rooms` (room JID numbers), unless held already.
  void lock(Connection& db, const std::vector<std::int64_t>& users,
            const std::vector<std::int64_t>& rooms = {});
  /// Whether `user` has an account (from its counter when locked).
  bool has_account(Connection& db, std::int64_t user);

  /// The sequence of a new row of `owner`'s archive that the streams of
  /// `readers` show (the owner's own stream included when it is one of
  /// them): the time in microseconds, or one more than the highest number
  /// the owner's archive and those streams hold when the clock has not moved
  /// past it. Unique and increasing per archive and per stream, in commit
  /// order: the counters are locked until the commit. `prevs` (when given)
  /// receives, per reader, the sequence its stream stood at before. At
  /// least `at_least`.
  std::uint64_t next_sequence(Connection& db, std::int64_t owner,
                              const std::vector<std::int64_t>& readers = {},
                              std::vector<std::uint64_t>* prevs = nullptr,
                              std::uint64_t at_least = 0);
  /// Delivers `stanza` (archived with its sequence) to the sessions of the
  /// recipients after the commit; each recipient names where its stream
  /// stood before (`prev` from next_sequence).
  void deliver(std::vector<Recipient> recipients, RoutedStanzaPtr stanza) {
    deliveries_.push_back(Delivery{std::move(recipients), std::move(stanza)});
  }
  /// A stanza that is not archived (sequence 0), for this process's
  /// sessions and every other process's.
  void notice(Jid recipient, std::string xml) {
    notices_.push_back(
        Delivery{{Recipient(std::move(recipient))}, RoutedStanza::make(std::move(xml), 0)});
  }
  /// Runs after the commit (this process).
  void on_commit(std::function<void()> hook) { hooks_.push_back(std::move(hook)); }
  /// The logins of `user` (bare) end on every process once committed.
  void logout(std::string user) { logouts_.push_back(std::move(user)); }

  struct Mark {
    std::size_t undo, deliveries, notices, hooks, logouts;
  };
  Mark mark() const {
    return Mark{undo_.size(), deliveries_.size(), notices_.size(), hooks_.size(), logouts_.size()};
  }
  /// Forgets what happened after `mark` (that request changed nothing).
  void rollback(const Mark& mark);

  std::vector<Delivery>& deliveries() noexcept { return deliveries_; }
  std::vector<Delivery>& notices() noexcept { return notices_; }
  std::vector<std::function<void()>>& hooks() noexcept { return hooks_; }
  const std::vector<std::string>& logouts() const noexcept { return logouts_; }
  /// The counters changed by the transaction (written back before the commit).
  std::vector<std::pair<std::int64_t, StreamCounter>> changed() const;

 private:
  struct Held {
    StreamCounter counter;
    bool changed = false;
  };
  Held& held(Connection& db, std::int64_t id);

  const Clock& clock_;
  const JidCache& jids_;
  std::vector<std::pair<std::string, std::int64_t>> learned_;
  std::unordered_map<std::int64_t, Held> counters_;
  // (JID number, its counter before a change): rollback() restores them
  std::vector<std::pair<std::int64_t, Held>> undo_;
  std::vector<Delivery> deliveries_;
  std::vector<Delivery> notices_;
  std::vector<std::function<void()>> hooks_;
  std::vector<std::string> logouts_;
};

/// One write request. run() may be called again: in a new transaction when
/// another request of its batch failed, or on a fresh connection when the
/// connection was lost before the commit.
class WriteJob {
 public:
  virtual ~WriteJob() = default;
  /// What it touches (see Declaration); nothing by default: then whatever
  /// run() locks, it locks as it goes.
  virtual void declare(Declaration& /*declaration*/) const {}
  /// Its statements, inside the batch transaction. false: the request failed
  /// for a reason of its own and completes with its result; what it changed
  /// is undone (best found out before changing anything: then undoing costs
  /// nothing, else the others of its batch run again). Throws DbError: the
  /// request fails alone, the others of its batch run again.
  virtual bool run(Connection& db, WriteContext& context) = 0;
  /// After the commit: complete with the result of run().
  virtual void committed() = 0;
  /// Nothing was stored: complete with this failure.
  virtual void failed(Failure failure) = 0;
};

/// One read request.
class ReadJob {
 public:
  virtual ~ReadJob() = default;
  /// Whether its statements must see one snapshot (a read transaction).
  virtual bool snapshot() const { return false; }
  /// Its statements; may run again after a lost connection. Throws DbError.
  virtual void run(Connection& db) = 0;
  /// After run() succeeded (outside any transaction).
  virtual void complete() = 0;
  virtual void failed(Failure failure) = 0;
};

/// A worker's connection, (re)opened on demand; after a failed attempt the
/// next one waits a little (operations fail with unavailable meanwhile).
class Link {
 public:
  Link(std::function<std::unique_ptr<Connection>()> open, Log log, std::string name);
  /// The connection; throws DbError(unavailable) when it cannot be had now.
  Connection& get();
  /// The connection broke: drop it, reconnect on next use.
  void lost();
  /// Takes an already open connection.
  void adopt(std::unique_ptr<Connection> connection) { connection_ = std::move(connection); }

 private:
  std::function<std::unique_ptr<Connection>()> open_;
  Log log_;
  std::string name_;
  std::unique_ptr<Connection> connection_;
  std::chrono::steady_clock::time_point retry_at_{};
  std::chrono::milliseconds backoff_{0};
  bool reported_ = false;
};

struct StoreOptions {
  std::size_t readers = 4;
  std::size_t max_batch = 256;
  Log log;
  Clock clock;
  /// Called with what a write transaction did, on its connection, as the
  /// last thing before its COMMIT: what it queues commits with it, so it is
  /// delivered if and only if the transaction commits (PostgreSQL: NOTIFY
  /// to the other processes). Null when there are none.
  std::function<void(Connection&, WriteContext&)> on_commit;
};

class MIMREST_TEST_EXPORT Store {
 public:
  /// Starts the threads; `writer` is the already open (and migrated) writer
  /// connection.
  Store(std::unique_ptr<ConnectionFactory> factory, std::unique_ptr<Connection> writer,
        StoreOptions options, Dispatcher& dispatcher);
  /// Finishes every queued request, then stops the threads.
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  void write(std::unique_ptr<WriteJob> job);
  void read(std::unique_ptr<ReadJob> job);

  const Dialect& dialect() const noexcept { return factory_->dialect(); }
  /// Transactions the writer committed so far (for tests and monitoring).
  std::uint64_t commits() const noexcept { return commits_.load(); }
  const StoreOptions& options() const noexcept { return options_; }
  void log(std::string_view line) const { options_.log(line); }

 private:
  using Jobs = std::vector<std::unique_ptr<WriteJob>>;
  void writer_loop();
  void reader_loop(std::size_t index);
  void commit(Jobs& jobs);
  /// Runs the batch once; returns false when the connection was lost before
  /// the commit was sent (nothing stored: the caller may retry).
  bool attempt(Connection& db, Jobs& jobs, std::vector<bool>& done, bool may_retry);
  /// Starts the batch's transaction and locks what its requests declared.
  void begin(Connection& db, Jobs& jobs, const std::vector<bool>& done, WriteContext& context);
  /// Queues the update of the counters the transaction changed.
  static void write_counters(Connection& db, WriteContext& context);
  void fail_remaining(Jobs& jobs, std::vector<bool>& done, Failure failure);
  void run_read(ReadJob& job, Link& link);

  JidCache jids_;  // the writer thread's

  std::unique_ptr<ConnectionFactory> factory_;
  StoreOptions options_;
  Dispatcher& dispatcher_;
  Link writer_link_;

  std::mutex write_mutex_;
  std::condition_variable write_ready_;
  std::deque<std::unique_ptr<WriteJob>> write_queue_;
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint64_t> commits_{0};

  std::mutex read_mutex_;
  std::condition_variable read_ready_;
  std::deque<std::unique_ptr<ReadJob>> read_queue_;

  std::thread writer_;
  std::vector<std::thread> readers_;
};

}  // namespace mimrest::sql::detail
