#include "sql/store.hpp"

#include "sql/queries.hpp"

#include <algorithm>
#include <exception>
#include <optional>
#include <utility>

namespace mimrest::sql::detail {

namespace {

constexpr std::chrono::milliseconds kFirstBackoff{100};
constexpr std::chrono::milliseconds kMaxBackoff{2000};
// Times a batch runs again after the database aborted it to resolve a
// deadlock before its requests fail.
constexpr int kConflictRetries = 5;

}  // namespace

std::int64_t WriteContext::jid(Connection& db, const std::string& jid) {
  if (auto id = jids_.find(jid)) {
    return *id;
  }
  for (const auto& [known, id] : learned_) {
    if (known == jid) {
      return id;
    }
  }
  const std::int64_t id = intern_jid(db, jid);
  learned_.emplace_back(jid, id);
  return id;
}

void WriteContext::lock(Connection& db, const std::vector<std::int64_t>& users,
                        const std::vector<std::int64_t>& rooms) {
  std::vector<std::int64_t> wanted;
  for (const std::int64_t id : users) {
    if (counters_.count(id) == 0) {
      wanted.push_back(id);
    }
  }
  if (wanted.empty() && rooms.empty()) {
    return;
  }
  std::sort(wanted.begin(), wanted.end());
  wanted.erase(std::unique(wanted.begin(), wanted.end()), wanted.end());
  const Dialect& dialect = db.dialect();
  // Kept alive while the rows are read (SQLite binds without copying).
  const std::string user_list = dialect.list(wanted);
  const std::string room_list = dialect.list(rooms);
  Rows rows = db.query(dialect.lock_streams, {user_list, room_list});
  while (rows.next()) {
    const std::int64_t id = rows.integer(0);
    if (counters_.count(id) == 0) {
      Held held;
      held.counter =
          StreamCounter{static_cast<std::uint64_t>(rows.integer(1)),
                        static_cast<std::uint64_t>(rows.integer(2)), rows.integer(3) != 0};
      counters_.emplace(id, held);
    }
  }
}

WriteContext::Held& WriteContext::held(Connection& db, std::int64_t id) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto it = counters_.find(id);
    if (it != counters_.end()) {
      return it->second;
    }
    lock(db, {id});
    if (attempt == 0 && counters_.count(id) == 0) {
      create_stream(db, id);  // a JID recorded before its counter existed
    }
  }
  auto it = counters_.find(id);
  if (it == counters_.end()) {
    throw DbError(Failure::internal, "no stream counter for JID number " + std::to_string(id));
  }
  return it->second;
}

bool WriteContext::has_account(Connection& db, std::int64_t user) {
  return held(db, user).counter.account;
}

std::uint64_t WriteContext::next_sequence(Connection& db, std::int64_t owner,
                                          const std::vector<std::int64_t>& readers,
                                          std::vector<std::uint64_t>* prevs,
                                          std::uint64_t at_least) {
  std::uint64_t floor = held(db, owner).counter.last;
  if (at_least > 0) {
    floor = std::max(floor, at_least - 1);
  }
  for (const std::int64_t reader : readers) {
    floor = std::max(floor, held(db, reader).counter.last);
  }
  const std::int64_t now = clock_();
  const std::uint64_t sequence = (now > 0 && static_cast<std::uint64_t>(now) > floor)
                                     ? static_cast<std::uint64_t>(now)
                                     : floor + 1;
  auto change = [this](std::int64_t id) -> StreamCounter& {
    Held& entry = counters_.at(id);
    undo_.emplace_back(id, entry);
    entry.changed = true;
    return entry.counter;
  };
  change(owner).last = sequence;
  for (const std::int64_t reader : readers) {
    StreamCounter& counter = change(reader);
    if (prevs != nullptr) {
      prevs->push_back(counter.pushed);
    }
    counter.last = sequence;
    counter.pushed = sequence;
  }
  return sequence;
}

void WriteContext::rollback(const Mark& mark) {
  while (undo_.size() > mark.undo) {
    auto& [id, before] = undo_.back();
    counters_[id] = before;
    undo_.pop_back();
  }
  deliveries_.resize(mark.deliveries);
  notices_.resize(mark.notices);
  hooks_.resize(mark.hooks);
  logouts_.resize(mark.logouts);
}

