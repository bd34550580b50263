// The SQL backend through its interfaces, on SQLite and PostgreSQL alike:
// accounts and passwords, routing and the one-to-one archive, sessions and
// sequences, tokens and the event log.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "sql_test_support.hpp"

using namespace mimrest;
using namespace mimrest::test::sql;

namespace {

struct Fixture {
  explicit Fixture(const std::string& driver, std::size_t max_result_limit = 50)
      : database(driver), clock(std::make_shared<std::atomic<std::int64_t>>(1'000'000)) {
    auto config = database.config();
    config.hosting.domains = {"localhost", "example.com"};
    config.hosting.max_result_limit = max_result_limit;
    config.hosting.now_us = [clock = clock] { return clock->load(); };
    backend = open_backend(config);
    calls.api = backend->backend();
    for (const Jid& user : {alice, bob, carol}) {
      REQUIRE(backend->add_user(user, "secret"));
    }
  }
  /// Alice sends `n` to `to` at time `at`.
  void send_at(std::int64_t at, const Jid& to, int n) {
    clock->store(at);
    REQUIRE(calls.route(alice, to, chat(to.bare_string(), n)));
  }
  std::vector<std::int64_t> stamps(const Jid& owner, std::optional<Jid> with,
                                   std::optional<std::int64_t> before, std::size_t limit,
                                   std::optional<std::int64_t> after = std::nullopt) {
    std::vector<std::int64_t> result;
    for (const auto& row :
         calls.messages(ArchiveQuery{owner, std::move(with), before, after, limit})) {
      result.push_back(row.timestamp_us);
    }
    return result;
  }

  TestDatabase database;
  std::shared_ptr<std::atomic<std::int64_t>> clock;
  std::unique_ptr<SqlBackend> backend;
  Calls calls;
  Jid alice = jid("alice@localhost");
  Jid bob = jid("bob@localhost");
  Jid carol = jid("carol@localhost");
};

using Stamps = std::vector<std::int64_t>;

TokenRecord token(const std::string& hash, const Jid& user, const std::string& family,
                  TokenKind kind, std::int64_t expires) {
  return TokenRecord{hash, user, family, kind, expires};
}

}  // namespace

TEST_CASE("accounts: add, exists, list, password, remove") {
  const std::string driver = GENERATE(from_range(drivers()));
  INFO("driver: " << driver);
  Fixture f(driver);
  auto& b = *f.backend;

  CHECK(*b.user_exists(f.alice));
  CHECK(*b.user_exists(jid("Alice@LOCALHOST/phone")));
  CHECK_FALSE(*b.user_exists(jid("dave@localhost")));
  CHECK(b.add_user(f.alice, "x").error() == AccountError::already_exists);
  CHECK(b.add_user(jid("dave@elsewhere.org"), "x").error() == AccountError::unknown_domain);
  CHECK(b.add_user(jid("localhost"), "x").error() == AccountError::invalid_jid);
  CHECK(b.add_user(jid("dave@localhost/res"), "x").error() == AccountError::invalid_jid);
  REQUIRE(b.add_user(jid("erin@example.com"), "pw"));

  auto users = b.list_users();
  REQUIRE(users);
  std::vector<std::string> names;
  for (const auto& user : *users) {
    names.push_back(user.bare_string());
  }
  std::vector<Jid> sorted = *users;
  std::sort(sorted.begin(), sorted.end());
  CHECK(sorted == *users);
  CHECK(names.size() == 4);

  CHECK(f.calls.verify(f.alice, "secret"));
  CHECK_FALSE(f.calls.verify(f.alice, "wrong"));
  CHECK_FALSE(f.calls.verify(jid("ghost@localhost"), "secret"));
  CHECK_FALSE(f.calls.verify(jid("alice@elsewhere.org"), "secret"));

  REQUIRE(b.set_password(f.alice, "new"));
  CHECK_FALSE(f.calls.verify(f.alice, "secret"));  // the cached success is gone
  CHECK(f.calls.verify(f.alice, "new"));
  CHECK(b.set_password(jid("ghost@localhost"), "x").error() == AccountError::not_found);

  REQUIRE(b.remove_user(f.carol));
  CHECK_FALSE(*b.user_exists(f.carol));
  CHECK_FALSE(f.calls.verify(f.carol, "secret"));
  CHECK(b.remove_user(f.carol).error() == AccountError::not_found);
}

