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
  DbError(Failure failure, const std::string& message)
      : std::runtime_error(message), failure_(failure) {}
  Failure failure() const noexcept { return failure_; }

 private:
  Failure failure_;
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
  /// Rows inserted, updated or deleted through this connection so far.
  virtual std::uint64_t changes() const noexcept = 0;

  /// The first column of the first row, or `fallback` when there is no row
  /// or it is NULL.
  std::int64_t integer_or(std::string_view sql, Params params, std::int64_t fallback) {
    Rows rows = query(sql, params);
    if (!rows.next() || rows.is_null(0)) {
      return fallback;
    }
    return rows.integer(0);
  }
};

}  // namespace mimrest::sql::detail
