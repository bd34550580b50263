#include "sql/sqlite_driver.hpp"

#include <sqlite3.h>

#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace mimrest::sql::detail {

namespace {

[[noreturn]] void fail(sqlite3* db, int code, std::string_view what) {
  const int primary = code & 0xff;
  const Failure failure = (primary == SQLITE_BUSY || primary == SQLITE_LOCKED)
                              ? Failure::unavailable
                              : Failure::internal;
  std::string message = "sqlite: ";
  message += what;
  message += ": ";
  message += db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(code);
  throw DbError(failure, message);
}

/// A prepared statement and where each parameter $n is bound.
struct Statement {
  sqlite3_stmt* handle = nullptr;
  std::vector<int> index;  // index[n - 1]: SQLite's index of "$n"
  bool in_use = false;
};

void finalize(Statement& statement) {
  sqlite3_finalize(statement.handle);
  statement.handle = nullptr;
}

class SqliteConnection;

class SqliteRows final : public Rows::Source {
 public:
  SqliteRows(sqlite3* db, Statement* statement, bool owned)
      : db_(db), statement_(statement), owned_(owned) {}
  ~SqliteRows() override {
    sqlite3_reset(statement_->handle);
    if (owned_) {
      finalize(*statement_);
      delete statement_;
    } else {
      statement_->in_use = false;
    }
  }
  SqliteRows(const SqliteRows&) = delete;
  SqliteRows& operator=(const SqliteRows&) = delete;

  bool next() override {
    if (done_) {
      return false;
    }
    const int rc = sqlite3_step(statement_->handle);
    if (rc == SQLITE_ROW) {
      return true;
    }
    done_ = true;
    if (rc != SQLITE_DONE) {
      fail(db_, rc, "step");
    }
    return false;
  }
  bool is_null(int column) const override {
    return sqlite3_column_type(statement_->handle, column) == SQLITE_NULL;
  }
  std::int64_t integer(int column) const override {
    return sqlite3_column_int64(statement_->handle, column);
  }
  std::string text(int column) const override {
    const auto* data = sqlite3_column_text(statement_->handle, column);
    const int size = sqlite3_column_bytes(statement_->handle, column);
    return data == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(data), size);
  }
  std::string blob(int column) const override {
    const void* data = sqlite3_column_blob(statement_->handle, column);
    const int size = sqlite3_column_bytes(statement_->handle, column);
    return data == nullptr ? std::string() : std::string(static_cast<const char*>(data), size);
  }

 private:
  sqlite3* db_;
  Statement* statement_;
  bool owned_;
  bool done_ = false;
};

class SqliteConnection final : public Connection {
 public:
  explicit SqliteConnection(sqlite3* db) : db_(db) {}
  ~SqliteConnection() override {
    for (auto& entry : statements_) {
      finalize(entry.second);
    }
    sqlite3_close_v2(db_);
  }
  SqliteConnection(const SqliteConnection&) = delete;
  SqliteConnection& operator=(const SqliteConnection&) = delete;

  const Dialect& dialect() const noexcept override { return Dialect::sqlite(); }

  /// Replaces automatic checkpoints by a call after each commit.
  void on_commit_wal(std::function<void(int)> hook) {
    wal_hook_ = std::move(hook);
    sqlite3_wal_hook(db_, &SqliteConnection::wal_committed, this);
  }

  Rows query(std::string_view sql, Params params) override {
    auto [statement, owned] = acquire(sql);
    try {
      bind(*statement, params);
    } catch (...) {
      sqlite3_reset(statement->handle);
      if (owned) {
        finalize(*statement);
        delete statement;
      } else {
        statement->in_use = false;
      }
      throw;
    }
    return Rows(std::make_unique<SqliteRows>(db_, statement, owned));
  }

  std::int64_t execute(std::string_view sql, Params params) override {
    Rows rows = query(sql, params);
    while (rows.next()) {
    }
    return sqlite3_changes(db_);
  }

