#include "sql/pg_driver.hpp"

#include <libpq-fe.h>
#include <poll.h>

#include <cerrno>
#include <cstring>
#include <optional>
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
    if (pipelined_) {
      send(sql, {}, false);
      PQclear(finish(true));
      return;
    }
    const std::string text(sql);
    PGresult* result = PQexec(conn_, text.c_str());
    check(result, "statement");
    PQclear(result);
  }

  void queue(std::string_view sql, Params params) override {
    send(sql, params, params.size() > 0);
    ++changes_;  // it may change rows: counted now, not again when answered
  }

  void sync() override {
    if (pipelined_) {
      finish(false);
    }
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
  /// A statement sent in pipeline mode whose answer has not been read.
  struct Pending {
    int tag;
    std::string prepared;  ///< the text of a statement being prepared, else empty
    bool wanted = false;   ///< its result is returned (the statement that waits)
  };

  DbError error_of(PGresult* result, std::string_view what) {
    const char* sqlstate =
        result != nullptr ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
    std::string message = trimmed(result != nullptr ? PQresultErrorMessage(result) : nullptr);
    if (message.empty()) {
      message = trimmed(PQerrorMessage(conn_));
    }
    const bool lost = PQstatus(conn_) != CONNECTION_OK || connection_state(sqlstate);
    broken_ = broken_ || lost;
    // 40P01 deadlock_detected, 40001 serialization_failure: the server
    // aborted this transaction to let another one go on.
    const bool transient = sqlstate != nullptr && (std::string_view(sqlstate) == "40P01" ||
                                                   std::string_view(sqlstate) == "40001");
    return DbError(lost ? Failure::unavailable : Failure::internal,
                   "postgresql: " + std::string(what) + ": " + message, transient && !lost,
                   current_tag());
  }

  /// Throws for a failed result (clearing it).
  void check(PGresult* result, std::string_view what) {
    const ExecStatusType status = result != nullptr ? PQresultStatus(result) : PGRES_FATAL_ERROR;
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
      return;
    }
    DbError error = error_of(result, what);
    PQclear(result);
    throw error;
  }

  [[noreturn]] void lose(std::string_view what) {
    broken_ = true;
    pending_.clear();
    throw DbError(Failure::unavailable,
                  "postgresql: " + std::string(what) + ": " + trimmed(PQerrorMessage(conn_)));
  }

  /// The parameters as libpq takes them (texts kept alive in `texts`).
  struct Values {
    std::vector<std::string> texts;
    std::vector<const char*> values;
    std::vector<int> lengths;
    std::vector<int> formats;
  };
  static void convert(Params params, Values& out) {
    const std::size_t count = params.size();
    out.texts.assign(count, std::string());
    out.values.assign(count, nullptr);
    out.lengths.assign(count, 0);
    out.formats.assign(count, 0);
    std::size_t i = 0;
    for (const Param& param : params) {
      switch (param.kind) {
        case Param::Kind::null:
          break;
        case Param::Kind::integer:
          out.texts[i] = std::to_string(param.integer);
          out.values[i] = out.texts[i].c_str();
          break;
        case Param::Kind::text:
          out.texts[i] = std::string(param.bytes);
          out.values[i] = out.texts[i].c_str();
          break;
        case Param::Kind::blob:
          out.values[i] = param.bytes.data();
          out.lengths[i] = static_cast<int>(param.bytes.size());
          out.formats[i] = 1;
          break;
      }
      ++i;
    }
  }

  /// Sends one statement in pipeline mode (entering it when needed):
  /// prepared (named, once per connection) or, for a statement without
  /// parameters, as it is.
  void send(std::string_view sql, Params params, bool prepare, bool wanted = false) {
    if (!pipelined_) {
      if (PQenterPipelineMode(conn_) != 1) {
        lose("pipeline");
      }
      pipelined_ = true;
    }
    if (!prepare) {
      const std::string text(sql);
      if (PQsendQueryParams(conn_, text.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0) != 1) {
        lose("send");
      }
      pending_.push_back(Pending{current_tag(), {}, wanted});
      return;
    }
    auto it = names_.find(std::string(sql));
    if (it == names_.end()) {
      std::string name = "m" + std::to_string(++prepared_count_);
      const std::string text(sql);
      if (PQsendPrepare(conn_, name.c_str(), text.c_str(), 0, nullptr) != 1) {
        lose("prepare");
      }
      pending_.push_back(Pending{current_tag(), text, false});
      it = names_.emplace(text, std::move(name)).first;
    }
    convert(params, values_);
    if (PQsendQueryPrepared(conn_, it->second.c_str(), static_cast<int>(params.size()),
                            values_.values.data(), values_.lengths.data(), values_.formats.data(),
                            0) != 1) {
      lose("send");
    }
    pending_.push_back(Pending{current_tag(), {}, wanted});
  }

  /// Ends the pipeline: reads every answer. Throws the first failure (tagged
  /// with its statement's tag); else returns the result of the statement
  /// marked wanted (when `want`), which the caller clears.
  PGresult* finish(bool want) {
    if (PQpipelineSync(conn_) != 1) {
      lose("sync");
    }
    std::optional<DbError> failure;
    PGresult* kept = nullptr;
    for (Pending& pending : pending_) {
      PGresult* result = PQgetResult(conn_);
      if (result == nullptr) {
        if (kept != nullptr) {
          PQclear(kept);
        }
        lose("result");
      }
      const ExecStatusType status = PQresultStatus(result);
      const bool ok = status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK;
      if (!ok && !pending.prepared.empty()) {
        names_.erase(pending.prepared);  // not prepared after all
      }
      if (!ok && status != PGRES_PIPELINE_ABORTED && !failure) {
        failure =
            error_of(result, pending.prepared.empty() ? "query" : "prepare").tagged(pending.tag);
      }
      if (ok && pending.wanted && want) {
        kept = result;
      } else {
        PQclear(result);
      }
      // Each statement's results end with a null.
      while (PGresult* extra = PQgetResult(conn_)) {
        PQclear(extra);
      }
    }
    pending_.clear();
    PGresult* sync = PQgetResult(conn_);
    const bool synced = sync != nullptr && PQresultStatus(sync) == PGRES_PIPELINE_SYNC;
    PQclear(sync);
    if (!synced || PQexitPipelineMode(conn_) != 1) {
      if (kept != nullptr) {
        PQclear(kept);
      }
      lose("pipeline end");
    }
    pipelined_ = false;
    if (failure) {
      if (kept != nullptr) {
        PQclear(kept);
      }
      throw *failure;
    }
    return kept;
  }

  const std::string& prepared(std::string_view sql) {
    auto it = names_.find(std::string(sql));
    if (it != names_.end()) {
      return it->second;
    }
    std::string name = "m" + std::to_string(++prepared_count_);
    const std::string text(sql);
    PGresult* result = PQprepare(conn_, name.c_str(), text.c_str(), 0, nullptr);
    check(result, "prepare");
    PQclear(result);
    return names_.emplace(text, std::move(name)).first->second;
  }

  void count_changes(PGresult* result) {
    const std::string_view command = PQcmdStatus(result);
    if (command.rfind("INSERT", 0) == 0 || command.rfind("UPDATE", 0) == 0 ||
        command.rfind("DELETE", 0) == 0) {
      const char* tuples = PQcmdTuples(result);
      changes_ += (tuples != nullptr && *tuples != '\0') ? std::strtoull(tuples, nullptr, 10) : 0;
    }
  }

  PGresult* run(std::string_view sql, Params params) {
    if (pipelined_) {
      // Answered in the same round trip as what was queued before it.
      send(sql, params, true, true);
      PGresult* result = finish(true);
      count_changes(result);
      return result;
    }
    const std::string& name = prepared(sql);
    convert(params, values_);
    PGresult* result =
        PQexecPrepared(conn_, name.c_str(), static_cast<int>(params.size()), values_.values.data(),
                       values_.lengths.data(), values_.formats.data(), 0);
    check(result, "query");
    count_changes(result);
    return result;
  }

  PGconn* conn_;
  bool broken_ = false;  // a connection-class error was seen: reconnect
  bool pipelined_ = false;
  std::uint64_t changes_ = 0;
  std::uint64_t prepared_count_ = 0;
  std::unordered_map<std::string, std::string> names_;
  std::vector<Pending> pending_;
  Values values_;
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
