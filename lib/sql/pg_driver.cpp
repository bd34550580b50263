#include "sql/pg_driver.hpp"

#include <libpq-fe.h>
#include <poll.h>

#include <cerrno>
#include <cstring>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace mimrest::sql::detail {

namespace {

/// libpq's message without its trailing newline.
std::string trimmed(const char* text) {
  std::string message = text != nullptr ? text : "";
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) {
    message.pop_back();
  }
  return message;
}

/// Whether an SQLSTATE means that the server or the connection went away.
bool connection_state(const char* sqlstate) {
  if (sqlstate == nullptr) {
    return false;
  }
  const std::string_view state(sqlstate);
  return state.substr(0, 2) == "08" || state == "57P01" || state == "57P02" || state == "57P03";
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

/// bytea's text output ("\x0a1b...") to bytes.
std::string decode_bytea(const char* text, int length) {
  std::string bytes;
  if (length >= 2 && text[0] == '\\' && text[1] == 'x') {
    bytes.reserve(static_cast<std::size_t>(length - 2) / 2);
    for (int i = 2; i + 1 < length; i += 2) {
      const int high = hex_value(text[i]);
      const int low = hex_value(text[i + 1]);
      if (high < 0 || low < 0) {
        throw DbError(Failure::internal, "postgresql: malformed bytea value");
      }
      bytes.push_back(static_cast<char>(high * 16 + low));
    }
    return bytes;
  }
  throw DbError(Failure::internal, "postgresql: bytea not in hex format");
}

class PgRows final : public Rows::Source {
 public:
  explicit PgRows(PGresult* result) : result_(result), count_(PQntuples(result)) {}
  ~PgRows() override { PQclear(result_); }
  PgRows(const PgRows&) = delete;
  PgRows& operator=(const PgRows&) = delete;

  bool next() override { return ++row_ < count_; }
  bool is_null(int column) const override { return PQgetisnull(result_, row_, column) != 0; }
  std::int64_t integer(int column) const override {
    const char* value = PQgetvalue(result_, row_, column);
    if (std::strcmp(value, "t") == 0) {
      return 1;
    }
    if (std::strcmp(value, "f") == 0) {
      return 0;
    }
    return std::strtoll(value, nullptr, 10);
  }
  std::string text(int column) const override {
    return std::string(PQgetvalue(result_, row_, column),
                       static_cast<std::size_t>(PQgetlength(result_, row_, column)));
  }
  std::string blob(int column) const override {
    if (is_null(column)) {
      return {};
    }
    return decode_bytea(PQgetvalue(result_, row_, column), PQgetlength(result_, row_, column));
  }

 private:
  PGresult* result_;
  int count_;
  int row_ = -1;
};

void ignore_notice(void* /*arg*/, const char* /*message*/) {}

class LibpqConnection final : public PgConnection {
 public:
  explicit LibpqConnection(PGconn* conn) : conn_(conn) {
    PQsetNoticeProcessor(conn_, ignore_notice, nullptr);
  }
  ~LibpqConnection() override { PQfinish(conn_); }
  LibpqConnection(const LibpqConnection&) = delete;
  LibpqConnection& operator=(const LibpqConnection&) = delete;

  const Dialect& dialect() const noexcept override { return Dialect::postgresql(); }

  Rows query(std::string_view sql, Params params) override {
    return Rows(std::make_unique<PgRows>(run(sql, params)));
  }

  std::int64_t execute(std::string_view sql, Params params) override {
    PGresult* result = run(sql, params);
    const char* tuples = PQcmdTuples(result);
    const std::int64_t changed =
        (tuples != nullptr && *tuples != '\0') ? std::strtoll(tuples, nullptr, 10) : 0;
    PQclear(result);
    return changed;
  }

  void script(std::string_view sql) override {
    const std::string text(sql);
    PGresult* result = PQexec(conn_, text.c_str());
    check(result, "statement");
    PQclear(result);
  }

  bool healthy() const noexcept override { return !broken_ && PQstatus(conn_) == CONNECTION_OK; }

  std::uint64_t changes() const noexcept override { return changes_; }

  int socket() const noexcept override { return PQsocket(conn_); }

  std::vector<Notification> notifications() override {
    if (PQconsumeInput(conn_) == 0) {
      broken_ = true;
      throw DbError(Failure::unavailable, "postgresql: " + trimmed(PQerrorMessage(conn_)));
    }
    std::vector<Notification> received;
    while (PGnotify* notify = PQnotifies(conn_)) {
      received.push_back(Notification{notify->relname, notify->extra});
      PQfreemem(notify);
    }
    return received;
  }

 private:
  /// Throws for a failed result (clearing it).
  void check(PGresult* result, std::string_view what) {
    const ExecStatusType status = result != nullptr ? PQresultStatus(result) : PGRES_FATAL_ERROR;
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
      return;
    }
    const char* sqlstate =
        result != nullptr ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
    std::string message = trimmed(result != nullptr ? PQresultErrorMessage(result) : nullptr);
    if (message.empty()) {
      message = trimmed(PQerrorMessage(conn_));
    }
    const bool lost = PQstatus(conn_) != CONNECTION_OK || connection_state(sqlstate);
    broken_ = broken_ || lost;
    PQclear(result);
    throw DbError(lost ? Failure::unavailable : Failure::internal,
                  "postgresql: " + std::string(what) + ": " + message);
  }

  const std::string& prepared(std::string_view sql) {
    auto it = names_.find(std::string(sql));
    if (it != names_.end()) {
      return it->second;
    }
    std::string name = "m" + std::to_string(names_.size() + 1);
    const std::string text(sql);
    PGresult* result = PQprepare(conn_, name.c_str(), text.c_str(), 0, nullptr);
    check(result, "prepare");
    PQclear(result);
    return names_.emplace(text, std::move(name)).first->second;
  }

  PGresult* run(std::string_view sql, Params params) {
    const std::string& name = prepared(sql);
    const std::size_t count = params.size();
    std::vector<std::string> texts(count);
    std::vector<const char*> values(count, nullptr);
    std::vector<int> lengths(count, 0);
    std::vector<int> formats(count, 0);
    std::size_t i = 0;
    for (const Param& param : params) {
      switch (param.kind) {
        case Param::Kind::null:
          break;
        case Param::Kind::integer:
          texts[i] = std::to_string(param.integer);
          values[i] = texts[i].c_str();
          break;
        case Param::Kind::text:
          texts[i] = std::string(param.bytes);
          values[i] = texts[i].c_str();
          break;
        case Param::Kind::blob:
          values[i] = param.bytes.data();
          lengths[i] = static_cast<int>(param.bytes.size());
          formats[i] = 1;
          break;
      }
      ++i;
    }
    PGresult* result = PQexecPrepared(conn_, name.c_str(), static_cast<int>(count), values.data(),
                                      lengths.data(), formats.data(), 0);
    check(result, "query");
    const std::string_view command = PQcmdStatus(result);
    if (command.rfind("INSERT", 0) == 0 || command.rfind("UPDATE", 0) == 0 ||
        command.rfind("DELETE", 0) == 0) {
      const char* tuples = PQcmdTuples(result);
      changes_ += (tuples != nullptr && *tuples != '\0') ? std::strtoull(tuples, nullptr, 10) : 0;
    }
    return result;
  }

  PGconn* conn_;
  bool broken_ = false;  // a connection-class error was seen: reconnect
  std::uint64_t changes_ = 0;
  std::unordered_map<std::string, std::string> names_;
};

}  // namespace