  void script(std::string_view sql) override {
    const std::string text(sql);
    char* error = nullptr;
    const int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &error);
    if (rc != SQLITE_OK) {
      std::string message = error != nullptr ? error : sqlite3_errstr(rc);
      sqlite3_free(error);
      const int primary = rc & 0xff;
      throw DbError((primary == SQLITE_BUSY || primary == SQLITE_LOCKED) ? Failure::unavailable
                                                                         : Failure::internal,
                    "sqlite: " + message);
    }
  }

  bool healthy() const noexcept override { return true; }
  std::uint64_t changes() const noexcept override {
    return static_cast<std::uint64_t>(sqlite3_total_changes(db_));
  }

 private:
  static int wal_committed(void* self, sqlite3* /*db*/, const char* /*name*/, int frames) {
    static_cast<SqliteConnection*>(self)->wal_hook_(frames);
    return SQLITE_OK;
  }

  Statement prepare(std::string_view sql) {
    Statement statement;
    const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                      SQLITE_PREPARE_PERSISTENT, &statement.handle, nullptr);
    if (rc != SQLITE_OK) {
      sqlite3_finalize(statement.handle);
      fail(db_, rc, "prepare");
    }
    const int count = sqlite3_bind_parameter_count(statement.handle);
    for (int n = 1; n <= count; ++n) {
      const std::string name = "$" + std::to_string(n);
      statement.index.push_back(sqlite3_bind_parameter_index(statement.handle, name.c_str()));
    }
    return statement;
  }

  /// The cached statement for `sql`, or a fresh one owned by the caller when
  /// the cached one is still being read.
  std::pair<Statement*, bool> acquire(std::string_view sql) {
    auto it = statements_.find(std::string(sql));
    if (it == statements_.end()) {
      it = statements_.emplace(std::string(sql), prepare(sql)).first;
    }
    if (!it->second.in_use) {
      it->second.in_use = true;
      return {&it->second, false};
    }
    return {new Statement(prepare(sql)), true};
  }

  void bind(Statement& statement, Params params) {
    sqlite3_reset(statement.handle);
    sqlite3_clear_bindings(statement.handle);
    int n = 0;
    for (const Param& param : params) {
      ++n;
      if (static_cast<std::size_t>(n) > statement.index.size() || statement.index[n - 1] == 0) {
        throw DbError(Failure::internal, "sqlite: no parameter $" + std::to_string(n));
      }
      const int at = statement.index[n - 1];
      int rc = SQLITE_OK;
      switch (param.kind) {
        case Param::Kind::null:
          rc = sqlite3_bind_null(statement.handle, at);
          break;
        case Param::Kind::integer:
          rc = sqlite3_bind_int64(statement.handle, at, param.integer);
          break;
        case Param::Kind::text:
          rc = sqlite3_bind_text64(statement.handle, at, param.bytes.data(), param.bytes.size(),
                                   SQLITE_STATIC, SQLITE_UTF8);
          break;
        case Param::Kind::blob:
          // A zero-length blob must not be bound as NULL.
          rc = sqlite3_bind_blob64(statement.handle, at,
                                   param.bytes.empty() ? "" : param.bytes.data(),
                                   param.bytes.size(), SQLITE_STATIC);
          break;
      }
      if (rc != SQLITE_OK) {
        fail(db_, rc, "bind");
      }
    }
  }

  sqlite3* db_;
  std::unordered_map<std::string, Statement> statements_;
  std::function<void(int)> wal_hook_;
};

}  // namespace

std::unique_ptr<Connection> open_sqlite(const SqliteOptions& options) {
  sqlite3* db = nullptr;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
  if (options.create) {
    flags |= SQLITE_OPEN_CREATE;
  }
  const int rc = sqlite3_open_v2(options.path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = "cannot open SQLite database " + options.path + ": " +
                          (db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    sqlite3_close_v2(db);
    throw DbError(Failure::unavailable, message);
  }
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, options.busy_timeout_ms);
  auto connection = std::make_unique<SqliteConnection>(db);
  std::string pragmas =
      options.full_sync ? "PRAGMA synchronous=FULL;" : "PRAGMA synchronous=NORMAL;";
  if (options.query_only) {
    pragmas += "PRAGMA query_only=1;";
  }
  connection->script(pragmas);
  if (options.on_commit_wal) {
    connection->on_commit_wal(options.on_commit_wal);
  }
  return connection;
}

}  // namespace mimrest::sql::detail
