// Shared by the SQL backend's tests: the drivers to run against (SQLite
// always; PostgreSQL on the throw-away cluster that ctest starts, see
// tests/sql/CMakeLists.txt), a fresh database per test, blocking wrappers
// around the asynchronous interfaces, and a recording sink.
#pragma once

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "mimrest/backend/backend.hpp"
#include "mimrest/jid.hpp"
#include "mimrest/sql/sql_backend.hpp"
#include "sql/pg_driver.hpp"
#include "sql/sqlite_driver.hpp"

namespace mimrest::test::sql {

using mimrest::sql::SqlBackend;
using mimrest::sql::SqlConfig;

inline constexpr auto kWait = std::chrono::seconds(20);

/// A prepared JID from text that must be valid (test thread only).
inline Jid jid(std::string_view text) {
  auto parsed = Jid::parse(text);
  REQUIRE(parsed.has_value());
  return parsed.value();
}

/// Where the ctest fixture left the PostgreSQL cluster: its folder (with
/// "url" and "port"), or nullopt when the tests run without it.
inline std::optional<std::filesystem::path> pg_cluster_dir() {
  const char* dir = std::getenv("MIMREST_TEST_PG_DIR");
  if (dir == nullptr || *dir == '\0') {
    return std::nullopt;
  }
  return std::filesystem::path(dir);
}

inline std::string read_line(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);
  return line;
}

/// The PostgreSQL server's URL (its maintenance database), or nullopt when
/// PostgreSQL tests cannot run: no server binaries installed (said once,
/// visibly), or run outside ctest. When the binaries are there, a cluster
/// that failed to start fails the test.
inline std::optional<std::string> pg_server_url() {
  auto dir = pg_cluster_dir();
  if (!dir) {
    WARN("MIMREST_TEST_PG_DIR is not set (run through ctest): PostgreSQL variants skipped");
    return std::nullopt;
  }
  if (std::filesystem::exists(*dir / "unavailable")) {
    WARN("no PostgreSQL server binaries installed: PostgreSQL variants SKIPPED");
    return std::nullopt;
  }
  const std::string url = read_line(*dir / "url");
  INFO("PostgreSQL cluster folder: " << dir->string());
  REQUIRE_FALSE(url.empty());
  return url;
}

/// The drivers every parameterised test runs on.
inline std::vector<std::string> drivers() {
  std::vector<std::string> result{"sqlite"};
  if (pg_server_url()) {
    result.emplace_back("postgresql");
  }
  return result;
}

inline std::string random_name(std::string_view prefix) {
  static std::atomic<unsigned> counter{0};
  std::random_device device;
  return std::string(prefix) + std::to_string(::getpid()) + "_" + std::to_string(counter++) + "_" +
         std::to_string(device() % 100000);
}

/// `url` with its database replaced by `database`.
inline std::string with_database(const std::string& url, const std::string& database) {
  const auto slash = url.rfind('/');
  return url.substr(0, slash + 1) + database;
}

/// Runs a statement on the server's maintenance database.
inline void pg_admin(const std::string& server_url, const std::string& sql) {
  auto connection = mimrest::sql::detail::open_postgresql(server_url, std::chrono::seconds(10));
  connection->script(sql);
}

