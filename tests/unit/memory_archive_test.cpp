// One-to-one archive paging and concurrent routing of the in-memory backend.
#include <catch2/catch.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "mimrest/memory/memory_backend.hpp"
#include "test_jid.hpp"

using mimrest::ArchivedMessage;
using mimrest::ArchiveQuery;
using mimrest::Jid;
using mimrest::memory::MemoryBackend;
using mimrest::memory::MemoryBackendConfig;
using mimrest::test::jid;

namespace {

std::string chat(const std::string& to, int n) {
  return "<message type=\"chat\" to=\"" + to + "\"><body>" + std::to_string(n) +
         "</body></message>";
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
    backend.backend().router.route_chat_message(alice, to, chat(to.bare_string(), n));
  }
  std::vector<ArchivedMessage> read(const Jid& owner, std::optional<Jid> with,
                                    std::optional<std::int64_t> before, std::size_t limit) {
    return backend.backend().archive.recent_messages(
        ArchiveQuery{owner, std::move(with), before, limit});
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

  std::vector<std::thread> threads;
  for (int i = 0; i < senders; ++i) {
    threads.emplace_back([&, i] {
      for (int n = 0; n < per_sender; ++n) {
        api.router.route_chat_message(users[i], bob, chat("bob@localhost", n));
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }

  const auto received =
      api.archive.recent_messages(ArchiveQuery{bob, std::nullopt, std::nullopt, 100'000});
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
    CHECK(api.archive.recent_messages(ArchiveQuery{user, bob, std::nullopt, 100'000}).size() ==
          per_sender);
  }
}