std::vector<std::pair<std::int64_t, StreamCounter>> WriteContext::changed() const {
  std::vector<std::pair<std::int64_t, StreamCounter>> result;
  for (const auto& [id, entry] : counters_) {
    if (entry.changed) {
      result.emplace_back(id, entry.counter);
    }
  }
  std::sort(result.begin(), result.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  return result;
}

Link::Link(std::function<std::unique_ptr<Connection>()> open, Log log, std::string name)
    : open_(std::move(open)), log_(std::move(log)), name_(std::move(name)) {}

Connection& Link::get() {
  if (connection_) {
    return *connection_;
  }
  const auto now = std::chrono::steady_clock::now();
  if (now < retry_at_) {
    throw DbError(Failure::unavailable, "database unavailable (" + name_ + ")");
  }
  try {
    connection_ = open_();
  } catch (const DbError& error) {
    backoff_ = backoff_.count() == 0 ? kFirstBackoff : std::min(backoff_ * 2, kMaxBackoff);
    retry_at_ = std::chrono::steady_clock::now() + backoff_;
    if (!reported_) {
      log_(std::string(error.what()) + " (" + name_ + ")");
      reported_ = true;
    }
    throw;
  }
  if (reported_) {
    log_("connection restored (" + name_ + ")");
    reported_ = false;
  }
  backoff_ = std::chrono::milliseconds{0};
  return *connection_;
}

void Link::lost() {
  if (connection_ && !reported_) {
    log_("connection lost (" + name_ + ")");
    reported_ = true;
  }
  connection_.reset();
}

Store::Store(std::unique_ptr<ConnectionFactory> factory, std::unique_ptr<Connection> writer,
             StoreOptions options, Dispatcher& dispatcher)
    : factory_(std::move(factory)),
      options_(std::move(options)),
      dispatcher_(dispatcher),
      writer_link_([this] { return factory_->open_writer(); }, options_.log, "writer") {
  writer_link_.adopt(std::move(writer));
  if (options_.max_batch == 0) {
    options_.max_batch = 1;
  }
  writer_ = std::thread([this] { writer_loop(); });
  const std::size_t readers = options_.readers == 0 ? 1 : options_.readers;
  for (std::size_t i = 0; i < readers; ++i) {
    readers_.emplace_back([this, i] { reader_loop(i); });
  }
}

Store::~Store() {
  {
    std::lock_guard lock(write_mutex_);
    stopping_.store(true);
  }
  {
    std::lock_guard lock(read_mutex_);  // a reader between its check and its wait sees it
  }
  write_ready_.notify_all();
  read_ready_.notify_all();
  if (writer_.joinable()) {
    writer_.join();
  }
  for (auto& reader : readers_) {
    reader.join();
  }
  // Requests made by completions while the threads were stopping.
  for (auto& job : write_queue_) {
    job->failed(Failure::unavailable);
  }
  for (auto& job : read_queue_) {
    job->failed(Failure::unavailable);
  }
}

void Store::write(std::unique_ptr<WriteJob> job) {
  {
    std::lock_guard lock(write_mutex_);
    write_queue_.push_back(std::move(job));
  }
  write_ready_.notify_one();
}

void Store::read(std::unique_ptr<ReadJob> job) {
  {
    std::lock_guard lock(read_mutex_);
    read_queue_.push_back(std::move(job));
  }
  read_ready_.notify_one();
}

void Store::writer_loop() {
  for (;;) {
    Jobs jobs;
    {
      std::unique_lock lock(write_mutex_);
      write_ready_.wait(lock, [this] { return stopping_ || !write_queue_.empty(); });
      if (write_queue_.empty()) {
        return;  // stopping, and everything accepted is done
      }
      while (!write_queue_.empty() && jobs.size() < options_.max_batch) {
        jobs.push_back(std::move(write_queue_.front()));
        write_queue_.pop_front();
      }
    }
    commit(jobs);
  }
}

void Store::fail_remaining(Jobs& jobs, std::vector<bool>& done, Failure failure) {
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    if (!done[i]) {
      done[i] = true;
      jobs[i]->failed(failure);
    }
  }
}

void Store::commit(Jobs& jobs) {
  std::vector<bool> done(jobs.size(), false);
  for (int round = 0; round < 2; ++round) {
    Connection* db = nullptr;
    try {
      db = &writer_link_.get();
    } catch (const DbError& error) {
      fail_remaining(jobs, done, error.failure());
      return;
    }
    if (attempt(*db, jobs, done, round == 0)) {
      return;
    }
  }
  fail_remaining(jobs, done, Failure::unavailable);
}

