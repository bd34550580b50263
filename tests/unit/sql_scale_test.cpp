// Several processes on one PostgreSQL database write without waiting for
// each other unless they touch the same users or rooms (the order is kept
// per stream, lib/sql/README.md "Sequences"), and what one process tells the
// others never gets lost for being large.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "mimrest/api_config.hpp"
#include "sql/chat.hpp"
#include "sql/dispatcher.hpp"
#include "sql/hosting.hpp"
#include "sql/listener.hpp"
#include "sql/pg_driver.hpp"
#include "sql/session_table.hpp"
#include "sql/store.hpp"
#include "sql_test_support.hpp"

using namespace mimrest;
using namespace mimrest::test::sql;
using namespace mimrest::sql::detail;
using namespace std::chrono_literals;

namespace {

struct Nodes {
  explicit Nodes(TestDatabase& db) : database(db) {
    one = open_backend(database.config());
    two = open_backend(database.config());
    calls_one.api = one->backend();
    calls_two.api = two->backend();
    for (const Jid& user : {alice, bob, carol, dave, erin}) {
      REQUIRE(one->add_user(user, "secret"));
    }
  }
  TestDatabase& database;
  std::unique_ptr<SqlBackend> one;
  std::unique_ptr<SqlBackend> two;
  Calls calls_one;
  Calls calls_two;
  Jid alice = jid("alice@localhost");
  Jid bob = jid("bob@localhost");
  Jid carol = jid("carol@localhost");
  Jid dave = jid("dave@localhost");
  Jid erin = jid("erin@localhost");
};

class PgFactory final : public ConnectionFactory {
 public:
  explicit PgFactory(std::string url) : url_(std::move(url)) {}
  std::unique_ptr<Connection> open_writer() override { return open_postgresql(url_, 10s); }
  std::unique_ptr<Connection> open_reader() override { return open_postgresql(url_, 10s); }
  const Dialect& dialect() const noexcept override { return Dialect::postgresql(); }

 private:
  std::string url_;
};

/// A third process on the database, made of the backend's own parts (the
/// writer, the router, the announcer), whose write transactions stop right
/// before their commit (their locks taken, their rows written) until
/// released.
class HeldNode {
 public:
  explicit HeldNode(const TestDatabase& database)
      : hosting_(HostingConfig{}), dispatcher_(sessions_, 0, true) {
    StoreOptions options;
    options.readers = 1;
    options.log = [](std::string_view) {};
    options.clock = system_now_us;
    Announcer announce("held-node", system_now_us);
    options.on_commit = [this, announce](Connection& db, WriteContext& context) {
      {
        std::unique_lock lock(mutex_);
        ++holding_;
        changed_.notify_all();
        changed_.wait(lock, [this] { return released_; });
      }
      announce(db, context);
    };
    auto factory = std::make_unique<PgFactory>(database.url());
    auto writer = factory->open_writer();
    store_ = std::make_unique<Store>(std::move(factory), std::move(writer), std::move(options),
                                     dispatcher_);
    router_ = std::make_unique<ChatRouter>(*store_, hosting_);
  }
  ~HeldNode() {
    release();
    router_.reset();
    store_.reset();
  }

  MessageRouter& router() { return *router_; }
  /// Waits until a transaction is held open.
  bool wait_holding() {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, kWait, [this] { return holding_ > 0; });
  }
  void release() {
    {
      std::lock_guard lock(mutex_);
      released_ = true;
    }
    changed_.notify_all();
  }

 private:
  Hosting hosting_;
  SessionTable sessions_;
  Dispatcher dispatcher_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<ChatRouter> router_;
  std::mutex mutex_;
  std::condition_variable changed_;
  int holding_ = 0;
  bool released_ = false;
};

/// Completes a RouteResult into a future.
struct Pending {
  std::shared_ptr<std::promise<RouteResult>> promise =
      std::make_shared<std::promise<RouteResult>>();
  std::future<RouteResult> future = promise->get_future();
  Completion<RouteResult> completion() {
    auto kept = promise;
    return Completion<RouteResult>([kept](RouteResult result) { kept->set_value(result); });
  }
  bool done(std::chrono::milliseconds wait = 0ms) {
    return future.wait_for(wait) == std::future_status::ready;
  }
};

