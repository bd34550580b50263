// The SQL backend's inner layers: the dialect, the drivers, the schema
// migrations, the group-commit writer and the ordered dispatcher; and how
// opening fails for stores that are not usable.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "sql/dialect.hpp"
#include "sql/dispatcher.hpp"
#include "sql/jobs.hpp"
#include "sql/schema.hpp"
#include "sql/store.hpp"
#include "sql_test_support.hpp"

using namespace mimrest;
using namespace mimrest::test::sql;
using namespace mimrest::sql::detail;

namespace {

/// Opens fresh connections to a test database (for a Store of its own).
class TestFactory final : public ConnectionFactory {
 public:
  explicit TestFactory(const TestDatabase& database) : database_(database) {}
  std::unique_ptr<Connection> open_writer() override { return raw_connection(database_); }
  std::unique_ptr<Connection> open_reader() override { return raw_connection(database_); }
  const Dialect& dialect() const noexcept override {
    return database_.postgresql() ? Dialect::postgresql() : Dialect::sqlite();
  }

 private:
  const TestDatabase& database_;
};

/// Records every delivery: (recipient, sequence).
class SequenceSink final : public StanzaSink {
 public:
  void deliver(const RoutedStanzaPtr& stanza) override {
    std::lock_guard lock(mutex_);
    sequences.push_back(stanza->sequence());
  }
  std::vector<std::uint64_t> take() {
    std::lock_guard lock(mutex_);
    return std::exchange(sequences, {});
  }

 private:
  std::mutex mutex_;
  std::vector<std::uint64_t> sequences;
};

Batch batch(std::uint64_t prev, std::uint64_t last, const Jid& user) {
  Batch result{prev, last, {}};
  for (std::uint64_t seq = prev + 1; seq <= last; ++seq) {
    result.deliveries.push_back(Delivery{{user}, RoutedStanza::make("<message/>", seq)});
  }
  return result;
}

}  // namespace

TEST_CASE("the dialect translates portable schema types") {
  CHECK(Dialect::sqlite().ddl("CREATE TABLE t (id {id}, n {bigint}, b {blob}, s {text})") ==
        "CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER, b BLOB, s TEXT)");
  CHECK(Dialect::postgresql().ddl("x {bigint} {blob} {unknown}") == "x BIGINT BYTEA {unknown}");
}

TEST_CASE("drivers bind $n parameters by number, bytes and NULL included") {
  const std::string driver = GENERATE(from_range(drivers()));
  INFO("driver: " << driver);
  TestDatabase database(driver);
  auto db = raw_connection(database);
  db->script(db->dialect().ddl("CREATE TABLE t (a {bigint}, b {text}, c {blob})"));
  const std::string bytes("\0\x01\xff x", 5);
  // The parameters appear out of order in the text.
  CHECK(db->execute("INSERT INTO t (c, b, a) VALUES ($3, $2, $1)", {42, "text", blob(bytes)}) == 1);
  CHECK(db->execute("INSERT INTO t (a, b, c) VALUES ($1, $2, $3)", {7, nullptr, blob("")}) == 1);
  Rows rows = db->query("SELECT a, b, c FROM t WHERE a >= $1 ORDER BY a", {0});
  REQUIRE(rows.next());
  CHECK(rows.integer(0) == 7);
  CHECK(rows.is_null(1));
  CHECK(rows.blob(2).empty());
  REQUIRE(rows.next());
  CHECK(rows.integer(0) == 42);
  CHECK(rows.text(1) == "text");
  CHECK(rows.blob(2) == bytes);
  CHECK_FALSE(rows.next());
  CHECK(db->integer_or("SELECT a FROM t WHERE a = $1", {1}, -5) == -5);
  CHECK_THROWS_AS(db->execute("INSERT INTO nowhere VALUES ($1)", {1}), DbError);
}

