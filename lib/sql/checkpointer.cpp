#include "sql/checkpointer.hpp"

#include <utility>

#include "sql/sqlite_driver.hpp"

namespace mimrest::sql::detail {

Checkpointer::Checkpointer(CheckpointOptions options) : options_(std::move(options)) {
  thread_ = std::thread([this] { run(); });
}

Checkpointer::~Checkpointer() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void Checkpointer::committed(int frames) {
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    frames_ = frames;
    if (frames >= options_.threshold_frames && !due_) {
      due_ = true;
      wake = true;
    }
  }
  if (wake) {
    wake_.notify_one();
  }
}

void Checkpointer::checkpoint(const char* mode) {
  if (!connection_) {
    SqliteOptions open;
    open.path = options_.path;
    open.full_sync = options_.full_sync;
    // A RESTART holds the writer back while it waits for readers: briefly,
    // then it gives up until the next time.
    open.busy_timeout_ms = 100;
    connection_ = open_sqlite(open);
  }
  connection_->query(std::string("PRAGMA wal_checkpoint(") + mode + ")").next();
  checkpoints_.fetch_add(1);
}

void Checkpointer::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait_for(lock, options_.interval, [this] { return stopping_ || due_; });
    if (stopping_) {
      return;
    }
    if (!due_ && frames_ == 0) {
      continue;  // nothing written since the log started over
    }
    const int frames = frames_;
    due_ = false;
    frames_ = 0;
    lock.unlock();
    try {
      checkpoint("PASSIVE");
      if (frames >= options_.cap_frames) {
        // The log did not start over since it was this long: the writer
        // never began a transaction while it was all copied (it is busy),
        // or readers kept old frames. Wait for them, then it starts over.
        checkpoint("RESTART");
        restarts_.fetch_add(1);
      }
      reported_ = false;
    } catch (const DbError& error) {
      if (!reported_ && options_.log) {
        options_.log(std::string(error.what()) + " (checkpoint)");
        reported_ = true;
      }
      connection_.reset();
    }
    lock.lock();
  }
}

}  // namespace mimrest::sql::detail
