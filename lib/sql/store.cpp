#include "sql/store.hpp"

#include "sql/queries.hpp"

#include <exception>
#include <optional>
#include <utility>

namespace mimrest::sql::detail {

namespace {

constexpr std::chrono::milliseconds kFirstBackoff{100};
constexpr std::chrono::milliseconds kMaxBackoff{2000};
// PostgreSQL drops NOTIFY payloads of 8000 bytes or more.
constexpr std::size_t kMaxPayload = 7900;

}  // namespace

std::int64_t WriteContext::jid(Connection& db, const std::string& jid) {
  if (auto id = jids_.find(jid)) {
    return *id;
  }
  const std::int64_t id = intern_jid(db, jid);
  learned_.emplace_back(jid, id);
  return id;
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

bool Store::attempt(Connection& db, Jobs& jobs, std::vector<bool>& done, bool may_retry) {
  const Dialect& dialect = factory_->dialect();
  bool commit_sent = false;
  std::optional<WriteContext> context;
  try {
    // A request whose statements fail is taken out and the others run again
    // in a new transaction: no savepoint per request (each would cost a
    // round trip on PostgreSQL), and never a half-applied request.
    for (;;) {
      db.script(dialect.begin_write);
      context.emplace(static_cast<std::uint64_t>(db.integer_or(dialect.lock_counter, {}, 0)),
                      options_.clock, jids_);
      std::optional<std::size_t> failing;
      std::optional<std::size_t> rejected;
      std::string failure;
      bool keep_any = false;
      for (std::size_t i = 0; i < jobs.size(); ++i) {
        if (done[i]) {
          continue;
        }
        const auto mark = context->mark();
        const std::uint64_t changes = db.changes();
        bool keep = false;
        try {
          keep = jobs[i]->run(db, *context);
        } catch (const DbError& error) {
          if (!db.healthy() || error.failure() == Failure::unavailable) {
            throw;
          }
          failing = i;
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
      if (failing || rejected) {
        // Take the request out, then run the others again.
        db.script("ROLLBACK");
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
      if (!keep_any) {
        db.script("ROLLBACK");
        break;
      }
      if (context->last() != context->prev()) {
        db.execute("UPDATE mimrest_counters SET value = $1 WHERE name = 'sequence'",
                   {static_cast<std::int64_t>(context->last())});
      }
      if (options_.notify) {
        if (context->last() != context->prev()) {
          options_.notify(db, "r " + options_.node + " " + std::to_string(context->prev()) + " " +
                                  std::to_string(context->last()));
        }
        for (const Delivery& notice : context->notices()) {
          std::string payload = "n " + options_.node + " " +
                                notice.recipients.front().bare_string() + " " +
                                notice.stanza->xml();
          if (payload.size() <= kMaxPayload) {
            options_.notify(db, payload);
          }
        }
        for (const std::string& payload : context->payloads()) {
          options_.notify(db, payload.substr(0, 1) + " " + options_.node + payload.substr(1));
        }
      }
      commit_sent = true;
      db.script("COMMIT");
      commits_.fetch_add(1);
      jids_.publish(context->learned());
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
    if (context->last() > context->prev()) {
      dispatcher_.publish(
          Batch{context->prev(), context->last(), std::move(context->deliveries())});
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