TEST_CASE("migrations create the schema once; reopening keeps the data") {
  const std::string driver = GENERATE(from_range(drivers()));
  INFO("driver: " << driver);
  TestDatabase database(driver);
  {
    auto backend = open_backend(database.config());
    REQUIRE(backend->add_user(jid("alice@localhost"), "a"));
  }
  auto db = raw_connection(database);
  CHECK(schema_version(*db) == kSchemaVersion);
  CHECK(mimrest::sql::sql_schema_version() == kSchemaVersion);
  migrate(*db);  // idempotent
  CHECK(db->integer_or("SELECT count(*) FROM mimrest_schema", {}, 0) == 1);
  auto backend = open_backend(database.config());
  CHECK(*backend->user_exists(jid("alice@localhost")));
  if (!database.postgresql()) {
    Rows mode = db->query("PRAGMA journal_mode");
    REQUIRE(mode.next());
    CHECK(mode.text(0) == "wal");
  }
}

TEST_CASE("a database with a newer schema is refused") {
  const std::string driver = GENERATE(from_range(drivers()));
  INFO("driver: " << driver);
  TestDatabase database(driver);
  open_backend(database.config()).reset();
  raw_connection(database)->execute("UPDATE mimrest_schema SET version = $1", {kSchemaVersion + 1});
  auto opened = SqlBackend::open(database.config());
  REQUIRE_FALSE(opened);
  INFO(opened.error());
  CHECK(opened.error().find("newer than this build") != std::string::npos);
}

TEST_CASE("a SQLite file that is not a mimrest database is refused") {
  TestDatabase database("sqlite");
  SECTION("another application's database") {
    raw_connection(database)->script("CREATE TABLE accounts (id INTEGER PRIMARY KEY)");
    auto opened = SqlBackend::open(database.config());
    REQUIRE_FALSE(opened);
    INFO(opened.error());
    CHECK(opened.error().find("not a mimrest database") != std::string::npos);
  }
  SECTION("not a database at all") {
    std::ofstream(database.path())
        << "just some text, long enough to be a header ............" << std::string(200, 'x');
    auto opened = SqlBackend::open(database.config());
    REQUIRE_FALSE(opened);
    INFO(opened.error());
    CHECK(opened.error().find("not a SQLite database") != std::string::npos);
  }
  SECTION("a folder that does not exist") {
    auto config = database.config();
    config.path = database.path() + ".missing/sub/mimrest.db";
    auto opened = SqlBackend::open(config);
    REQUIRE_FALSE(opened);
    INFO(opened.error());
    CHECK(opened.error().find("cannot open SQLite database") != std::string::npos);
  }
}

TEST_CASE("an unreachable PostgreSQL server fails open quickly with a message") {
  SqlConfig config;
  config.type = SqlConfig::Type::postgresql;
  config.hosting.password_iterations = 1;
  const auto started = std::chrono::steady_clock::now();
  SECTION("nothing listens on the port") {
    config.url = "postgresql://mimrest@127.0.0.1:1/postgres";
  }
  SECTION("an address that never answers") {
    config.url = "postgresql://mimrest@10.255.255.1:5432/postgres";
    config.connect_timeout = std::chrono::milliseconds(1500);
  }
  auto opened = SqlBackend::open(config);
  REQUIRE_FALSE(opened);
  INFO(opened.error());
  CHECK(opened.error().find("cannot connect to PostgreSQL") != std::string::npos);
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(15));
}