TEST_CASE("accounts and credentials survive reopening") {
  const std::string driver = GENERATE(from_range(drivers()));
  INFO("driver: " << driver);
  TestDatabase database(driver);
  {
    auto backend = open_backend(database.config());
    REQUIRE(backend->add_user(jid("alice@localhost"), "secret"));
  }
  auto backend = open_backend(database.config());
  Calls calls{backend->backend()};
  CHECK(calls.verify(jid("alice@localhost"), "secret"));
  CHECK_FALSE(calls.verify(jid("alice@localhost"), "other"));
}

TEST_CASE("routing archives on both sides and delivers the recipient's row") {
  const std::string driver = GENERATE(from_range(drivers()));
  INFO("driver: " << driver);
  Fixture f(driver);
  auto bob_sink = std::make_shared<RecordingSink>();
  auto alice_sink = std::make_shared<RecordingSink>();
  auto bob_session = f.calls.open_session(jid("bob@localhost/sse-1"), bob_sink);
  auto bob_session2 = f.calls.open_session(jid("bob@localhost/sse-2"), bob_sink);
  auto alice_session = f.calls.open_session(jid("alice@localhost/sse-3"), alice_sink);
  CHECK(f.backend->session_count(f.bob) == 2);

  const std::string stanza = chat("bob@localhost", 1);
  REQUIRE(f.calls.route(f.alice, f.bob, stanza));
  REQUIRE(bob_sink->wait_for(2));
  auto got = bob_sink->take();
  REQUIRE(got.size() == 2);
  CHECK(got[0] == got[1]);  // one object for every session
  CHECK(got[0]->xml() == stanza);

  auto received =
      f.calls.messages(ArchiveQuery{f.bob, std::nullopt, std::nullopt, std::nullopt, 50});
  auto sent = f.calls.messages(ArchiveQuery{f.alice, std::nullopt, std::nullopt, std::nullopt, 50});
  REQUIRE(received.size() == 1);
  REQUIRE(sent.size() == 1);
  CHECK(received[0].stanza_xml == stanza);
  CHECK(sent[0].stanza_xml == stanza);
  // The delivered sequence is the recipient's row.
  CHECK(got[0]->sequence() == static_cast<std::uint64_t>(received[0].timestamp_us));
  CHECK(received[0].archive_id == std::to_string(received[0].timestamp_us));
  CHECK(sent[0].timestamp_us < received[0].timestamp_us);
  CHECK(alice_sink->size() == 0);  // no echo to the sender

  CHECK(f.calls.messages(ArchiveQuery{f.alice, f.bob, std::nullopt, std::nullopt, 50}).size() == 1);
  CHECK(f.calls.messages(ArchiveQuery{f.bob, f.alice, std::nullopt, std::nullopt, 50}).size() == 1);
  CHECK(f.calls.messages(ArchiveQuery{f.alice, f.alice, std::nullopt, std::nullopt, 50}).empty());

  // Unknown and remote recipients: archived for the sender only.
  REQUIRE(f.calls.route(f.alice, jid("ghost@localhost"), chat("ghost@localhost", 2)));
  REQUIRE(f.calls.route(f.alice, jid("x@elsewhere.org"), chat("x@elsewhere.org", 3)));
  CHECK(f.calls.messages(ArchiveQuery{f.alice, std::nullopt, std::nullopt, std::nullopt, 50})
            .size() == 3);
  CHECK(f.calls
            .messages(
                ArchiveQuery{jid("ghost@localhost"), std::nullopt, std::nullopt, std::nullopt, 50})
            .empty());

  // A closed session receives nothing more.
  bob_session.reset();
  bob_session2.reset();
  CHECK(f.backend->session_count(f.bob) == 0);
  REQUIRE(f.calls.route(f.alice, f.bob, chat("bob@localhost", 4)));
  CHECK(bob_sink->size() == 0);
}

