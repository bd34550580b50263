// One-to-one archive paging, concurrent routing, the archive sequence and the
// event log of the in-memory backend.
#include <catch2/catch.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "await.hpp"
#include "mimrest/memory/memory_backend.hpp"
#include "recording_stanza_sink.hpp"
#include "test_jid.hpp"

using mimrest::Affiliation;
using mimrest::ArchivedMessage;
using mimrest::ArchiveQuery;
using mimrest::EventLog;
using mimrest::Jid;
using mimrest::LoggedEvent;
using mimrest::MessageArchive;
using mimrest::MessageRouter;
using mimrest::MucLight;
using mimrest::RoomConfig;
using mimrest::SessionManager;
using mimrest::memory::MemoryBackend;
using mimrest::memory::MemoryBackendConfig;
using mimrest::test::await;
using mimrest::test::jid;
using mimrest::test::RecordingStanzaSink;

namespace {

std::string chat(const std::string& to, int n) {
  return "<message type=\"chat\" to=\"" + to + "\"><body>" + std::to_string(n) +
         "</body></message>";
}

/// Routes a chat message, which must succeed.
void route(MemoryBackend& backend, const Jid& from, const Jid& to, std::string stanza) {
  REQUIRE(await(*backend.backend().router, &MessageRouter::async_route_chat_message, from, to,
                std::move(stanza)));
}

/// Reads an archive, which must succeed.
std::vector<ArchivedMessage> read_archive(MemoryBackend& backend, const ArchiveQuery& query) {
  auto rows = await(*backend.backend().archive, &MessageArchive::async_messages, query);
  REQUIRE(rows);
  return *rows;
}

/// Archive with a hand-driven clock.
struct Fixture {
  // Declared first: the backend's clock reads it.
  std::shared_ptr<std::atomic<std::int64_t>> clock =
      std::make_shared<std::atomic<std::int64_t>>(1'000'000);

  explicit Fixture(std::size_t max_result_limit = 50) : backend(make_config(max_result_limit)) {
    REQUIRE(backend.add_user(alice, "a"));
    REQUIRE(backend.add_user(bob, "b"));
    REQUIRE(backend.add_user(carol, "c"));
  }
  MemoryBackendConfig make_config(std::size_t max_result_limit) {
    MemoryBackendConfig config;
    config.password_iterations = 16;
    config.max_result_limit = max_result_limit;
    config.now_us = [clock = clock] { return clock->load(); };
    return config;
  }
  /// Alice sends `n` to `to` at time `at`.
  void send_at(std::int64_t at, const Jid& to, int n) {
    clock->store(at);
    route(backend, alice, to, chat(to.bare_string(), n));
  }
  std::vector<ArchivedMessage> read(const Jid& owner, std::optional<Jid> with,
                                    std::optional<std::int64_t> before, std::size_t limit) {
    return read_archive(backend, ArchiveQuery{owner, std::move(with), before, std::nullopt, limit});
  }
  std::vector<ArchivedMessage> read_after(const Jid& owner, std::optional<Jid> with,
                                          std::int64_t after, std::optional<std::int64_t> before,
                                          std::size_t limit) {
    return read_archive(backend, ArchiveQuery{owner, std::move(with), before, after, limit});
  }

  MemoryBackend backend;
  Jid alice = jid("alice@localhost");
  Jid bob = jid("bob@localhost");
  Jid carol = jid("carol@localhost");
};

std::vector<std::int64_t> timestamps(const std::vector<ArchivedMessage>& rows) {
  std::vector<std::int64_t> result;
  for (const auto& row : rows) {
    result.push_back(row.timestamp_us);
  }
  return result;
}

}  // namespace

TEST_CASE("archive reads return the newest rows, oldest first") {
  Fixture f;
  for (int i = 1; i <= 5; ++i) {
    f.send_at(i * 100, f.bob, i);
  }
  CHECK(timestamps(f.read(f.alice, std::nullopt, std::nullopt, 50)) ==
        std::vector<std::int64_t>{100, 200, 300, 400, 500});
  CHECK(timestamps(f.read(f.alice, std::nullopt, std::nullopt, 2)) ==
        std::vector<std::int64_t>{400, 500});
  CHECK(f.read(f.alice, std::nullopt, std::nullopt, 0).empty());
  CHECK(f.read(f.alice, std::nullopt, std::nullopt, 2).back().stanza_xml ==
        chat("bob@localhost", 5));
}