void Store::begin(Connection& db, Jobs& jobs, const std::vector<bool>& done,
                  WriteContext& context) {
  const Dialect& dialect = factory_->dialect();
  Declaration declaration;
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    if (!done[i]) {
      jobs[i]->declare(declaration);
    }
  }
  db.set_tag(-1);
  db.queue(dialect.begin_write);  // PostgreSQL: sent with the statements below
  std::vector<std::int64_t> users;
  std::vector<std::int64_t> rooms;
  for (const std::string& jid : declaration.users()) {
    users.push_back(context.jid(db, jid));
  }
  auto existing = [&](const std::string& jid) -> std::optional<std::int64_t> {
    if (auto id = jids_.find(jid)) {
      return id;
    }
    auto id = find_jid(db, jid);
    if (id) {
      context.learned().emplace_back(jid, *id);  // committed: safe to remember
    }
    return id;
  };
  for (const std::string& jid : declaration.existing()) {
    if (auto id = existing(jid)) {
      users.push_back(*id);
    }
  }
  for (const std::string& jid : declaration.rooms()) {
    if (auto id = existing(jid)) {
      users.push_back(*id);
      rooms.push_back(*id);
    }
  }
  context.lock(db, users, rooms);
}

bool Store::attempt(Connection& db, Jobs& jobs, std::vector<bool>& done, bool may_retry) {
  bool commit_sent = false;
  int conflicts = 0;
  std::optional<WriteContext> context;
  auto rollback = [&db] {
    db.set_tag(-1);
    db.script("ROLLBACK");
  };
  try {
    // A request whose statements fail is taken out and the others run again
    // in a new transaction: no savepoint per request (each would cost a
    // round trip on PostgreSQL), and never a half-applied request.
    for (;;) {
      context.emplace(options_.clock, jids_);
      std::optional<std::size_t> failing;
      std::optional<std::size_t> rejected;
      std::string failure;
      bool keep_any = false;
      bool conflict = false;
      try {
        begin(db, jobs, done, *context);
        for (std::size_t i = 0; i < jobs.size(); ++i) {
          if (done[i]) {
            continue;
          }
          const auto mark = context->mark();
          const std::uint64_t changes = db.changes();
          bool keep = false;
          db.set_tag(static_cast<int>(i));
          try {
            keep = jobs[i]->run(db, *context);
          } catch (const DbError& error) {
            if (!db.healthy() || error.failure() == Failure::unavailable || error.transient()) {
              throw;
            }
            // A statement queued by an earlier request may be what failed.
            failing = error.tag() >= 0 ? static_cast<std::size_t>(error.tag()) : i;
            failure = error.what();
            break;
          } catch (const std::exception& error) {
            failing = i;
            failure = error.what();
            break;
          }
          if (keep) {
            keep_any = true;
          } else if (db.changes() == changes) {
            context->rollback(mark);  // it failed before changing anything
          } else {
            rejected = i;  // it failed after changing something: undo it all
            break;
          }
        }
        db.set_tag(-1);
        if (!failing && !rejected && keep_any) {
          write_counters(db, *context);
          if (options_.on_commit) {
            options_.on_commit(db, *context);
          }
          commit_sent = true;
          db.queue("COMMIT");
          db.sync();  // PostgreSQL: everything queued since the locks, one round trip
          commits_.fetch_add(1);
          jids_.publish(context->learned());
          break;
        }
      } catch (const DbError& error) {
        if (!db.healthy() || error.failure() == Failure::unavailable) {
          throw;
        }
        if (error.transient()) {
          conflict = true;
          failure = error.what();
        } else if (error.tag() >= 0 && !done[static_cast<std::size_t>(error.tag())]) {
          failing = static_cast<std::size_t>(error.tag());  // answered with the commit
          failure = error.what();
          commit_sent = false;
        } else {
          throw;
        }
      }
      if (conflict) {
        rollback();
        commit_sent = false;
        if (++conflicts > kConflictRetries) {
          throw DbError(Failure::internal, failure);
        }
        continue;  // the database chose this transaction to give way: again
      }
      if (failing || rejected) {
        // Take the request out, then run the others again.
        rollback();
        if (failing) {
          options_.log(failure);
          done[*failing] = true;
          jobs[*failing]->failed(Failure::internal);
        } else {
          done[*rejected] = true;
          jobs[*rejected]->committed();  // its own error; nothing of it is stored
        }
        continue;
      }
      rollback();  // nothing to keep
      context->learned().clear();
      break;
    }
  } catch (const std::exception& error) {
    const auto* db_error = dynamic_cast<const DbError*>(&error);
    const bool lost = !db.healthy();
    if (lost) {
      writer_link_.lost();
      if (may_retry && !commit_sent) {
        return false;  // nothing was stored: run the batch again on a new connection
      }
    } else {
      try {
        db.set_tag(-1);
        db.sync();
      } catch (const DbError&) {
        // What it says is what we are answering.
      }
      try {
        db.script("ROLLBACK");
      } catch (const DbError&) {
        // Nothing more to undo.
      }
      options_.log(error.what());
    }
    Failure failure = lost ? Failure::unavailable : Failure::internal;
    if (!lost && db_error != nullptr) {
      failure = db_error->failure();
    }
    fail_remaining(jobs, done, failure);
    return true;
  }

  if (context) {
    if (!context->deliveries().empty()) {
      dispatcher_.publish(std::move(context->deliveries()));
    }
    if (!context->notices().empty()) {
      dispatcher_.deliver_now(context->notices());
    }
    for (auto& hook : context->hooks()) {
      hook();
    }
  }
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    if (!done[i]) {
      done[i] = true;
      jobs[i]->committed();
    }
  }
  return true;
}