TEST_CASE("a database error completes with internal and one log line; others go on") {
  const std::string driver = GENERATE(from_range(drivers()));
  INFO("driver: " << driver);
  TestDatabase database(driver);
  auto lines = std::make_shared<std::vector<std::string>>();
  auto mutex = std::make_shared<std::mutex>();
  auto config = database.config();
  config.log = [lines, mutex](std::string_view line) {
    std::lock_guard lock(*mutex);
    lines->emplace_back(line);
  };
  auto backend = open_backend(config);
  Calls calls{backend->backend()};
  const Jid alice = jid("alice@localhost");
  const Jid bob = jid("bob@localhost");
  REQUIRE(backend->add_user(alice, "a"));
  REQUIRE(backend->add_user(bob, "b"));
  raw_connection(database)->script("DROP TABLE mimrest_roster");

  auto added = calls.add(alice, bob);
  REQUIRE_FALSE(added);
  CHECK(added.error() == Failure::internal);
  auto read =
      await<RosterItemsResult>([&](auto done) { calls.api.roster->async_items(alice, done); });
  REQUIRE_FALSE(read);
  CHECK(read.error() == Failure::internal);
  {
    std::lock_guard lock(*mutex);
    CHECK(lines->size() == 2);
  }
  // The rest of the store still works, also in the same batch as a failure.
  // Checked on this thread: Catch assertions are not thread-safe.
  std::atomic<int> done{0};
  std::atomic<int> routed{0};
  std::atomic<int> refused{0};
  std::promise<void> all;
  for (int i = 0; i < 20; ++i) {
    calls.api.router->async_route_chat_message(alice, bob, chat("bob@localhost", i),
                                               [&](RouteResult r) {
                                                 routed += r.has_value() ? 1 : 0;
                                                 if (++done == 21) {
                                                   all.set_value();
                                                 }
                                               });
    if (i == 10) {
      calls.api.roster->async_add(alice, bob, [&](RosterResult r) {
        refused += r.has_value() ? 0 : 1;
        if (++done == 21) {
          all.set_value();
        }
      });
    }
  }
  REQUIRE(all.get_future().wait_for(kWait) == std::future_status::ready);
  CHECK(routed.load() == 20);
  CHECK(refused.load() == 1);
  CHECK(calls.messages(ArchiveQuery{bob, std::nullopt, std::nullopt, std::nullopt, 50}).size() ==
        20);
}

TEST_CASE("the writer commits concurrent requests in groups, each completed after its commit") {
  const std::string driver = GENERATE(from_range(drivers()));
  INFO("driver: " << driver);
  TestDatabase database(driver);
  {
    auto db = raw_connection(database);
    migrate(*db);
    db->script(db->dialect().ddl("CREATE TABLE items (n {bigint} NOT NULL)"));
  }
  SessionTable sessions;
  Dispatcher dispatcher(sessions, 0, false);
  StoreOptions options;
  options.readers = 2;
  options.log = [](std::string_view) {};
  options.clock = [] { return std::int64_t{1}; };
  auto factory = std::make_unique<TestFactory>(database);
  auto writer = factory->open_writer();
  Store store(std::move(factory), std::move(writer), options, dispatcher);

  // The first request holds the writer until the others are queued.
  std::mutex mutex;
  std::condition_variable released;
  bool release = false;
  std::promise<void> first_done;
  store.write(write_job<Expected<void, Failure>>(
      [&](Connection& db, WriteContext&) -> Expected<void, Failure> {
        std::unique_lock lock(mutex);
        released.wait(lock, [&] { return release; });
        db.execute("INSERT INTO items (n) VALUES ($1)", {0});
        return {};
      },
      Completion<Expected<void, Failure>>(
          [&](Expected<void, Failure>) { first_done.set_value(); })));
  constexpr int requests = 100;
  std::atomic<int> completed{0};
  std::atomic<int> succeeded{0};
  std::promise<void> all_done;
  for (int i = 1; i <= requests; ++i) {
    store.write(write_job<Expected<void, Failure>>(
        [i](Connection& db, WriteContext&) -> Expected<void, Failure> {
          db.execute("INSERT INTO items (n) VALUES ($1)", {i});
          return {};
        },
        Completion<Expected<void, Failure>>([&, i](Expected<void, Failure> result) {
          succeeded += result.has_value() ? 1 : 0;
          if (++completed == requests) {
            all_done.set_value();
          }
        })));
  }
  {
    std::lock_guard lock(mutex);
    release = true;
  }
  released.notify_all();
  REQUIRE(first_done.get_future().wait_for(kWait) == std::future_status::ready);
  REQUIRE(all_done.get_future().wait_for(kWait) == std::future_status::ready);
  CHECK(succeeded.load() == requests);
  CHECK(raw_connection(database)->integer_or("SELECT count(*) FROM items", {}, 0) == requests + 1);
  // 101 requests in very few transactions (the first alone, the rest in groups).
  CHECK(store.commits() <= 3);

  // A request whose result has no value is rolled back alone.
  std::promise<void> mixed;
  std::atomic<int> left{2};
  std::atomic<bool> first_failed{false};
  std::atomic<bool> second_stored{false};
  store.write(write_job<Expected<void, Failure>>(
      [](Connection& db, WriteContext&) -> Expected<void, Failure> {
        db.execute("INSERT INTO items (n) VALUES ($1)", {1000});
        return unexpected(Failure::internal);
      },
      Completion<Expected<void, Failure>>([&](Expected<void, Failure> r) {
        first_failed = !r.has_value();
        if (--left == 0) {
          mixed.set_value();
        }
      })));
  store.write(write_job<Expected<void, Failure>>(
      [](Connection& db, WriteContext&) -> Expected<void, Failure> {
        db.execute("INSERT INTO items (n) VALUES ($1)", {2000});
        return {};
      },
      Completion<Expected<void, Failure>>([&](Expected<void, Failure> r) {
        second_stored = r.has_value();
        if (--left == 0) {
          mixed.set_value();
        }
      })));
  REQUIRE(mixed.get_future().wait_for(kWait) == std::future_status::ready);
  CHECK(first_failed.load());
  CHECK(second_stored.load());
  auto db = raw_connection(database);
  CHECK(db->integer_or("SELECT count(*) FROM items WHERE n = 1000", {}, -1) == 0);
  CHECK(db->integer_or("SELECT count(*) FROM items WHERE n = 2000", {}, -1) == 1);
}