std::vector<std::uint64_t> sequences(const std::vector<RoutedStanzaPtr>& stanzas) {
  std::vector<std::uint64_t> out;
  for (const auto& stanza : stanzas) {
    out.push_back(stanza->sequence());
  }
  return out;
}

}  // namespace

TEST_CASE("a write held open for one user holds up no other user's writes, on any node") {
  if (!pg_server_url()) {
    return;
  }
  TestDatabase database("postgresql");
  Nodes nodes(database);
  auto dave_sink = std::make_shared<RecordingSink>();
  auto bob_on_one = std::make_shared<RecordingSink>();
  auto bob_on_two = std::make_shared<RecordingSink>();
  auto dave_session = nodes.calls_one.open_session(jid("dave@localhost/sse"), dave_sink);
  auto bob_session_one = nodes.calls_one.open_session(jid("bob@localhost/a"), bob_on_one);
  auto bob_session_two = nodes.calls_two.open_session(jid("bob@localhost/b"), bob_on_two);

  // A third node writes erin -> dave and stops before its commit, holding
  // what a write for either takes.
  HeldNode held(database);
  Pending held_write;
  held.router().async_route_chat_message(nodes.erin, nodes.dave, chat("dave@localhost", 1),
                                         held_write.completion());
  REQUIRE(held.wait_holding());

  // Writes for other users, through both other nodes, commit and are
  // delivered on every node meanwhile (each well within a second).
  const auto started = std::chrono::steady_clock::now();
  REQUIRE(nodes.calls_two.route(nodes.alice, nodes.bob, chat("bob@localhost", 2)));
  REQUIRE(nodes.calls_one.route(nodes.carol, nodes.bob, chat("bob@localhost", 3)));
  REQUIRE(nodes.calls_one.route(nodes.bob, nodes.alice, chat("alice@localhost", 4)));
  auto room = nodes.calls_two.create_room(nodes.alice, std::nullopt, RoomConfig{"n", "s"});
  REQUIRE(room);
  REQUIRE(nodes.calls_two.set_affiliation(nodes.alice, *room, nodes.bob, Affiliation::member));
  REQUIRE(nodes.calls_one.send_message(nodes.bob, *room,
                                       "<message type=\"groupchat\"><body>r</body></message>"));
  CHECK(std::chrono::steady_clock::now() - started < 10s);
  for (auto* sink : {bob_on_one.get(), bob_on_two.get()}) {
    REQUIRE(sink->wait_for(4));  // two chats, the affiliation, the room message
    auto got = sequences(sink->take());
    REQUIRE(got.size() == 4);
    for (std::size_t i = 1; i < got.size(); ++i) {
      CHECK(got[i - 1] < got[i]);
    }
  }
  CHECK_FALSE(held_write.done());
  CHECK(dave_sink->size() == 0);

  // A write for dave through node one now waits for the held one.
  Pending after;
  nodes.calls_one.api.router->async_route_chat_message(
      nodes.alice, nodes.dave, chat("dave@localhost", 5), after.completion());
  CHECK_FALSE(after.done(300ms));
  CHECK(dave_sink->size() == 0);

  // Released: the held message is delivered first (from the third node,
  // through NOTIFY), then node one's, in sequence order.
  held.release();
  REQUIRE(held_write.done(kWait));
  CHECK(held_write.future.get().has_value());
  REQUIRE(after.done(kWait));
  CHECK(after.future.get().has_value());
  REQUIRE(dave_sink->wait_for(2));
  auto got = dave_sink->take();
  REQUIRE(got.size() == 2);
  CHECK(got[0]->xml() == chat("dave@localhost", 1));
  CHECK(got[1]->xml() == chat("dave@localhost", 5));
  CHECK(got[0]->sequence() < got[1]->sequence());
  // What a resumed stream would replay is the same, in the same order.
  auto events = nodes.calls_two.events_after(nodes.dave, 0, 100);
  REQUIRE(events.size() == 2);
  CHECK(events[0].sequence == got[0]->sequence());
  CHECK(events[1].sequence == got[1]->sequence());
  CHECK(nodes.calls_one.events_after(nodes.dave, got[0]->sequence(), 100).size() == 1);
}

