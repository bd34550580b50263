// Internal: the SQLite driver (one sqlite3 handle per Connection).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "core/detail/test_export.hpp"
#include "sql/connection.hpp"

namespace mimrest::sql::detail {

struct SqliteOptions {
  std::string path;
  /// Creates the file when missing (the writer); readers open what exists.
  bool create = false;
  /// PRAGMA query_only: a reader never writes.
  bool query_only = false;
  /// PRAGMA synchronous=FULL (else NORMAL).
  bool full_sync = false;
  /// How long a statement waits for another process's lock.
  int busy_timeout_ms = 5000;
  /// When set, called after each commit with the number of frames in the
  /// write-ahead log, and the connection never checkpoints by itself (no
  /// wal_autocheckpoint): a Checkpointer does it on its own connection.
  std::function<void(int)> on_commit_wal;
};

/// Opens a connection; throws DbError with a readable message on failure.
MIMREST_TEST_EXPORT std::unique_ptr<Connection> open_sqlite(const SqliteOptions& options);

}  // namespace mimrest::sql::detail
