// Internal: the PostgreSQL driver, on libpq.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "core/detail/test_export.hpp"
#include "sql/connection.hpp"

namespace mimrest::sql::detail {

/// One asynchronous notification (LISTEN/NOTIFY).
struct Notification {
  std::string channel;
  std::string payload;
};

class PgConnection : public Connection {
 public:
  /// The socket, to wait for notifications with poll().
  virtual int socket() const noexcept = 0;
  /// Reads what the server sent and returns the notifications received;
  /// throws DbError (unavailable) when the connection is lost.
  virtual std::vector<Notification> notifications() = 0;
};

/// Connects within `timeout` (however many addresses the host has); throws
/// DbError(unavailable) with libpq's message when it cannot.
MIMREST_TEST_EXPORT std::unique_ptr<PgConnection> open_postgresql(
    const std::string& url, std::chrono::milliseconds timeout);

}  // namespace mimrest::sql::detail
