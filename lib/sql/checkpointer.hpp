// Internal: SQLite's write-ahead log checkpoints, off the writer's commit
// path (see README, "Durability"). SQLite's own automatic checkpoint runs in
// the connection that commits, after its commit: copying the log into the
// database and syncing it made every thousandth write request wait for it.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "core/detail/test_export.hpp"
#include "sql/connection.hpp"
#include "sql/store.hpp"

namespace mimrest::sql::detail {

struct CheckpointOptions {
  std::string path;
  bool full_sync = false;
  /// A checkpoint starts once the log holds this many frames (pages; SQLite's
  /// own automatic checkpoint starts at 1000).
  int threshold_frames = 1000;
  /// A log that still holds this many frames after a checkpoint (readers or
  /// a writer faster than the checkpoints kept it from starting over) gets a
  /// RESTART checkpoint: it waits for the readers and holds the writer back
  /// until the log starts over. The log cannot grow without limit.
  int cap_frames = 16384;
  /// How often a log that grew is checkpointed anyway (when idle).
  std::chrono::milliseconds interval{1000};
  Log log;
};

/// A thread with its own connection that checkpoints the log: PASSIVE (never
/// in the writer's way) whenever the writer's commits took it past the
/// threshold, RESTART beyond the cap. The writer's connection is opened with
/// SqliteOptions::on_commit_wal calling committed().
class MIMREST_TEST_EXPORT Checkpointer {
 public:
  explicit Checkpointer(CheckpointOptions options);
  /// Finishes the checkpoint under way, if any.
  ~Checkpointer();
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

  /// After a commit (the writer's thread): `frames` in the log. Cheap.
  void committed(int frames);

  /// Checkpoints run so far, and of them RESTART ones (tests, monitoring).
  std::uint64_t checkpoints() const noexcept { return checkpoints_.load(); }
  std::uint64_t restarts() const noexcept { return restarts_.load(); }

 private:
  void run();
  /// One checkpoint (PASSIVE, RESTART) on the thread's own connection.
  void checkpoint(const char* mode);

  CheckpointOptions options_;
  std::unique_ptr<Connection> connection_;
  std::mutex mutex_;
  std::condition_variable wake_;
  int frames_ = 0;    // in the log after the last commit
  bool due_ = false;  // frames_ passed the threshold
  bool stopping_ = false;
  bool reported_ = false;
  std::atomic<std::uint64_t> checkpoints_{0};
  std::atomic<std::uint64_t> restarts_{0};
  std::thread thread_;
};

}  // namespace mimrest::sql::detail