TEST_CASE("the dispatcher delivers batches in sequence order and fills gaps") {
  SessionTable sessions;
  const Jid bob = jid("bob@localhost");
  auto sink = std::make_shared<SequenceSink>();
  auto session = await<OpenSessionResult>(
      [&](auto done) { sessions.async_open_session(jid("bob@localhost/s"), sink, done); });
  REQUIRE(session);

  SECTION("held until the batch before arrives") {
    Dispatcher dispatcher(sessions, 10, true);
    dispatcher.publish(batch(12, 14, bob));
    dispatcher.publish(batch(14, 15, bob));
    CHECK(sink->take().empty());
    CHECK_FALSE(dispatcher.stale_gap(std::chrono::hours(1)));
    dispatcher.publish(batch(10, 12, bob));
    CHECK(sink->take() == std::vector<std::uint64_t>{11, 12, 13, 14, 15});
    CHECK(dispatcher.watermark() == 15);
    dispatcher.publish(batch(10, 12, bob));  // a late duplicate
    CHECK(sink->take().empty());
  }
  SECTION("a gap that stays open is reported, then filled") {
    Dispatcher dispatcher(sessions, 10, true);
    dispatcher.publish(batch(12, 13, bob));
    auto gap = dispatcher.stale_gap(std::chrono::milliseconds(0));
    REQUIRE(gap);
    CHECK(*gap == std::make_pair(std::uint64_t{10}, std::uint64_t{12}));
    dispatcher.publish(batch(10, 12, bob));
    CHECK(sink->take() == std::vector<std::uint64_t>{11, 12, 13});
    dispatcher.note_committed(20);  // committed elsewhere, never announced
    gap = dispatcher.stale_gap(std::chrono::milliseconds(0));
    REQUIRE(gap);
    CHECK(*gap == std::make_pair(std::uint64_t{13}, std::uint64_t{20}));
  }
  SECTION("without gap filling, a gap is skipped") {
    Dispatcher dispatcher(sessions, 10, false);
    dispatcher.publish(batch(12, 13, bob));
    CHECK(sink->take() == std::vector<std::uint64_t>{13});
  }
  SECTION("a closed session receives nothing") {
    Dispatcher dispatcher(sessions, 0, false);
    session->reset();
    dispatcher.publish(batch(0, 1, bob));
    CHECK(sink->take().empty());
  }
}