TEST_CASE("before excludes the row at exactly that time") {
  Fixture f;
  for (int i = 1; i <= 5; ++i) {
    f.send_at(i * 100, f.bob, i);
  }
  CHECK(timestamps(f.read(f.alice, std::nullopt, 300, 50)) == std::vector<std::int64_t>{100, 200});
  CHECK(timestamps(f.read(f.alice, std::nullopt, 301, 50)) ==
        std::vector<std::int64_t>{100, 200, 300});
  CHECK(timestamps(f.read(f.alice, std::nullopt, 301, 1)) == std::vector<std::int64_t>{300});
  CHECK(f.read(f.alice, std::nullopt, 100, 50).empty());
  CHECK(f.read(f.alice, std::nullopt, 0, 50).empty());
  CHECK(timestamps(f.read(f.alice, std::nullopt, 1'000'000, 50)).size() == 5);
}

TEST_CASE("after pages forward: the oldest rows strictly after the cursor") {
  Fixture f;
  for (int i = 1; i <= 5; ++i) {
    f.send_at(i * 100, f.bob, i);
  }
  CHECK(timestamps(f.read_after(f.alice, std::nullopt, 100, std::nullopt, 2)) ==
        std::vector<std::int64_t>{200, 300});
  CHECK(timestamps(f.read_after(f.alice, std::nullopt, 300, std::nullopt, 2)) ==
        std::vector<std::int64_t>{400, 500});
  CHECK(timestamps(f.read_after(f.alice, std::nullopt, 99, std::nullopt, 50)) ==
        std::vector<std::int64_t>{100, 200, 300, 400, 500});
  CHECK(timestamps(f.read_after(f.alice, std::nullopt, 101, std::nullopt, 1)) ==
        std::vector<std::int64_t>{200});
  CHECK(f.read_after(f.alice, std::nullopt, 500, std::nullopt, 50).empty());
  CHECK(f.read_after(f.alice, std::nullopt, 100, std::nullopt, 0).empty());
  CHECK(f.read_after(f.alice, std::nullopt, 1'000'000, std::nullopt, 50).empty());

  // With before as well: a window, both bounds exclusive, still the oldest first.
  CHECK(timestamps(f.read_after(f.alice, std::nullopt, 100, 400, 50)) ==
        std::vector<std::int64_t>{200, 300});
  CHECK(timestamps(f.read_after(f.alice, std::nullopt, 100, 500, 1)) ==
        std::vector<std::int64_t>{200});
  CHECK(f.read_after(f.alice, std::nullopt, 200, 300, 50).empty());
  CHECK(f.read_after(f.alice, std::nullopt, 400, 200, 50).empty());

  // Paging forward from the start visits every row once.
  std::vector<std::int64_t> seen;
  std::int64_t cursor = 0;
  for (;;) {
    auto page = f.read_after(f.alice, std::nullopt, cursor, std::nullopt, 2);
    if (page.empty()) {
      break;
    }
    for (auto stamp : timestamps(page)) {
      seen.push_back(stamp);
    }
    cursor = page.back().timestamp_us;
  }
  CHECK(seen == std::vector<std::int64_t>{100, 200, 300, 400, 500});
}

TEST_CASE("after combines with the other-party filter and the host's cap") {
  Fixture f(3);
  f.send_at(100, f.bob, 1);
  f.send_at(200, f.carol, 2);
  f.send_at(300, f.bob, 3);
  f.send_at(400, f.carol, 4);
  f.send_at(500, f.bob, 5);
  f.send_at(600, f.bob, 6);
  f.send_at(700, f.bob, 7);
  CHECK(timestamps(f.read_after(f.alice, f.bob, 100, std::nullopt, 2)) ==
        std::vector<std::int64_t>{300, 500});
  CHECK(timestamps(f.read_after(f.alice, f.carol, 0, std::nullopt, 50)) ==
        std::vector<std::int64_t>{200, 400});
  // Capped at three rows: the OLDEST three after the cursor, unlike a read without it.
  CHECK(timestamps(f.read_after(f.alice, f.bob, 0, std::nullopt, 50)) ==
        std::vector<std::int64_t>{100, 300, 500});
  CHECK(timestamps(f.read(f.alice, f.bob, std::nullopt, 50)) ==
        std::vector<std::int64_t>{500, 600, 700});
}