std::unique_ptr<PgConnection> open_postgresql(const std::string& url,
                                              std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  // Defaults first: what the URL says overrides them. GSSAPI encryption is
  // off unless the URL asks for it: libpq would otherwise try it first on
  // every connection (a round trip, and Kerberos state in every thread).
  const char* keywords[] = {"gssencmode", "application_name", "dbname", nullptr};
  const char* values[] = {"disable", "mimrest", url.c_str(), nullptr};
  PGconn* conn = PQconnectStartParams(keywords, values, 1);
  if (conn == nullptr) {
    throw DbError(Failure::unavailable, "postgresql: out of memory");
  }
  auto give_up = [&](const std::string& why) {
    std::string message = "cannot connect to PostgreSQL: " + why;
    PQfinish(conn);
    throw DbError(Failure::unavailable, message);
  };
  if (PQstatus(conn) == CONNECTION_BAD) {
    give_up(trimmed(PQerrorMessage(conn)));
  }
  PostgresPollingStatusType state = PGRES_POLLING_WRITING;
  while (state != PGRES_POLLING_OK) {
    if (state == PGRES_POLLING_FAILED) {
      give_up(trimmed(PQerrorMessage(conn)));
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      give_up("timed out after " + std::to_string(timeout.count()) + " ms");
    }
    pollfd fd{PQsocket(conn), static_cast<short>(state == PGRES_POLLING_READING ? POLLIN : POLLOUT),
              0};
    const int ready = poll(&fd, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno != EINTR) {
      give_up(std::strerror(errno));
    }
    if (ready > 0) {
      state = PQconnectPoll(conn);
    }
  }
  return std::make_unique<LibpqConnection>(conn);
}

}  // namespace mimrest::sql::detail