TEST_CASE("archive paging: newest first window, before, after, limit and cap") {
  const std::string driver = GENERATE(from_range(drivers()));
  INFO("driver: " << driver);
  Fixture f(driver);
  for (int i = 1; i <= 5; ++i) {
    f.send_at(i * 100, f.bob, i);
  }
  // Alice's rows are at 100..500; Bob's copies one microsecond later.
  CHECK(f.stamps(f.alice, std::nullopt, std::nullopt, 50) == Stamps{100, 200, 300, 400, 500});
  CHECK(f.stamps(f.alice, std::nullopt, std::nullopt, 2) == Stamps{400, 500});
  CHECK(f.stamps(f.alice, std::nullopt, std::nullopt, 0).empty());
  CHECK(f.stamps(f.alice, std::nullopt, 300, 50) == Stamps{100, 200});
  CHECK(f.stamps(f.alice, std::nullopt, 301, 1) == Stamps{300});
  CHECK(f.stamps(f.alice, std::nullopt, 100, 50).empty());
  // after: the oldest `limit` strictly newer, oldest first.
  CHECK(f.stamps(f.alice, std::nullopt, std::nullopt, 2, 100) == Stamps{200, 300});
  CHECK(f.stamps(f.alice, std::nullopt, std::nullopt, 50, 300) == Stamps{400, 500});
  CHECK(f.stamps(f.alice, std::nullopt, 500, 50, 100) == Stamps{200, 300, 400});
  CHECK(f.stamps(f.alice, std::nullopt, 300, 50, 300).empty());
  CHECK(f.stamps(f.bob, f.alice, std::nullopt, 2) == Stamps{401, 501});
  CHECK(f.stamps(jid("ghost@localhost"), std::nullopt, std::nullopt, 50).empty());
}

TEST_CASE("archive reads are capped by max_result_limit") {
  const std::string driver = GENERATE(from_range(drivers()));
  INFO("driver: " << driver);
  Fixture f(driver, 3);
  for (int i = 1; i <= 5; ++i) {
    f.send_at(i * 100, f.bob, i);
  }
  CHECK(f.stamps(f.alice, std::nullopt, std::nullopt, 50) == Stamps{300, 400, 500});
  CHECK(f.stamps(f.alice, std::nullopt, std::nullopt, 50, 0) == Stamps{100, 200, 300});
  CHECK(f.stamps(f.alice, std::nullopt, std::nullopt, 2) == Stamps{400, 500});
}

TEST_CASE("with filters on the other party; timestamps stay unique when the clock stalls") {
  const std::string driver = GENERATE(from_range(drivers()));
  INFO("driver: " << driver);
  Fixture f(driver);
  f.send_at(100, f.bob, 1);
  f.send_at(200, f.carol, 2);
  f.send_at(300, f.bob, 3);
  f.send_at(400, f.carol, 4);
  CHECK(f.stamps(f.alice, f.bob, std::nullopt, 50) == Stamps{100, 300});
  CHECK(f.stamps(f.alice, jid("carol@localhost/res"), std::nullopt, 50) == Stamps{200, 400});
  CHECK(f.stamps(f.alice, f.carol, 400, 50) == Stamps{200});
  CHECK(f.stamps(f.alice, jid("dave@localhost"), std::nullopt, 50).empty());
  CHECK(f.stamps(f.bob, f.carol, std::nullopt, 50).empty());

  f.send_at(900, f.bob, 5);
  f.send_at(900, f.bob, 6);
  f.send_at(800, f.bob, 7);  // the clock went back
  const auto rows = f.stamps(f.alice, f.bob, std::nullopt, 50);
  REQUIRE(rows.size() == 5);
  CHECK(std::is_sorted(rows.begin(), rows.end()));
  CHECK(std::set<std::int64_t>(rows.begin(), rows.end()).size() == rows.size());
  CHECK(rows[2] == 900);
}