TEST_CASE("the host caps the number of rows per read") {
  Fixture f(3);
  for (int i = 1; i <= 5; ++i) {
    f.send_at(i * 100, f.bob, i);
  }
  CHECK(timestamps(f.read(f.alice, std::nullopt, std::nullopt, 50)) ==
        std::vector<std::int64_t>{300, 400, 500});
  CHECK(timestamps(f.read(f.alice, std::nullopt, std::nullopt, 2)) ==
        std::vector<std::int64_t>{400, 500});
}

TEST_CASE("with filters on the other party, comparing bare JIDs") {
  Fixture f;
  f.send_at(100, f.bob, 1);
  f.send_at(200, f.carol, 2);
  f.send_at(300, f.bob, 3);
  f.send_at(400, f.carol, 4);
  CHECK(timestamps(f.read(f.alice, f.bob, std::nullopt, 50)) ==
        std::vector<std::int64_t>{100, 300});
  CHECK(timestamps(f.read(f.alice, jid("carol@localhost/res"), std::nullopt, 50)) ==
        std::vector<std::int64_t>{200, 400});
  CHECK(timestamps(f.read(f.alice, f.carol, std::nullopt, 1)) == std::vector<std::int64_t>{400});
  CHECK(timestamps(f.read(f.alice, f.carol, 400, 50)) == std::vector<std::int64_t>{200});
  CHECK(f.read(f.alice, jid("dave@localhost"), std::nullopt, 50).empty());
  // Bob's archive holds only his conversation with Alice.
  CHECK(timestamps(f.read(f.bob, std::nullopt, std::nullopt, 50)) ==
        std::vector<std::int64_t>{100, 300});
  CHECK(f.read(f.bob, f.carol, std::nullopt, 50).empty());
}

TEST_CASE("timestamps stay unique and increasing when the clock stalls or goes back") {
  Fixture f;
  f.send_at(500, f.bob, 1);
  f.send_at(500, f.bob, 2);
  f.send_at(400, f.bob, 3);
  f.send_at(900, f.bob, 4);
  const auto rows = f.read(f.alice, std::nullopt, std::nullopt, 50);
  CHECK(timestamps(rows) == std::vector<std::int64_t>{500, 501, 502, 900});
  std::set<std::string> ids;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    ids.insert(rows[i].archive_id);
    if (i > 0) {
      CHECK(std::stoll(rows[i - 1].archive_id) < std::stoll(rows[i].archive_id));
    }
  }
  CHECK(ids.size() == rows.size());
}

TEST_CASE("an unknown owner has an empty archive") {
  Fixture f;
  CHECK(f.read(jid("ghost@localhost"), std::nullopt, std::nullopt, 50).empty());
}

