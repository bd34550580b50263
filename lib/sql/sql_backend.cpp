// The facade: opens the database, builds the parts and hands out their
// interfaces.
#include "mimrest/sql/sql_backend.hpp"

#include <cstdio>
#include <mutex>
#include <utility>

#include "mimrest/crypto.hpp"
#include "mimrest/scram_credentials.hpp"
#include "mimrest/verification_cache.hpp"
#include "sql/accounts.hpp"
#include "sql/chat.hpp"
#include "sql/checkpointer.hpp"
#include "sql/dispatcher.hpp"
#include "sql/events.hpp"
#include "sql/hosting.hpp"
#include "sql/listener.hpp"
#include "sql/pg_driver.hpp"
#include "sql/rooms.hpp"
#include "sql/roster.hpp"
#include "sql/schema.hpp"
#include "sql/session_table.hpp"
#include "sql/sqlite_driver.hpp"
#include "sql/store.hpp"
#include "sql/tokens.hpp"

namespace mimrest::sql {

using namespace detail;

namespace {

class SqliteFactory final : public ConnectionFactory {
 public:
  SqliteFactory(std::string path, bool full_sync, Checkpointer& checkpointer)
      : path_(std::move(path)), full_sync_(full_sync), checkpointer_(checkpointer) {}
  std::unique_ptr<Connection> open_writer() override {
    SqliteOptions options;
    options.path = path_;
    options.create = true;
    options.full_sync = full_sync_;
    // Its commits never checkpoint: the checkpointer's thread does.
    options.on_commit_wal = [&checkpointer = checkpointer_](int frames) {
      checkpointer.committed(frames);
    };
    auto connection = open_sqlite(options);
    // The log file is cut back to this when it starts over.
    connection->script("PRAGMA journal_size_limit=" + std::to_string(kWalSizeLimit));
    return connection;
  }
  std::unique_ptr<Connection> open_reader() override {
    SqliteOptions options;
    options.path = path_;
    options.query_only = true;
    options.full_sync = full_sync_;
    return open_sqlite(options);
  }
  const Dialect& dialect() const noexcept override { return Dialect::sqlite(); }

 private:
  // About the checkpointer's cap (16384 frames of 4 KiB pages).
  static constexpr std::int64_t kWalSizeLimit = 64 * 1024 * 1024;
  std::string path_;
  bool full_sync_;
  Checkpointer& checkpointer_;
};

class PostgresqlFactory final : public ConnectionFactory {
 public:
  PostgresqlFactory(std::string url, std::chrono::milliseconds timeout)
      : url_(std::move(url)), timeout_(timeout) {}
  std::unique_ptr<Connection> open_writer() override { return open_postgresql(url_, timeout_); }
  std::unique_ptr<Connection> open_reader() override { return open_postgresql(url_, timeout_); }
  const Dialect& dialect() const noexcept override { return Dialect::postgresql(); }

 private:
  std::string url_;
  std::chrono::milliseconds timeout_;
};

/// A log that writes every message as exactly one line (libpq's messages
/// span several).
Log make_log(std::function<void(std::string_view)> log) {
  if (!log) {
    log = [](std::string_view line) {
      static std::mutex mutex;
      std::lock_guard lock(mutex);
      std::fprintf(stderr, "mimrest sql: %.*s\n", static_cast<int>(line.size()), line.data());
      std::fflush(stderr);
    };
  }
  return [log = std::move(log)](std::string_view message) {
    std::string line;
    line.reserve(message.size());
    bool space = false;
    for (char c : message) {
      const bool blank = c == '\n' || c == '\r' || c == '\t' || c == ' ';
      if (blank) {
        space = !line.empty();
        continue;
      }
      if (space) {
        line.push_back(' ');
        space = false;
      }
      line.push_back(c);
    }
    log(line);
  };
}

std::string node_name() {
  static constexpr char digits[] = "0123456789abcdef";
  std::string name;
  for (unsigned char byte : random_bytes(8)) {
    name.push_back(digits[byte >> 4]);
    name.push_back(digits[byte & 0x0f]);
  }
  return name;
}

/// Reads where a user's stream stands (its last pushed sequence; 0 for a
/// user the database does not know).
class StreamHeadJob final : public ReadJob {
 public:
  StreamHeadJob(std::string user, std::function<void(std::optional<std::uint64_t>)> done)
      : user_(std::move(user)), done_(std::move(done)) {}
  void run(Connection& db) override {
    head_ = static_cast<std::uint64_t>(db.integer_or(
        "SELECT s.pushed FROM mimrest_streams s JOIN mimrest_jids j ON j.id = s.owner "
        "WHERE j.jid = $1",
        {user_}, 0));
  }
  void complete() override { done_(head_); }
  void failed(Failure /*failure*/) override { done_(std::nullopt); }

