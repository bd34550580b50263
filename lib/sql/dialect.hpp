// Internal: every difference between the SQLite and the PostgreSQL dialect
// the backend relies on, in one place. Everything else - every statement that
// reads or changes data - is one text for both, with parameters $1..$n
// (SQLite reads "$1" as a named parameter; the drivers bind by number).
#pragma once

#include <string>
#include <string_view>

#include "core/detail/test_export.hpp"

namespace mimrest::sql::detail {

enum class DialectType { sqlite, postgresql };

struct MIMREST_TEST_EXPORT Dialect {
  DialectType type;
  /// Starts a write transaction. SQLite takes the database's write lock at
  /// once (IMMEDIATE), so a transaction never fails half-way for a lock.
  std::string_view begin_write;
  /// Starts a read transaction that sees one snapshot.
  std::string_view begin_read;
  /// Reads the sequence counter at the start of every write transaction. On
  /// PostgreSQL it also locks the counter row until the commit: write
  /// transactions of every node are serialised on it (see README).
  std::string_view lock_counter;
  /// Serialises schema migrations between processes opening the database at
  /// once (empty on SQLite, where begin_write already does).
  std::string_view migration_lock;
  /// One row, one column: 1 when the table named $1 exists, else 0.
  std::string_view table_exists;
  /// One row, one column: how many tables of other applications the
  /// database holds. SQLite only (a file is one application's); empty on
  /// PostgreSQL, where a database is often shared.
  std::string_view foreign_tables;
  /// A schema statement written with the portable type names below, in the
  /// dialect's own.
  std::string ddl(std::string_view portable) const;

  static const Dialect& sqlite();
  static const Dialect& postgresql();
};

// Portable type names in schema text (see Dialect::ddl):
//   {id}     an integer key the database assigns on insert: SQLite's rowid
//            alias INTEGER PRIMARY KEY, PostgreSQL's BIGINT identity
//   {bigint} a 64-bit integer (INTEGER / BIGINT)
//   {blob}   bytes (BLOB / BYTEA)
//   {text}   text (TEXT on both)

}  // namespace mimrest::sql::detail
