// Internal: every difference between the SQLite and the PostgreSQL dialect
// the backend relies on, in one place. Everything else - every statement that
// reads or changes data - is one text for both, with parameters $1..$n
// (SQLite reads "$1" as a named parameter; the drivers bind by number).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

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
  /// Reads the stream counters (mimrest_streams) of the JIDs in the list $1
  /// and of the occupants of the rooms (room JIDs) in the list $2, ordered
  /// by JID number: owner, last, pushed, and whether the JID has an account.
  /// On PostgreSQL it also locks those rows until the commit, in that order
  /// (FOR UPDATE): writes that touch the same users or rooms are serialised,
  /// others never wait for each other (see README, "Sequences").
  std::string_view lock_streams;
  /// Writes the counters back: PostgreSQL, all at once from the lists $1
  /// (owners), $2 (last), $3 (pushed); SQLite, one row: $1 owner, $2 last,
  /// $3 pushed.
  std::string_view update_streams;
  /// Whether update_streams takes lists.
  bool update_streams_lists;
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
  /// A list of numbers as the one parameter that lock_streams and
  /// update_streams read as a list ("{1,2}" / "[1,2]").
  std::string list(const std::vector<std::int64_t>& values) const;
  std::string list(const std::vector<std::uint64_t>& values) const;

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