void Store::write_counters(Connection& db, WriteContext& context) {
  const auto changed = context.changed();
  if (changed.empty()) {
    return;
  }
  const Dialect& dialect = db.dialect();
  if (dialect.update_streams_lists) {
    std::vector<std::int64_t> owners;
    std::vector<std::uint64_t> lasts;
    std::vector<std::uint64_t> pusheds;
    for (const auto& [id, counter] : changed) {
      owners.push_back(id);
      lasts.push_back(counter.last);
      pusheds.push_back(counter.pushed);
    }
    const std::string owner_list = dialect.list(owners);
    const std::string last_list = dialect.list(lasts);
    const std::string pushed_list = dialect.list(pusheds);
    db.queue(dialect.update_streams, {owner_list, last_list, pushed_list});
    return;
  }
  for (const auto& [id, counter] : changed) {
    db.queue(dialect.update_streams, {id, static_cast<std::int64_t>(counter.last),
                                      static_cast<std::int64_t>(counter.pushed)});
  }
}

void Store::reader_loop(std::size_t index) {
  Link link([this] { return factory_->open_reader(); }, options_.log,
            "reader " + std::to_string(index + 1));
  for (;;) {
    std::unique_ptr<ReadJob> job;
    {
      std::unique_lock lock(read_mutex_);
      read_ready_.wait(lock, [this] { return !read_queue_.empty() || stopping_.load(); });
      if (read_queue_.empty()) {
        return;
      }
      job = std::move(read_queue_.front());
      read_queue_.pop_front();
    }
    run_read(*job, link);
  }
}

void Store::run_read(ReadJob& job, Link& link) {
  const Dialect& dialect = factory_->dialect();
  for (int round = 0; round < 2; ++round) {
    Connection* db = nullptr;
    try {
      db = &link.get();
    } catch (const DbError& error) {
      job.failed(error.failure());
      return;
    }
    try {
      if (job.snapshot()) {
        db->script(dialect.begin_read);
      }
      job.run(*db);
      if (job.snapshot()) {
        db->script("COMMIT");
      }
    } catch (const std::exception& error) {
      if (!db->healthy()) {
        link.lost();
        if (round == 0) {
          continue;  // reads are safe to repeat on a new connection
        }
        job.failed(Failure::unavailable);
        return;
      }
      if (job.snapshot()) {
        try {
          db->script("ROLLBACK");
        } catch (const DbError&) {
          // Nothing more to undo.
        }
      }
      options_.log(error.what());
      const auto* db_error = dynamic_cast<const DbError*>(&error);
      job.failed(db_error != nullptr ? db_error->failure() : Failure::internal);
      return;
    }
    job.complete();
    return;
  }
}

}  // namespace mimrest::sql::detail
