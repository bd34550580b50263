#include "sql/schema.hpp"

#include <string>
#include <vector>

namespace mimrest::sql::detail {

namespace {

struct Migration {
  int version;
  std::vector<const char*> statements;
};

// Never edit a released migration: add one. Table names carry a prefix, so a
// PostgreSQL database can be shared with other applications.
const std::vector<Migration>& migrations() {
  static const std::vector<Migration> list{
      {1,
       {
           "CREATE TABLE mimrest_schema (version {bigint} NOT NULL)",
           // The sequence: the highest archive number handed out (schema 1;
           // from schema 2 on, mimrest_streams).
           "CREATE TABLE mimrest_counters (name {text} PRIMARY KEY, value {bigint} NOT NULL)",
           "INSERT INTO mimrest_counters (name, value) VALUES ('sequence', 0)",
           // Every JID the database mentions, once: the other tables refer to
           // them by number, which keeps rows and indexes small.
           "CREATE TABLE mimrest_jids (id {id}, jid {text} NOT NULL UNIQUE)",
           "CREATE TABLE mimrest_users (jid {bigint} PRIMARY KEY, salt {blob} NOT NULL, "
           "iterations {bigint} NOT NULL, stored_key {blob} NOT NULL, server_key {blob} NOT NULL)",
           // One row per archived message and archive: seq is the sequence
           // number and the timestamp in microseconds at once (unique and
           // increasing in commit order). owner: the user or the room; peer:
           // the other party of a one-to-one row; kind: 0 sent, 1 received,
           // 2 room.
           "CREATE TABLE mimrest_archive (seq {bigint} PRIMARY KEY, owner {bigint} NOT NULL, "
           "peer {bigint}, kind {bigint} NOT NULL, stanza {text} NOT NULL)",
           "CREATE INDEX mimrest_archive_owner ON mimrest_archive (owner, seq)",
           "CREATE INDEX mimrest_archive_peer ON mimrest_archive (owner, peer, seq) "
           "WHERE peer IS NOT NULL",
           // state: bits 1 to, 2 from, 4 ask out, 8 ask in.
           "CREATE TABLE mimrest_roster (owner {bigint} NOT NULL, contact {bigint} NOT NULL, "
           "state {bigint} NOT NULL, position {bigint} NOT NULL, PRIMARY KEY (owner, contact))",
           // id: creation order (user_rooms lists in it).
           "CREATE TABLE mimrest_rooms (id {id}, jid {bigint} NOT NULL UNIQUE, "
           "name {text} NOT NULL, subject {text} NOT NULL)",
           // affiliation: 0 owner, 1 member; position: joining order.
           "CREATE TABLE mimrest_occupants (room {bigint} NOT NULL, member {bigint} NOT NULL, "
           "affiliation {bigint} NOT NULL, position {bigint} NOT NULL, "
           "PRIMARY KEY (room, member))",
           "CREATE INDEX mimrest_occupants_member ON mimrest_occupants (member)",
           // kind: 0 access, 1 refresh.
           "CREATE TABLE mimrest_tokens (hash {blob} PRIMARY KEY, owner {bigint} NOT NULL, "
           "family {blob} NOT NULL, kind {bigint} NOT NULL, expires {bigint} NOT NULL, "
           "spent {bigint} NOT NULL)",
           "CREATE INDEX mimrest_tokens_owner ON mimrest_tokens (owner)",
           "CREATE INDEX mimrest_tokens_family ON mimrest_tokens (family)",
           "CREATE INDEX mimrest_tokens_expires ON mimrest_tokens (expires)",
           "INSERT INTO mimrest_schema (version) VALUES (0)",
       }},
      {2,
       {
           // Order per stream instead of one counter for the whole service
           // (README, "Sequences"): every JID, user or room, has a counter
           // row, locked by the write transactions that touch it. last: the
           // highest sequence of its archive or stream; pushed: the last
           // item of its stream. Both start at the old counter, so every
           // sequence handed out from now on is above every earlier one.
           "CREATE TABLE mimrest_streams (owner {bigint} PRIMARY KEY, last {bigint} NOT NULL, "
           "pushed {bigint} NOT NULL)",
           "INSERT INTO mimrest_streams (owner, last, pushed) SELECT j.id, c.value, c.value "
           "FROM mimrest_jids j, mimrest_counters c WHERE c.name = 'sequence'",
           // Sequences are unique per archive, no longer across archives:
           // the key is (owner, seq).
           "CREATE TABLE mimrest_archive_v2 (owner {bigint} NOT NULL, seq {bigint} NOT NULL, "
           "peer {bigint}, kind {bigint} NOT NULL, stanza {text} NOT NULL, "
           "PRIMARY KEY (owner, seq))",
           "INSERT INTO mimrest_archive_v2 (owner, seq, peer, kind, stanza) "
           "SELECT owner, seq, peer, kind, stanza FROM mimrest_archive",
           "DROP TABLE mimrest_archive",
           "ALTER TABLE mimrest_archive_v2 RENAME TO mimrest_archive",
           "CREATE INDEX mimrest_archive_peer ON mimrest_archive (owner, peer, seq) "
           "WHERE peer IS NOT NULL",
           // NOTIFY payloads too large for NOTIFY, read by the other
           // processes (created: microseconds, for purging).
           "CREATE TABLE mimrest_notices (id {id}, created {bigint} NOT NULL, "
           "payload {text} NOT NULL)",
       }},
  };
  return list;
}

int read_version(Connection& db) {
  if (db.integer_or(db.dialect().table_exists, {"mimrest_schema"}, 0) == 0) {
    return 0;
  }
  return static_cast<int>(db.integer_or("SELECT max(version) FROM mimrest_schema", {}, 0));
}

}  // namespace

int schema_version(Connection& db) {
  return read_version(db);
}

void migrate(Connection& db) {
  const Dialect& dialect = db.dialect();
  db.script(dialect.begin_write);
  try {
    if (!dialect.migration_lock.empty()) {
      db.query(dialect.migration_lock).next();
    }
    const int version = read_version(db);
    if (version == 0 && !dialect.foreign_tables.empty() &&
        db.integer_or(dialect.foreign_tables, {}, 0) > 0) {
      throw DbError(Failure::internal,
                    "not a mimrest database: it holds tables of another application");
    }
    if (version > kSchemaVersion) {
      throw DbError(Failure::internal, "the database has schema version " +
                                           std::to_string(version) +
                                           ", newer than this build supports (" +
                                           std::to_string(kSchemaVersion) + ")");
    }
    for (const Migration& migration : migrations()) {
      if (migration.version <= version) {
        continue;
      }
      for (const char* statement : migration.statements) {
        db.script(dialect.ddl(statement));
      }
      db.execute("UPDATE mimrest_schema SET version = $1",
                 {static_cast<std::int64_t>(migration.version)});
    }
    db.script("COMMIT");
  } catch (...) {
    try {
      db.script("ROLLBACK");
    } catch (const DbError&) {
      // The connection is gone; the transaction went with it.
    }
    throw;
  }
}

}  // namespace mimrest::sql::detail
