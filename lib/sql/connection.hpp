// Internal: what the SQL backend needs from a database connection, the same
// for SQLite and PostgreSQL. Statements are written once, with parameters
// $1..$n (see dialect.hpp for the few differences between the two).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include "mimrest/backend/error.hpp"
#include "sql/dialect.hpp"

namespace mimrest::sql::detail {

/// A database error. `failure` says how to answer: `unavailable` when the
/// connection was lost (or could not be made), `internal` otherwise.
class DbError : public std::runtime_error {
 public:
  DbError(Failure failure, const std::string& message, bool transient = false, int tag = -1)
      : std::runtime_error(message), failure_(failure), transient_(transient), tag_(tag) {}
  Failure failure() const noexcept { return failure_; }
  /// The database aborted the transaction to resolve a conflict between
  /// transactions (a deadlock): the same statements may succeed when run
  /// again in a new one.
  bool transient() const noexcept { return transient_; }
  /// The tag of the statement that failed (Connection::set_tag), -1 when none.
  int tag() const noexcept { return tag_; }
  DbError tagged(int tag) const { return DbError(failure_, what(), transient_, tag); }

 private:
  Failure failure_;
  bool transient_;
  int tag_;
};

/// One statement parameter: NULL, an integer, text or bytes. Views: the
/// caller keeps the data alive during the call.
struct Param {
  enum class Kind { null, integer, text, blob };
  Kind kind = Kind::null;
  std::int64_t integer = 0;
  std::string_view bytes;

  Param() = default;
  Param(std::nullptr_t) {}  // NOLINT(google-explicit-constructor)
  Param(std::int64_t value) : kind(Kind::integer), integer(value) {}  // NOLINT
  Param(int value) : kind(Kind::integer), integer(value) {}           // NOLINT
  Param(std::string_view text) : kind(Kind::text), bytes(text) {}     // NOLINT
  Param(const std::string& text) : kind(Kind::text), bytes(text) {}   // NOLINT
  Param(const char* text) : kind(Kind::text), bytes(text) {}          // NOLINT
};

/// Bytes (SQLite BLOB, PostgreSQL bytea).
inline Param blob(std::string_view bytes) {
  Param param;
  param.kind = Param::Kind::blob;
  param.bytes = bytes;
  return param;
}

using Params = std::initializer_list<Param>;

/// The rows of one statement, read forward once.
class Rows {
 public:
  class Source {
   public:
    virtual ~Source() = default;
    virtual bool next() = 0;
    virtual bool is_null(int column) const = 0;
    virtual std::int64_t integer(int column) const = 0;
    virtual std::string text(int column) const = 0;
    virtual std::string blob(int column) const = 0;
  };

  explicit Rows(std::unique_ptr<Source> source) : source_(std::move(source)) {}
  /// Moves to the next row; false when there is none.
  bool next() { return source_->next(); }
  bool is_null(int column) const { return source_->is_null(column); }
  std::int64_t integer(int column) const { return source_->integer(column); }
  std::string text(int column) const { return source_->text(column); }
  std::string blob(int column) const { return source_->blob(column); }

 private:
  std::unique_ptr<Source> source_;
};

/// One connection, used by one thread at a time. Every function throws
/// DbError on failure.
class Connection {
 public:
  virtual ~Connection() = default;
  virtual const Dialect& dialect() const noexcept = 0;
  /// Runs one statement and returns its rows. The statement is prepared once
  /// per connection and reused. Only one Rows of a connection may be open at
  /// a time; read it before running the next statement.
  virtual Rows query(std::string_view sql, Params params = {}) = 0;
  /// Runs one statement; returns the number of rows it changed.
  virtual std::int64_t execute(std::string_view sql, Params params = {}) = 0;
  /// Runs statements without parameters (schema changes, BEGIN, COMMIT).
  virtual void script(std::string_view sql) = 0;
  /// Whether the connection is still usable (not lost).
  virtual bool healthy() const noexcept = 0;
  /// Rows inserted, updated or deleted through this connection so far (a
  /// queued statement counts as one until it is answered).
  virtual std::uint64_t changes() const noexcept = 0;

  /// Runs a statement whose answer nobody waits for. PostgreSQL sends it at
  /// once without waiting (pipeline mode) and reads its answer with the next
  /// call that waits (query, execute, script, sync): a batch of statements
  /// costs one round trip. A failure surfaces there, as a DbError tagged with
  /// the tag that was set when the statement was queued; the statements
  /// queued after a failed one are not run. SQLite runs it at once.
  virtual void queue(std::string_view sql, Params params = {}) {
    try {
      execute(sql, params);
    } catch (const DbError& error) {
      throw error.tagged(tag_);
    }
  }
  /// Waits for the answers of every queued statement.
  virtual void sync() {}
  /// Tags the statements queued from now on (see DbError::tag).
  void set_tag(int tag) noexcept { tag_ = tag; }
  int current_tag() const noexcept { return tag_; }

  /// The first column of the first row, or `fallback` when there is no row
  /// or it is NULL.
  std::int64_t integer_or(std::string_view sql, Params params, std::int64_t fallback) {
    Rows rows = query(sql, params);
    if (!rows.next() || rows.is_null(0)) {
      return fallback;
    }
    return rows.integer(0);
  }

 private:
  int tag_ = -1;
};

}  // namespace mimrest::sql::detail