TEST_CASE("concurrent sends from many threads are all archived") {
  MemoryBackendConfig config;
  config.password_iterations = 16;
  config.max_result_limit = 100'000;
  MemoryBackend backend(config);
  constexpr int senders = 6;
  constexpr int per_sender = 300;
  const Jid bob = jid("bob@localhost");
  REQUIRE(backend.add_user(bob, "b"));
  std::vector<Jid> users;
  for (int i = 0; i < senders; ++i) {
    users.push_back(jid("user" + std::to_string(i) + "@localhost"));
    REQUIRE(backend.add_user(users.back(), "p"));
  }
  auto api = backend.backend();

  // Assertions stay on the test's thread: the senders only count failures.
  std::atomic<int> failed{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < senders; ++i) {
    threads.emplace_back([&, i] {
      for (int n = 0; n < per_sender; ++n) {
        auto routed =
            mimrest::test::call_inline(*api.router, &MessageRouter::async_route_chat_message,
                                       users[i], bob, chat("bob@localhost", n));
        if (!routed || !*routed) {
          failed.fetch_add(1);
        }
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  CHECK(failed.load() == 0);

  const auto received =
      read_archive(backend, ArchiveQuery{bob, std::nullopt, std::nullopt, std::nullopt, 100'000});
  CHECK(received.size() == senders * per_sender);
  std::set<std::string> ids;
  for (std::size_t i = 0; i < received.size(); ++i) {
    ids.insert(received[i].archive_id);
    if (i > 0) {
      CHECK(received[i - 1].timestamp_us < received[i].timestamp_us);
    }
  }
  CHECK(ids.size() == received.size());
  for (const auto& user : users) {
    CHECK(read_archive(backend, ArchiveQuery{user, bob, std::nullopt, std::nullopt, 100'000})
              .size() == per_sender);
  }
}

namespace {

/// Users with open sessions, a room, and the event log.
struct SequenceFixture {
  SequenceFixture() : backend(config()), api(backend.backend()) {
    for (const Jid* user : {&alice, &bob, &carol}) {
      REQUIRE(backend.add_user(*user, "p"));
      sinks.push_back(std::make_shared<RecordingStanzaSink>());
      auto opened = await(*api.sessions, &SessionManager::async_open_session,
                          jid(user->bare_string() + "/sse-1"), sinks.back());
      REQUIRE(opened);
      sessions.push_back(std::move(*opened));
    }
  }
  static MemoryBackendConfig config() {
    MemoryBackendConfig result;
    result.password_iterations = 16;
    return result;
  }
  RecordingStanzaSink& sink(const Jid& user) {
    return *sinks[user == alice ? 0 : user == bob ? 1 : 2];
  }
  std::vector<LoggedEvent> events(const Jid& user, std::uint64_t after, std::size_t limit = 100) {
    auto result = await(*api.events, &EventLog::async_events_after, user, after, limit);
    REQUIRE(result);
    return *result;
  }
  std::uint64_t last_sequence() {
    auto result = await(*api.events, &EventLog::async_last_sequence);
    REQUIRE(result);
    return *result;
  }
  Jid create_room(const Jid& owner) {
    auto room = await(*api.muc_light, &MucLight::async_create_room, owner, std::nullopt,
                      RoomConfig{"n", "s"});
    REQUIRE(room);
    return *room;
  }
  void add_member(const Jid& owner, const Jid& room, const Jid& member) {
    REQUIRE(await(*api.muc_light, &MucLight::async_set_affiliation, owner, room, member,
                  Affiliation::member));
  }
  void leave(const Jid& user, const Jid& room) {
    REQUIRE(await(*api.muc_light, &MucLight::async_set_affiliation, user, room, user,
                  Affiliation::none));
  }
  void send_to_room(const Jid& sender, const Jid& room, const std::string& body) {
    REQUIRE(await(*api.muc_light, &MucLight::async_send_message, sender, room,
                  "<message type=\"groupchat\"><body>" + body + "</body></message>"));
  }

  MemoryBackend backend;
  mimrest::Backend api;
  std::vector<std::shared_ptr<RecordingStanzaSink>> sinks;
  std::vector<std::unique_ptr<mimrest::Session>> sessions;
  Jid alice = jid("alice@localhost");
  Jid bob = jid("bob@localhost");
  Jid carol = jid("carol@localhost");
};

std::vector<std::uint64_t> sequences_of(const std::vector<LoggedEvent>& events) {
  std::vector<std::uint64_t> result;
  for (const auto& event : events) {
    result.push_back(event.sequence);
  }
  return result;
}

}  // namespace

TEST_CASE_METHOD(SequenceFixture,
                 "every archived row is numbered from one sequence across users and rooms") {
  CHECK(last_sequence() == 0);
  CHECK(events(alice, 0).empty());

  route(backend, alice, bob, chat("bob@localhost", 1));    // alice's row 1, bob's row 2
  route(backend, bob, carol, chat("carol@localhost", 2));  // bob's row 3, carol's row 4
  route(backend, alice, jid("ghost@localhost"), chat("ghost@localhost", 3));  // alice's row 5
  const Jid room = create_room(alice);                                        // not archived
  add_member(alice, room, bob);                                               // room row 6
  send_to_room(alice, room, "hi");                                            // room row 7

  CHECK(last_sequence() == 7);
  // The event log holds what the user's streams got: not the one-to-one
  // messages the user sent (rows 1, 3 and 5).
  CHECK(sequences_of(events(alice, 0)) == std::vector<std::uint64_t>{6, 7});
  CHECK(sequences_of(events(bob, 0)) == std::vector<std::uint64_t>{2, 6, 7});
  CHECK(sequences_of(events(carol, 0)) == std::vector<std::uint64_t>{4});

  // A delivery carries the sequence of the recipient's row; a room broadcast
  // that of the room's row; the unarchived creation notice none.
  CHECK(sink(bob).sequences() == std::vector<std::uint64_t>{2, 6, 7});
  CHECK(sink(carol).sequences() == std::vector<std::uint64_t>{4});
  CHECK(sink(alice).sequences() == std::vector<std::uint64_t>{0, 6, 7});
}

TEST_CASE_METHOD(SequenceFixture, "a message to oneself is archived and delivered once") {
  route(backend, alice, alice, chat("alice@localhost", 1));
  CHECK(last_sequence() == 1);
  CHECK(sequences_of(events(alice, 0)) == std::vector<std::uint64_t>{1});
  CHECK(sink(alice).sequences() == std::vector<std::uint64_t>{1});
}

TEST_CASE_METHOD(SequenceFixture, "the event log replays one-to-one and room rows, oldest first") {
  route(backend, alice, bob, chat("bob@localhost", 1));  // 1, 2
  const Jid room = create_room(bob);
  add_member(bob, room, alice);                              // 3
  send_to_room(bob, room, "one");                            // 4
  route(backend, carol, alice, chat("alice@localhost", 2));  // 5, 6
  send_to_room(alice, room, "two");                          // 7

  const auto all = events(alice, 0);
  // Row 1 is a message Alice sent: her streams never got it.
  CHECK(sequences_of(all) == std::vector<std::uint64_t>{3, 4, 6, 7});
  // Each event is the archived row: same stanza, same timestamp.
  const auto one_to_one =
      read_archive(backend, ArchiveQuery{alice, std::nullopt, std::nullopt, std::nullopt, 50});
  REQUIRE(one_to_one.size() == 2);
  CHECK(all[2].stanza_xml == one_to_one[1].stanza_xml);
  CHECK(all[2].timestamp_us == one_to_one[1].timestamp_us);
  auto room_rows = await(*api.muc_light, &MucLight::async_messages,
                         mimrest::RoomArchiveQuery{alice, room, std::nullopt, std::nullopt, 50});
  REQUIRE(room_rows);
  REQUIRE(room_rows->size() == 3);
  CHECK(all[0].stanza_xml == (*room_rows)[0].stanza_xml);
  CHECK(all[3].stanza_xml == (*room_rows)[2].stanza_xml);
  CHECK(all[3].timestamp_us == (*room_rows)[2].timestamp_us);
  CHECK(all[3].stanza_xml.find("type=\"groupchat\"") != std::string::npos);
  CHECK(all[3].stanza_xml.find("from=\"" + room.bare_string() + "/alice@localhost\"") !=
        std::string::npos);

  // Strictly after the given sequence; at most `limit`, the oldest of them.
  CHECK(sequences_of(events(alice, 3)) == std::vector<std::uint64_t>{4, 6, 7});
  CHECK(sequences_of(events(alice, 2, 2)) == std::vector<std::uint64_t>{3, 4});
  CHECK(sequences_of(events(alice, 0, 1)) == std::vector<std::uint64_t>{3});
  CHECK(events(alice, 0, 0).empty());
  CHECK(events(alice, 7).empty());
  CHECK(events(alice, 1000).empty());
  CHECK(last_sequence() == 7);
  CHECK(events(jid("ghost@localhost"), 0).empty());
}

TEST_CASE_METHOD(SequenceFixture, "the event log covers only the rooms the user occupies now") {
  const Jid room = create_room(alice);
  add_member(alice, room, bob);                          // 1
  send_to_room(alice, room, "a");                        // 2
  route(backend, alice, bob, chat("bob@localhost", 1));  // 3, 4
  CHECK(sequences_of(events(bob, 0)) == std::vector<std::uint64_t>{1, 2, 4});

  leave(bob, room);                // 5, archived in the room Bob no longer occupies
  send_to_room(alice, room, "b");  // 6
  CHECK(sequences_of(events(bob, 0)) == std::vector<std::uint64_t>{4});
  CHECK(sequences_of(events(alice, 0)) == std::vector<std::uint64_t>{1, 2, 5, 6});
  CHECK(last_sequence() == 6);
}