TEST_CASE("concurrent senders are all archived and delivered in sequence order") {
  const std::string driver = GENERATE(from_range(drivers()));
  INFO("driver: " << driver);
  TestDatabase database(driver);
  auto config = database.config();
  config.hosting.max_result_limit = 100'000;
  auto backend = open_backend(config);
  Calls calls{backend->backend()};
  const Jid bob = jid("bob@localhost");
  REQUIRE(backend->add_user(bob, "b"));
  constexpr int senders = 6;
  constexpr int per_sender = 60;
  std::vector<Jid> users;
  for (int i = 0; i < senders; ++i) {
    users.push_back(jid("user" + std::to_string(i) + "@localhost"));
    REQUIRE(backend->add_user(users.back(), "p"));
  }
  auto sink = std::make_shared<RecordingSink>();
  auto session = calls.open_session(jid("bob@localhost/sse"), sink);

  // Every sender keeps many requests in flight: they are committed in groups.
  std::atomic<int> ok{0};
  std::atomic<int> finished{0};
  Backend api = backend->backend();
  std::vector<std::thread> threads;
  for (int i = 0; i < senders; ++i) {
    threads.emplace_back([&, i] {
      for (int n = 0; n < per_sender; ++n) {
        api.router->async_route_chat_message(users[i], bob, chat("bob@localhost", n),
                                             [&](RouteResult result) {
                                               ok += result ? 1 : 0;
                                               ++finished;
                                             });
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  const auto deadline = std::chrono::steady_clock::now() + kWait;
  while (finished.load() < senders * per_sender && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  REQUIRE(ok.load() == senders * per_sender);
  REQUIRE(sink->wait_for(senders * per_sender));
  auto delivered = sink->take();
  for (std::size_t i = 1; i < delivered.size(); ++i) {
    CHECK(delivered[i - 1]->sequence() < delivered[i]->sequence());
  }
  const auto received =
      calls.messages(ArchiveQuery{bob, std::nullopt, std::nullopt, std::nullopt, 100'000});
  CHECK(received.size() == senders * per_sender);
  std::set<std::string> ids;
  for (const auto& row : received) {
    ids.insert(row.archive_id);
  }
  CHECK(ids.size() == received.size());
  CHECK(calls.last_sequence() >= delivered.back()->sequence());
}

TEST_CASE("tokens: issue, find, rotate, replay, revoke, expiry") {
  const std::string driver = GENERATE(from_range(drivers()));
  INFO("driver: " << driver);
  Fixture f(driver);
  const std::int64_t now = 1'000'000;
  const std::string access(32, 'a');
  const std::string refresh(32, 'r');
  const std::string family = "fam\0ily";
  REQUIRE(f.calls.issue({token(access, f.alice, family, TokenKind::access, now + 100),
                         token(refresh, f.alice, family, TokenKind::refresh, now + 1000)},
                        now));
  auto found = f.calls.find_token(access, now);
  REQUIRE(found);
  CHECK(found->user == f.alice);
  CHECK(found->family == family);
  CHECK(found->kind == TokenKind::access);
  CHECK(found->expires_us == now + 100);
  CHECK_FALSE(f.calls.find_token(access, now + 100));  // expired
  CHECK_FALSE(f.calls.find_token(std::string(32, 'x'), now));

  // Only a live refresh token rotates.
  CHECK(f.calls.rotate(access, {}, now) == RotateOutcome::invalid);
  CHECK(f.calls.rotate(std::string(32, 'x'), {}, now) == RotateOutcome::invalid);
  const std::string access2(32, 'b');
  const std::string refresh2(32, 's');
  CHECK(f.calls.rotate(refresh,
                       {token(access2, f.alice, family, TokenKind::access, now + 100),
                        token(refresh2, f.alice, family, TokenKind::refresh, now + 1000)},
                       now) == RotateOutcome::rotated);
  CHECK_FALSE(f.calls.find_token(refresh, now));  // spent
  CHECK(f.calls.find_token(access2, now));
  // Presenting the spent token again revokes the whole family.
  CHECK(f.calls.rotate(refresh, {}, now) == RotateOutcome::replayed);
  CHECK_FALSE(f.calls.find_token(access2, now));
  CHECK_FALSE(f.calls.find_token(refresh2, now));
  CHECK_FALSE(f.calls.find_token(access, now));
  CHECK(f.calls.rotate(refresh2, {}, now) == RotateOutcome::invalid);

  // revoke_user and a password change revoke everything of the user.
  REQUIRE(f.calls.issue({token("1", f.alice, "f2", TokenKind::access, now + 100),
                         token("2", f.bob, "f3", TokenKind::access, now + 100)},
                        now));
  REQUIRE(f.calls.revoke_user(f.alice));
  CHECK_FALSE(f.calls.find_token("1", now));
  CHECK(f.calls.find_token("2", now));
  REQUIRE(f.backend->set_password(f.bob, "new"));
  CHECK_FALSE(f.calls.find_token("2", now));

  // Tokens survive a restart.
  REQUIRE(f.calls.issue({token("3", f.carol, "f4", TokenKind::refresh, now + 100)}, now));
  f.backend.reset();
  f.backend = open_backend([&] {
    auto config = f.database.config();
    config.hosting.domains = {"localhost", "example.com"};
    return config;
  }());
  f.calls.api = f.backend->backend();
  CHECK(f.calls.find_token("3", now));
}

TEST_CASE("expired tokens are purged as new ones are issued") {
  const std::string driver = GENERATE(from_range(drivers()));
  INFO("driver: " << driver);
  TestDatabase database(driver);
  auto backend = open_backend(database.config());
  Calls calls{backend->backend()};
  const Jid alice = jid("alice@localhost");
  for (int i = 0; i < 200; ++i) {
    REQUIRE(calls.issue({token("old" + std::to_string(i), alice, "f", TokenKind::access, 10)}, 5));
  }
  for (int i = 0; i < 10; ++i) {
    REQUIRE(
        calls.issue({token("new" + std::to_string(i), alice, "g", TokenKind::access, 1000)}, 500));
  }
  backend.reset();
  // Counted straight from the database: 200 expired, 10 live, 64 purged per issue.
  CHECK(raw_connection(database)->integer_or("SELECT count(*) FROM mimrest_tokens", {}, -1) == 10);
}

TEST_CASE("event log: events after a sequence across the user's archive and rooms") {
  const std::string driver = GENERATE(from_range(drivers()));
  INFO("driver: " << driver);
  Fixture f(driver);
  CHECK(f.calls.last_sequence() == 0);
  auto sink = std::make_shared<RecordingSink>();
  auto session = f.calls.open_session(jid("bob@localhost/sse"), sink);

  f.clock->store(2'000'000);
  REQUIRE(f.calls.route(f.alice, f.bob, chat("bob@localhost", 1)));    // received by bob
  REQUIRE(f.calls.route(f.bob, f.alice, chat("alice@localhost", 2)));  // sent by bob
  auto room = f.calls.create_room(f.alice, std::nullopt, RoomConfig{"n", "s"});
  REQUIRE(room);
  REQUIRE(f.calls.set_affiliation(f.alice, *room, f.bob, Affiliation::member));
  REQUIRE(
      f.calls.send_message(f.alice, *room, "<message type=\"groupchat\"><body>r</body></message>"));
  auto other = f.calls.create_room(f.alice, std::nullopt, RoomConfig{"n", "s"});
  REQUIRE(other);
  REQUIRE(f.calls.send_message(f.alice, *other,
                               "<message type=\"groupchat\"><body>x</body></message>"));
  REQUIRE(f.calls.route(f.carol, f.bob, chat("bob@localhost", 3)));

  const auto events = f.calls.events_after(f.bob, 0, 100);
  REQUIRE(events.size() == 4);  // chat 1, affiliation, room message, chat 3
  for (std::size_t i = 1; i < events.size(); ++i) {
    CHECK(events[i - 1].sequence < events[i].sequence);
  }
  CHECK(events[0].stanza_xml.find("<body>1</body>") != std::string::npos);
  CHECK(events[1].stanza_xml.find("muclight:0#affiliations") != std::string::npos);
  CHECK(events[2].stanza_xml.find("<body>r</body>") != std::string::npos);
  CHECK(events[3].stanza_xml.find("<body>3</body>") != std::string::npos);
  CHECK(f.calls.last_sequence() >= events.back().sequence);

  // What the live stream received carries the same sequences.
  REQUIRE(sink->wait_for(4));
  std::vector<std::uint64_t> live;
  for (const auto& stanza : sink->take()) {
    if (stanza->sequence() != 0) {
      live.push_back(stanza->sequence());
    }
  }
  std::vector<std::uint64_t> logged;
  for (const auto& event : events) {
    logged.push_back(event.sequence);
  }
  CHECK(live == logged);

  CHECK(f.calls.events_after(f.bob, events[1].sequence, 100).size() == 2);
  CHECK(f.calls.events_after(f.bob, events[1].sequence, 1).size() == 1);
  CHECK(f.calls.events_after(f.bob, events[3].sequence, 100).empty());
  CHECK(f.calls.events_after(f.bob, 0, 0).empty());
  CHECK(f.calls.events_after(jid("ghost@localhost"), 0, 100).empty());
  // Leaving a room takes its messages out of the user's log.
  REQUIRE(f.calls.set_affiliation(f.bob, *room, f.bob, Affiliation::none));
  CHECK(f.calls.events_after(f.bob, 0, 100).size() == 2);
}