/// A fresh, empty database for one test, removed afterwards: a SQLite file
/// in a temporary folder, or a PostgreSQL database on the test cluster.
class TestDatabase {
 public:
  explicit TestDatabase(std::string driver) : driver_(std::move(driver)) {
    if (driver_ == "sqlite") {
      dir_ = std::filesystem::temp_directory_path() / random_name("mimrest_sql_");
      std::filesystem::create_directories(dir_);
    } else {
      server_ = pg_server_url().value();
      name_ = random_name("mimrest_t");
      pg_admin(server_, "CREATE DATABASE " + name_);
    }
  }
  ~TestDatabase() {
    if (driver_ == "sqlite") {
      std::error_code ignored;
      std::filesystem::remove_all(dir_, ignored);
    } else {
      try {
        pg_admin(server_, "DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
      } catch (...) {
        // The cluster may be gone already; it is thrown away anyway.
      }
    }
  }
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  bool postgresql() const { return driver_ == "postgresql"; }
  const std::string& driver() const { return driver_; }
  std::string path() const { return (dir_ / "mimrest.db").string(); }
  std::string url() const { return with_database(server_, name_); }
  const std::string& server_url() const { return server_; }
  const std::string& name() const { return name_; }

  /// A configuration for this database with cheap password hashing.
  SqlConfig config() const {
    SqlConfig config;
    if (postgresql()) {
      config.type = SqlConfig::Type::postgresql;
      config.url = url();
    } else {
      config.type = SqlConfig::Type::sqlite;
      config.path = path();
    }
    config.pool_size = 2;
    config.hosting.password_iterations = 1;
    return config;
  }

 private:
  std::string driver_;
  std::filesystem::path dir_;
  std::string server_;
  std::string name_;
};

/// A connection of the internal driver to a test database, to look at or
/// tamper with what the backend stored.
inline std::unique_ptr<mimrest::sql::detail::Connection> raw_connection(
    const TestDatabase& database) {
  if (database.postgresql()) {
    return mimrest::sql::detail::open_postgresql(database.url(), std::chrono::seconds(10));
  }
  mimrest::sql::detail::SqliteOptions options;
  options.path = database.path();
  options.create = true;
  return mimrest::sql::detail::open_sqlite(options);
}

inline std::unique_ptr<SqlBackend> open_backend(const SqlConfig& config) {
  auto opened = SqlBackend::open(config);
  INFO("open: " << (opened ? std::string("ok") : opened.error()));
  REQUIRE(opened.has_value());
  return std::move(opened.value());
}

/// Starts an operation with a Completion and waits for its result.
template <class T, class Start>
T await(Start start) {
  auto promise = std::make_shared<std::promise<T>>();
  auto future = promise->get_future();
  auto called = std::make_shared<std::atomic<bool>>(false);
  start(Completion<T>(
      [promise, called](T result) {
        called->store(true);
        promise->set_value(std::move(result));
      },
      [promise] {
        promise->set_exception(std::make_exception_ptr(std::runtime_error("abandoned")));
      }));
  REQUIRE(future.wait_for(kWait) == std::future_status::ready);
  return future.get();
}

/// Blocking calls on a Backend's interfaces, named like the sync bases.
struct Calls {
  Backend api;