 private:
  std::string user_;
  std::function<void(std::optional<std::uint64_t>)> done_;
  std::uint64_t head_ = 0;
};

/// Opens the writer connection and brings the schema up to date; a message
/// that names the database on failure.
std::unique_ptr<Connection> open_database(const SqlConfig& config, ConnectionFactory& factory) {
  const bool sqlite = config.type == SqlConfig::Type::sqlite;
  const std::string where = sqlite ? "SQLite database " + config.path : "PostgreSQL database";
  try {
    auto writer = factory.open_writer();
    if (sqlite) {
      Rows mode = writer->query("PRAGMA journal_mode=WAL");
      if (!mode.next() || mode.text(0) != "wal") {
        throw DbError(Failure::internal, "cannot switch to WAL mode");
      }
    }
    migrate(*writer);
    return writer;
  } catch (const DbError& error) {
    std::string message = error.what();
    if (message.find("file is not a database") != std::string::npos) {
      message = "not a SQLite database";
    }
    const std::string prefix = "cannot open " + where;
    if (message.rfind(prefix, 0) == 0) {
      throw std::runtime_error(message);  // the driver named it already
    }
    throw std::runtime_error(prefix + ": " + message);
  }
}

}  // namespace

struct SqlBackend::Impl {
  explicit Impl(SqlConfig backend_config)
      : config(std::move(backend_config)),
        hosting(config.hosting),
        log(make_log(config.log)),
        node(node_name()) {
    std::unique_ptr<ConnectionFactory> factory;
    const bool postgresql = config.type == SqlConfig::Type::postgresql;
    if (postgresql) {
      factory = std::make_unique<PostgresqlFactory>(config.url, config.connect_timeout);
    } else {
      CheckpointOptions checkpoints;
      checkpoints.path = config.path;
      checkpoints.full_sync = config.sync == SqlConfig::Sync::full;
      checkpoints.log = log;
      checkpointer = std::make_unique<Checkpointer>(std::move(checkpoints));
      factory = std::make_unique<SqliteFactory>(config.path, config.sync == SqlConfig::Sync::full,
                                                *checkpointer);
    }
    auto writer = open_database(config, *factory);
    // Each user's stream is ordered on its own (README, "Sequences"); the
    // default stream is not used.
    dispatcher = std::make_unique<Dispatcher>(sessions, 0, postgresql);

    StoreOptions options;
    options.readers = config.pool_size;
    options.max_batch = config.max_batch;
    options.log = log;
    options.clock = hosting.config().now_us;
    if (postgresql) {
      options.on_commit = Announcer(node, hosting.config().now_us);
    }
    store = std::make_unique<Store>(std::move(factory), std::move(writer), std::move(options),
                                    *dispatcher);
    if (postgresql) {
      // Other processes deliver too: a user's stream is followed while the
      // user has sessions here, from where it stood when the first opened.
      dispatcher->set_head_reader([this](const Jid& user, auto done) {
        store->read(std::make_unique<StreamHeadJob>(user.bare_string(), std::move(done)));
      });
      sessions.watch(dispatcher.get());
    }
    credentials = std::make_unique<SqlCredentialStore>(*store, hosting);
    const unsigned iterations = hosting.config().password_iterations;
    if (postgresql) {
      // Every process on the database hears of password changes (NOTIFY):
      // successful logins are remembered until then.
      scram = std::make_unique<ScramPasswordVerifier>(*credentials, iterations);
      cache = std::make_unique<CachingPasswordVerifier>(*scram);
      verifier = cache.get();
    } else {
      // Nothing tells this process of a change made by another one (the
      // user commands): every check reads the credentials as stored now.
      current = std::make_unique<CurrentCredentialsVerifier>(*credentials, iterations);
      verifier = current.get();
    }
    accounts = std::make_unique<AccountTable>(*store, hosting, [this](const Jid& user) {
      if (cache) {
        cache->invalidate(user);
      }
    });
    router = std::make_unique<ChatRouter>(*store, hosting);
    archive = std::make_unique<ChatArchive>(*store, hosting);
    roster = std::make_unique<SqlRoster>(*store, hosting);
    muc_light = std::make_unique<SqlMucLight>(*store, hosting);
    tokens = std::make_unique<SqlTokenStore>(*store);
    events = std::make_unique<SqlEventLog>(*store);
    if (postgresql) {
      ListenerOptions listen;
      listen.url = config.url;
      listen.connect_timeout = config.connect_timeout;
      listen.node = node;
      listen.log = log;
      listen.invalidate = [this](const Jid& user) { cache->invalidate(user); };
      listener = std::make_unique<Listener>(std::move(listen), *dispatcher, sessions);
    }
  }

