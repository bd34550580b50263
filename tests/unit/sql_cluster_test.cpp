// Several processes on one PostgreSQL database are one service (here: two
// backends in one process, each with its own connections and listener):
// live delivery crosses them through LISTEN/NOTIFY, in sequence order; a lost
// connection answers 503 (unavailable) until it is back, and then the
// service goes on by itself.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "sql_test_support.hpp"

using namespace mimrest;
using namespace mimrest::test::sql;

namespace {

/// Retries `attempt` (returning true on success) until it succeeds or the
/// wait is over.
template <class F>
bool eventually(F attempt, std::chrono::milliseconds wait = std::chrono::milliseconds(15000)) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  while (std::chrono::steady_clock::now() < deadline) {
    if (attempt()) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

struct Nodes {
  explicit Nodes(TestDatabase& db) : database(db) {
    one = open_backend(database.config());
    two = open_backend(database.config());
    calls_one.api = one->backend();
    calls_two.api = two->backend();
    for (const Jid& user : {alice, bob, carol}) {
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
};

/// Terminates every other connection to the test database.
void terminate_connections(const TestDatabase& database) {
  pg_admin(database.server_url(),
           "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" +
               database.name() + "' AND pid <> pg_backend_pid()");
}

}  // namespace

TEST_CASE("a message routed through one node reaches a session on the other") {
  if (!pg_server_url()) {
    return;
  }
  TestDatabase database("postgresql");
  Nodes nodes(database);
  auto bob_sink = std::make_shared<RecordingSink>();
  auto bob_session = nodes.calls_two.open_session(jid("bob@localhost/sse"), bob_sink);

  const std::string stanza = chat("bob@localhost", 1);
  REQUIRE(nodes.calls_one.route(nodes.alice, nodes.bob, stanza));
  REQUIRE(bob_sink->wait_for(1));
  auto got = bob_sink->take();
  CHECK(got[0]->xml() == stanza);
  auto rows = nodes.calls_two.messages(
      ArchiveQuery{nodes.bob, std::nullopt, std::nullopt, std::nullopt, 50});
  REQUIRE(rows.size() == 1);
  CHECK(got[0]->sequence() == static_cast<std::uint64_t>(rows[0].timestamp_us));

  // Rooms: created and used through node one, seen and heard on node two.
  auto room = nodes.calls_one.create_room(nodes.alice, std::nullopt, RoomConfig{"n", "s"});
  REQUIRE(room);
  REQUIRE(nodes.calls_one.set_affiliation(nodes.alice, *room, nodes.bob, Affiliation::member));
  REQUIRE(nodes.calls_one.send_message(nodes.alice, *room,
                                       "<message type=\"groupchat\"><body>hey</body></message>"));
  REQUIRE(bob_sink->wait_for(2));
  got = bob_sink->take();
  REQUIRE(got.size() == 2);
  CHECK(got[0]->xml().find("muclight:0#affiliations") != std::string::npos);
  CHECK(got[1]->xml().find("<body>hey</body>") != std::string::npos);
  CHECK(got[0]->sequence() < got[1]->sequence());
  auto info = nodes.calls_two.room_info(nodes.bob, *room);
  REQUIRE(info);
  CHECK(info->occupants.size() == 2);
  CHECK(nodes.calls_two.user_rooms(nodes.bob).size() == 1);

  // A removed member hears of it on the other node too.
  REQUIRE(nodes.calls_one.set_affiliation(nodes.alice, *room, nodes.bob, Affiliation::none));
  REQUIRE(bob_sink->wait_for(1));
  CHECK(bob_sink->take()[0]->xml().find("affiliation=\"none\"") != std::string::npos);

  // A room's creation notice (not archived) crosses too.
  REQUIRE(nodes.calls_one.create_room(nodes.bob, std::nullopt, RoomConfig{"b", "s"}));
  REQUIRE(bob_sink->wait_for(1));
  CHECK(bob_sink->take()[0]->sequence() == 0);

  // Rosters are the same everywhere.
  REQUIRE(nodes.calls_one.add(nodes.alice, nodes.bob));
  REQUIRE(nodes.calls_two.subscribe(nodes.alice, nodes.bob));
  auto items = nodes.calls_one.items(nodes.bob);
  REQUIRE(items.size() == 1);
  CHECK(items[0].ask == Ask::in);

  // A password changed through one node ends cached logins on the other.
  CHECK(nodes.calls_two.verify(nodes.carol, "secret"));
  REQUIRE(nodes.one->set_password(nodes.carol, "changed"));
  CHECK(eventually([&] { return !nodes.calls_two.verify(nodes.carol, "secret"); }));
  CHECK(nodes.calls_two.verify(nodes.carol, "changed"));
}

TEST_CASE("every session sees the messages of every node, in sequence order") {
  if (!pg_server_url()) {
    return;
  }
  TestDatabase database("postgresql");
  Nodes nodes(database);
  auto on_one = std::make_shared<RecordingSink>();
  auto on_two = std::make_shared<RecordingSink>();
  auto session_one = nodes.calls_one.open_session(jid("bob@localhost/a"), on_one);
  auto session_two = nodes.calls_two.open_session(jid("bob@localhost/b"), on_two);
  auto room = nodes.calls_one.create_room(nodes.carol, std::nullopt, RoomConfig{"n", "s"});
  REQUIRE(room);
  REQUIRE(nodes.calls_one.set_affiliation(nodes.carol, *room, nodes.bob, Affiliation::member));

  constexpr int per_node = 60;
  std::atomic<int> finished{0};
  std::atomic<int> failed{0};
  auto send = [&](Backend api, const Jid& from, bool to_room) {
    for (int n = 0; n < per_node; ++n) {
      auto done = [&](auto result) {
        failed += result ? 0 : 1;
        ++finished;
      };
      if (to_room) {
        api.muc_light->async_send_message(from, *room,
                                          "<message type=\"groupchat\"><body>r</body></message>",
                                          decltype(done)(done));
      } else {
        api.router->async_route_chat_message(from, nodes.bob, chat("bob@localhost", n),
                                             decltype(done)(done));
      }
    }
  };
  std::thread a([&] { send(nodes.one->backend(), nodes.alice, false); });
  std::thread b([&] { send(nodes.two->backend(), nodes.carol, true); });
  a.join();
  b.join();
  REQUIRE(eventually([&] { return finished.load() == 2 * per_node; }));
  CHECK(failed.load() == 0);
  const std::size_t expected = 1 + 2 * per_node;  // the affiliation, then the messages
  for (auto* sink : {on_one.get(), on_two.get()}) {
    REQUIRE(sink->wait_for(expected));
    std::vector<std::uint64_t> sequences;
    for (const auto& stanza : sink->take()) {
      if (stanza->sequence() != 0) {
        sequences.push_back(stanza->sequence());
      }
    }
    CHECK(sequences.size() == expected);
    for (std::size_t i = 1; i < sequences.size(); ++i) {
      CHECK(sequences[i - 1] < sequences[i]);
    }
  }
  auto events = nodes.calls_two.events_after(nodes.bob, 0, 1000);
  CHECK(events.size() == expected);
}

TEST_CASE("terminated connections: unavailable at worst, then the service resumes") {
  if (!pg_server_url()) {
    return;
  }
  TestDatabase database("postgresql");
  Nodes nodes(database);
  auto bob_sink = std::make_shared<RecordingSink>();
  auto bob_session = nodes.calls_two.open_session(jid("bob@localhost/sse"), bob_sink);
  REQUIRE(nodes.calls_one.route(nodes.alice, nodes.bob, chat("bob@localhost", 0)));
  REQUIRE(bob_sink->wait_for(1));
  bob_sink->take();

  terminate_connections(database);
  int sent = 0;
  CHECK(eventually([&] {
    auto routed = nodes.calls_one.route(nodes.alice, nodes.bob, chat("bob@localhost", 1));
    if (!routed) {
      CHECK(routed.error() == Failure::unavailable);
      return false;
    }
    ++sent;
    return true;
  }));
  CHECK(eventually([&] {
    auto read = await<ArchiveResult>([&](auto done) {
      nodes.calls_two.api.archive->async_messages(
          ArchiveQuery{nodes.bob, std::nullopt, std::nullopt, std::nullopt, 50}, done);
    });
    if (!read) {
      CHECK(read.error() == Failure::unavailable);
    }
    return read.has_value() && read->size() == 2;
  }));
  // LISTEN is back on node two: what node one sends is delivered there.
  CHECK(sent == 1);
  REQUIRE(bob_sink->wait_for(1));
  bob_sink->take();
  REQUIRE(nodes.calls_one.route(nodes.alice, nodes.bob, chat("bob@localhost", 2)));
  REQUIRE(bob_sink->wait_for(1));
}

TEST_CASE("a stopped server: unavailable until it is back, then everything resumes") {
  if (!pg_server_url()) {
    return;
  }
  const char* script = std::getenv("MIMREST_PG_CLUSTER");
  REQUIRE(script != nullptr);
  const std::string dir = "/tmp/" + random_name("mimrest-pg-own");
  const std::string cluster = std::string("bash ") + script;
  REQUIRE(std::system((cluster + " start " + dir + " >/dev/null").c_str()) == 0);
  struct Cleanup {
    std::string command;
    ~Cleanup() { [[maybe_unused]] int ignored = std::system(command.c_str()); }
  } cleanup{cluster + " stop " + dir};

  const std::string url = read_line(std::filesystem::path(dir) / "url");
  SqlConfig config;
  config.type = SqlConfig::Type::postgresql;
  config.url = url;
  config.pool_size = 2;
  config.hosting.password_iterations = 1;
  config.log = [](std::string_view) {};
  auto one = open_backend(config);
  auto two = open_backend(config);
  Calls calls_one{one->backend()};
  Calls calls_two{two->backend()};
  const Jid alice = jid("alice@localhost");
  const Jid bob = jid("bob@localhost");
  REQUIRE(one->add_user(alice, "a"));
  REQUIRE(one->add_user(bob, "b"));
  auto bob_sink = std::make_shared<RecordingSink>();
  auto bob_session = calls_two.open_session(jid("bob@localhost/sse"), bob_sink);

  REQUIRE(std::system((cluster + " stop-server " + dir).c_str()) == 0);
  for (int i = 0; i < 3; ++i) {
    auto routed = calls_one.route(alice, bob, chat("bob@localhost", i));
    REQUIRE_FALSE(routed);
    CHECK(routed.error() == Failure::unavailable);
    auto items = await<RosterItemsResult>(
        [&](auto done) { calls_two.api.roster->async_items(alice, done); });
    REQUIRE_FALSE(items);
    CHECK(items.error() == Failure::unavailable);
  }
  auto added = calls_one.add(alice, bob);
  REQUIRE_FALSE(added);
  CHECK(added.error() == Failure::unavailable);

  REQUIRE(std::system((cluster + " start-server " + dir).c_str()) == 0);
  CHECK(eventually(
      [&] { return calls_one.route(alice, bob, chat("bob@localhost", 9)).has_value(); }));
  REQUIRE(bob_sink->wait_for(1));  // node two listens again (or filled the gap)
  CHECK(bob_sink->take()[0]->xml() == chat("bob@localhost", 9));
  CHECK(eventually([&] { return calls_one.add(alice, bob).has_value(); }));
  CHECK(calls_two.items(alice).size() == 1);
}