  std::optional<std::string> service_domain(std::string_view user_domain) {
    auto result = await<ServiceDomainResult>(
        [&](auto done) { api.muc_light->async_service_domain(user_domain, done); });
    return result ? *result : std::nullopt;
  }
  bool verify(const Jid& user, std::string_view password) {
    auto result =
        await<VerifyResult>([&](auto done) { api.passwords->async_verify(user, password, done); });
    REQUIRE(result.has_value());
    return *result;
  }
  RouteResult route(const Jid& from, const Jid& to, std::string xml) {
    return await<RouteResult>(
        [&](auto done) { api.router->async_route_chat_message(from, to, std::move(xml), done); });
  }
  std::vector<ArchivedMessage> messages(const ArchiveQuery& query) {
    auto result =
        await<ArchiveResult>([&](auto done) { api.archive->async_messages(query, done); });
    REQUIRE(result.has_value());
    return *result;
  }
  std::vector<RosterItem> items(const Jid& user) {
    auto result = await<RosterItemsResult>([&](auto done) { api.roster->async_items(user, done); });
    REQUIRE(result.has_value());
    return *result;
  }
  RosterResult add(const Jid& user, const Jid& contact) {
    return await<RosterResult>([&](auto done) { api.roster->async_add(user, contact, done); });
  }
  RosterResult subscribe(const Jid& user, const Jid& contact) {
    return await<RosterResult>(
        [&](auto done) { api.roster->async_subscribe(user, contact, done); });
  }
  RosterResult approve(const Jid& user, const Jid& contact) {
    return await<RosterResult>([&](auto done) { api.roster->async_approve(user, contact, done); });
  }
  RosterResult remove(const Jid& user, const Jid& contact) {
    return await<RosterResult>([&](auto done) { api.roster->async_remove(user, contact, done); });
  }
  CreateRoomResult create_room(const Jid& owner, const std::optional<Jid>& room,
                               const RoomConfig& config) {
    return await<CreateRoomResult>(
        [&](auto done) { api.muc_light->async_create_room(owner, room, config, done); });
  }
  std::vector<RoomSummary> user_rooms(const Jid& user) {
    auto result =
        await<UserRoomsResult>([&](auto done) { api.muc_light->async_user_rooms(user, done); });
    REQUIRE(result.has_value());
    return *result;
  }
  RoomInfoResult room_info(const Jid& user, const Jid& room) {
    return await<RoomInfoResult>(
        [&](auto done) { api.muc_light->async_room_info(user, room, done); });
  }
  RoomResult set_config(const Jid& user, const Jid& room, const RoomConfig& config) {
    return await<RoomResult>(
        [&](auto done) { api.muc_light->async_set_config(user, room, config, done); });
  }
  RoomResult set_affiliation(const Jid& actor, const Jid& room, const Jid& target,
                             Affiliation affiliation) {
    return await<RoomResult>([&](auto done) {
      api.muc_light->async_set_affiliation(actor, room, target, affiliation, done);
    });
  }
  RoomResult send_message(const Jid& sender, const Jid& room, std::string xml) {
    return await<RoomResult>(
        [&](auto done) { api.muc_light->async_send_message(sender, room, std::move(xml), done); });
  }
  RoomMessagesResult room_messages(const RoomArchiveQuery& query) {
    return await<RoomMessagesResult>(
        [&](auto done) { api.muc_light->async_messages(query, done); });
  }
  std::unique_ptr<Session> open_session(const Jid& full_jid, std::shared_ptr<StanzaSink> sink) {
    auto result = await<OpenSessionResult>(
        [&](auto done) { api.sessions->async_open_session(full_jid, std::move(sink), done); });
    REQUIRE(result.has_value());
    return std::move(result.value());
  }
  TokenChangeResult issue(const std::vector<TokenRecord>& records, std::int64_t now) {
    return await<TokenChangeResult>(
        [&](auto done) { api.tokens->async_issue(records, now, done); });
  }
  std::optional<TokenRecord> find_token(const std::string& hash, std::int64_t now) {
    auto result =
        await<TokenLookupResult>([&](auto done) { api.tokens->async_find(hash, now, done); });
    REQUIRE(result.has_value());
    return *result;
  }
  RotateOutcome rotate(const std::string& hash, const std::vector<TokenRecord>& replacements,
                       std::int64_t now) {
    auto result = await<RotateResult>(
        [&](auto done) { api.tokens->async_rotate(hash, replacements, now, done); });
    REQUIRE(result.has_value());
    return *result;
  }
  TokenChangeResult revoke_user(const Jid& user) {
    return await<TokenChangeResult>([&](auto done) { api.tokens->async_revoke_user(user, done); });
  }
  std::vector<LoggedEvent> events_after(const Jid& user, std::uint64_t after, std::size_t limit) {
    auto result = await<EventsResult>(
        [&](auto done) { api.events->async_events_after(user, after, limit, done); });
    REQUIRE(result.has_value());
    return *result;
  }
  std::uint64_t last_sequence() {
    auto result = await<SequenceResult>([&](auto done) { api.events->async_last_sequence(done); });
    REQUIRE(result.has_value());
    return *result;
  }
};

/// Keeps every stanza delivered to it; deliver() from any thread.
class RecordingSink final : public StanzaSink {
 public:
  void deliver(const RoutedStanzaPtr& stanza) override {
    {
      std::lock_guard lock(mutex_);
      stanzas_.push_back(stanza);
    }
    changed_.notify_all();
  }
  /// Everything delivered since the last take().
  std::vector<RoutedStanzaPtr> take() {
    std::lock_guard lock(mutex_);
    return std::exchange(stanzas_, {});
  }
  /// Waits until at least `count` stanzas are there (since the last take()).
  bool wait_for(std::size_t count, std::chrono::milliseconds timeout = kWait) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return stanzas_.size() >= count; });
  }
  std::size_t size() const {
    std::lock_guard lock(mutex_);
    return stanzas_.size();
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<RoutedStanzaPtr> stanzas_;
};

inline std::string chat(const std::string& to, int n) {
  return "<message type=\"chat\" to=\"" + to + "\"><body>" + std::to_string(n) +
         "</body></message>";
}

}  // namespace mimrest::test::sql