TEST_CASE("a stanza too large for NOTIFY reaches the other node's sessions") {
  if (!pg_server_url()) {
    return;
  }
  TestDatabase database("postgresql");
  Nodes nodes(database);
  auto bob_sink = std::make_shared<RecordingSink>();
  auto bob_session = nodes.calls_two.open_session(jid("bob@localhost/sse"), bob_sink);

  const std::string big = "<message type=\"chat\" to=\"bob@localhost\"><body>" +
                          std::string(9000, 'x') + "</body></message>";
  REQUIRE(nodes.calls_one.route(nodes.alice, nodes.bob, big));
  REQUIRE(nodes.calls_one.route(nodes.alice, nodes.bob, chat("bob@localhost", 2)));
  REQUIRE(bob_sink->wait_for(2));
  auto got = bob_sink->take();
  REQUIRE(got.size() == 2);
  CHECK(got[0]->xml() == big);
  CHECK(got[1]->xml() == chat("bob@localhost", 2));
  CHECK(got[0]->sequence() < got[1]->sequence());
  // It went through the table, not dropped.
  CHECK(raw_connection(database)->integer_or("SELECT count(*) FROM mimrest_notices", {}, 0) >= 1);

  // A room message to several users, and one to many small messages in one
  // transaction (split into several notifications), arrive too.
  auto room = nodes.calls_one.create_room(nodes.alice, std::nullopt, RoomConfig{"n", "s"});
  REQUIRE(room);
  REQUIRE(nodes.calls_one.set_affiliation(nodes.alice, *room, nodes.bob, Affiliation::member));
  const std::string big_room =
      "<message type=\"groupchat\"><body>" + std::string(12000, 'y') + "</body></message>";
  REQUIRE(nodes.calls_one.send_message(nodes.alice, *room, big_room));
  REQUIRE(bob_sink->wait_for(2));
  got = bob_sink->take();
  REQUIRE(got.size() == 2);
  CHECK(got[1]->xml().find(std::string(12000, 'y')) != std::string::npos);

  std::atomic<int> finished{0};
  for (int i = 0; i < 200; ++i) {
    nodes.calls_one.api.router->async_route_chat_message(
        nodes.carol, nodes.bob, chat("bob@localhost", 100 + i),
        Completion<RouteResult>([&](RouteResult) { ++finished; }));
  }
  REQUIRE(bob_sink->wait_for(200));
  auto many = sequences(bob_sink->take());
  REQUIRE(many.size() == 200);
  for (std::size_t i = 1; i < many.size(); ++i) {
    CHECK(many[i - 1] < many[i]);
  }
}

TEST_CASE("each node's stream of a user starts where the user's stream stood") {
  if (!pg_server_url()) {
    return;
  }
  TestDatabase database("postgresql");
  Nodes nodes(database);
  // Messages before any session: not delivered, but the next one is, once.
  for (int i = 0; i < 5; ++i) {
    REQUIRE(nodes.calls_one.route(nodes.alice, nodes.bob, chat("bob@localhost", i)));
  }
  auto sink = std::make_shared<RecordingSink>();
  auto session = nodes.calls_two.open_session(jid("bob@localhost/sse"), sink);
  REQUIRE(nodes.calls_one.route(nodes.alice, nodes.bob, chat("bob@localhost", 9)));
  REQUIRE(sink->wait_for(1));
  std::this_thread::sleep_for(200ms);
  auto got = sink->take();
  REQUIRE(got.size() == 1);
  CHECK(got[0]->xml() == chat("bob@localhost", 9));
}
