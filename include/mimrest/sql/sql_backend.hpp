// The durable backend: users, routing, MAM archives, RFC 6121 rosters, MUC
// Light rooms, sessions, Bearer tokens and the event log, stored in SQLite
// (embedded, the default) or PostgreSQL (several processes on one database
// are one service: live delivery crosses processes through LISTEN/NOTIFY).
//
// Every operation completes on the backend's own threads (one writer that
// commits many requests per transaction, and a pool of readers, each with its
// own connection); a caller is never blocked. A success is reported only
// after the change is committed. A database error completes the operation
// with Failure::internal (or the interface's `internal` kind) and writes one
// line to the log; a PostgreSQL server that cannot be reached completes it
// with Failure::unavailable until the connection is back.
//
// Thread-safety: every member function and every interface handed out by
// backend() may be called concurrently. Stanzas are delivered to StanzaSinks
// after the commit, with no lock held, in increasing sequence order per
// process. The account functions of ReferenceBackend block until committed:
// do not call them from a StanzaSink or a completion.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "mimrest/backend/backend.hpp"
#include "mimrest/backend/reference_backend.hpp"
#include "mimrest/expected.hpp"
#include "mimrest/export.hpp"
#include "mimrest/jid.hpp"

namespace mimrest::sql {

struct MIMREST_EXPORT SqlConfig {
  enum class Type { sqlite, postgresql };
  /// SQLite's PRAGMA synchronous: `normal` survives a crash of the process
  /// (WAL), `full` also a power loss. PostgreSQL follows the server's settings.
  enum class Sync { normal, full };

  Type type = Type::sqlite;
  /// SQLite: the database file (created when missing).
  std::string path = "mimrest.db";
  /// PostgreSQL: a libpq connection string or URL
  /// ("postgresql://user@host:5432/db").
  std::string url;
  Sync sync = Sync::normal;
  HostingConfig hosting;
  /// Reader connections (each with its own thread); the writer and, on
  /// PostgreSQL, the listener have one more connection each.
  std::size_t pool_size = 4;
  /// At most this many write requests are committed in one transaction.
  std::size_t max_batch = 256;
  /// How long opening (or re-opening) a connection may take.
  std::chrono::milliseconds connect_timeout{10000};
  /// Receives one line per database error (and per lost or restored
  /// connection), from the backend's threads; stderr when empty.
  std::function<void(std::string_view)> log;
};

class MIMREST_EXPORT SqlBackend final : public ReferenceBackend {
 public:
  /// Opens (creating or migrating the schema) or fails with a message that
  /// says why: unreachable server, a file that is not a mimrest database, a
  /// schema newer than this build. Returns within connect_timeout plus the
  /// time migrations take.
  static Expected<std::unique_ptr<SqlBackend>, std::string> open(SqlConfig config);

  /// Finishes every request already accepted, then closes the connections.
  ~SqlBackend() override;
  SqlBackend(const SqlBackend&) = delete;
  SqlBackend& operator=(const SqlBackend&) = delete;

  Backend backend() override;

  AccountResult add_user(const Jid& user, std::string_view password) override;
  AccountResult set_password(const Jid& user, std::string_view password) override;
  AccountResult remove_user(const Jid& user) override;
  Expected<std::vector<Jid>, Error<AccountError>> list_users() override;
  Expected<bool, Error<AccountError>> user_exists(const Jid& user) override;
  std::size_t session_count(const Jid& user) const override;

  const SqlConfig& config() const noexcept;

  struct Impl;

 private:
  explicit SqlBackend(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// The schema version this build creates and reads.
MIMREST_EXPORT int sql_schema_version() noexcept;

}  // namespace mimrest::sql