  ~Impl() {
    // Stop what calls in first; the store finishes every accepted request.
    // Sessions may close after the backend: they no longer reach the
    // dispatcher.
    listener.reset();
    store.reset();
    sessions.watch(nullptr);
  }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  const SqlConfig config;
  const Hosting hosting;
  const Log log;
  const std::string node;
  std::unique_ptr<Checkpointer> checkpointer;  // SQLite; outlives the writer
  SessionTable sessions;
  std::unique_ptr<Dispatcher> dispatcher;
  std::unique_ptr<Store> store;
  std::unique_ptr<SqlCredentialStore> credentials;
  std::unique_ptr<ScramPasswordVerifier> scram;
  std::unique_ptr<CachingPasswordVerifier> cache;       // PostgreSQL
  std::unique_ptr<CurrentCredentialsVerifier> current;  // SQLite
  PasswordVerifier* verifier = nullptr;                 // one of them
  std::unique_ptr<AccountTable> accounts;
  std::unique_ptr<ChatRouter> router;
  std::unique_ptr<ChatArchive> archive;
  std::unique_ptr<SqlRoster> roster;
  std::unique_ptr<SqlMucLight> muc_light;
  std::unique_ptr<SqlTokenStore> tokens;
  std::unique_ptr<SqlEventLog> events;
  std::unique_ptr<Listener> listener;
};

Expected<std::unique_ptr<SqlBackend>, std::string> SqlBackend::open(SqlConfig config) {
  if (config.type == SqlConfig::Type::postgresql && config.url.empty()) {
    return unexpected(std::string("PostgreSQL storage needs a url"));
  }
  if (config.type == SqlConfig::Type::sqlite && config.path.empty()) {
    return unexpected(std::string("SQLite storage needs a path"));
  }
  try {
    return std::unique_ptr<SqlBackend>(new SqlBackend(std::make_unique<Impl>(std::move(config))));
  } catch (const std::exception& error) {
    return unexpected(std::string(error.what()));
  }
}

SqlBackend::SqlBackend(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SqlBackend::~SqlBackend() = default;

Backend SqlBackend::backend() {
  Impl& parts = *impl_;
  return backend_of(*parts.verifier, *parts.router, *parts.archive, *parts.roster, *parts.muc_light,
                    parts.sessions, *parts.tokens, *parts.events);
}

AccountResult SqlBackend::add_user(const Jid& user, std::string_view password) {
  return impl_->accounts->add_user(user, password);
}

AccountResult SqlBackend::set_password(const Jid& user, std::string_view password) {
  return impl_->accounts->set_password(user, password);
}

AccountResult SqlBackend::remove_user(const Jid& user) {
  return impl_->accounts->remove_user(user);
}

Expected<std::vector<Jid>, Error<AccountError>> SqlBackend::list_users() {
  return impl_->accounts->list_users();
}

Expected<bool, Error<AccountError>> SqlBackend::user_exists(const Jid& user) {
  return impl_->accounts->user_exists(user);
}

std::size_t SqlBackend::session_count(const Jid& user) const {
  return impl_->sessions.session_count(user);
}

const SqlConfig& SqlBackend::config() const noexcept {
  return impl_->config;
}

int sql_schema_version() noexcept {
  return kSchemaVersion;
}

}  // namespace mimrest::sql
