// Chat routing and live sessions of the in-memory backend.
#include <catch2/catch.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "await.hpp"
#include "mimrest/memory/memory_backend.hpp"
#include "recording_stanza_sink.hpp"
#include "test_jid.hpp"

using mimrest::ArchivedMessage;
using mimrest::ArchiveQuery;
using mimrest::Jid;
using mimrest::MessageArchive;
using mimrest::MessageRouter;
using mimrest::OpenSessionResult;
using mimrest::SessionManager;
using mimrest::StanzaSink;
using mimrest::memory::MemoryBackend;
using mimrest::memory::MemoryBackendConfig;
using mimrest::test::await;
using mimrest::test::jid;
using RecordingSink = mimrest::test::RecordingStanzaSink;

namespace {

MemoryBackendConfig fast_config() {
  MemoryBackendConfig config;
  config.password_iterations = 16;
  return config;
}

std::string chat(const std::string& from, const std::string& to, const std::string& body) {
  return "<message type=\"chat\" from=\"" + from + "\" to=\"" + to + "\" id=\"" + body +
         "\"><body>" + body + "</body></message>";
}

/// Opens a session, which must succeed.
std::unique_ptr<mimrest::Session> open_session(SessionManager& sessions, const Jid& full_jid,
                                               std::shared_ptr<StanzaSink> sink) {
  auto opened = await(sessions, &SessionManager::async_open_session, full_jid, std::move(sink));
  REQUIRE(opened);
  return std::move(*opened);
}

/// The backend's interfaces called through await(): the memory backend
/// completes each operation inline.
struct Interfaces {
  explicit Interfaces(const mimrest::Backend& backend)
      : sessions{*backend.sessions}, router{*backend.router}, archive{*backend.archive} {}

  struct Sessions {
    SessionManager& manager;
    std::unique_ptr<mimrest::Session> open_session(const Jid& full_jid,
                                                   std::shared_ptr<StanzaSink> sink) {
      return ::open_session(manager, full_jid, std::move(sink));
    }
  } sessions;
  struct Router {
    MessageRouter& router;
    /// Routes a chat message, which must succeed.
    void route_chat_message(const Jid& from, const Jid& to, std::string stanza_xml) {
      REQUIRE(
          await(router, &MessageRouter::async_route_chat_message, from, to, std::move(stanza_xml)));
    }
  } router;
  struct Archive {
    MessageArchive& archive;
    /// The rows the query selects; the read must succeed.
    std::vector<ArchivedMessage> recent_messages(const ArchiveQuery& query) {
      auto rows = await(archive, &MessageArchive::async_messages, query);
      REQUIRE(rows);
      return *rows;
    }
  } archive;
};

/// A query for the newest `limit` messages of `owner`, optionally with `with`.
ArchiveQuery newest(const Jid& owner, std::optional<Jid> with, std::size_t limit) {
  return ArchiveQuery{owner, std::move(with), std::nullopt, std::nullopt, limit};
}

struct Fixture {
  Fixture() : backend(fast_config()), api(backend.backend()) {
    REQUIRE(backend.add_user(alice, "a"));
    REQUIRE(backend.add_user(bob, "b"));
  }
  MemoryBackend backend;
  Interfaces api;
  Jid alice = jid("alice@localhost");
  Jid bob = jid("bob@localhost");
};

}  // namespace

TEST_CASE_METHOD(Fixture, "a routed chat message is archived on both sides and delivered") {
  auto bob_sink = std::make_shared<RecordingSink>();
  auto alice_sink = std::make_shared<RecordingSink>();
  auto bob_session = api.sessions.open_session(jid("bob@localhost/sse-1"), bob_sink);
  auto alice_session = api.sessions.open_session(jid("alice@localhost/sse-2"), alice_sink);

  const std::string stanza = chat("alice@localhost", "bob@localhost", "hi");
  api.router.route_chat_message(alice, bob, stanza);

  CHECK(bob_sink->stanzas() == std::vector<std::string>{stanza});
  CHECK(bob_sink->sequences() == std::vector<std::uint64_t>{2});  // Bob's row, after Alice's
  CHECK(alice_sink->stanzas().empty());                           // no echo to the sender

  auto sent = api.archive.recent_messages(newest(alice, std::nullopt, 50));
  auto received = api.archive.recent_messages(newest(bob, std::nullopt, 50));
  REQUIRE(sent.size() == 1);
  REQUIRE(received.size() == 1);
  CHECK(sent[0].stanza_xml == stanza);
  CHECK(received[0].stanza_xml == stanza);

  // Each side files it under the other party.
  CHECK(api.archive.recent_messages(newest(alice, bob, 50)).size() == 1);
  CHECK(api.archive.recent_messages(newest(bob, alice, 50)).size() == 1);
  CHECK(api.archive.recent_messages(newest(alice, alice, 50)).empty());
}

TEST_CASE_METHOD(Fixture, "messages to unknown or remote users are archived for the sender only") {
  const Jid ghost = jid("ghost@localhost");
  const Jid remote = jid("carol@elsewhere.org");
  api.router.route_chat_message(alice, ghost, chat("alice@localhost", "ghost@localhost", "1"));
  api.router.route_chat_message(alice, remote, chat("alice@localhost", "carol@elsewhere.org", "2"));

  CHECK(api.archive.recent_messages(newest(alice, std::nullopt, 50)).size() == 2);
  CHECK(api.archive.recent_messages(newest(ghost, std::nullopt, 50)).empty());
  CHECK(api.archive.recent_messages(newest(remote, std::nullopt, 50)).empty());
}

TEST_CASE_METHOD(Fixture, "every open session of the recipient receives the message") {
  auto first = std::make_shared<RecordingSink>();
  auto second = std::make_shared<RecordingSink>();
  auto s1 = api.sessions.open_session(jid("bob@localhost/sse-1"), first);
  auto s2 = api.sessions.open_session(jid("bob@localhost/sse-2"), second);
  CHECK(backend.session_count(bob) == 2);
  CHECK(backend.session_count(alice) == 0);

  api.router.route_chat_message(alice, bob, chat("alice@localhost", "bob@localhost", "x"));
  CHECK(first->stanzas().size() == 1);
  CHECK(second->stanzas().size() == 1);
}

TEST_CASE_METHOD(Fixture, "closing a session stops delivery and lowers the count") {
  auto sink = std::make_shared<RecordingSink>();
  auto other = std::make_shared<RecordingSink>();
  auto session = api.sessions.open_session(jid("bob@localhost/sse-1"), sink);
  auto kept = api.sessions.open_session(jid("bob@localhost/sse-2"), other);
  api.router.route_chat_message(alice, bob, chat("alice@localhost", "bob@localhost", "1"));

  session.reset();
  CHECK(backend.session_count(bob) == 1);
  api.router.route_chat_message(alice, bob, chat("alice@localhost", "bob@localhost", "2"));
  CHECK(sink->stanzas().size() == 1);
  CHECK(other->stanzas().size() == 2);

  kept.reset();
  CHECK(backend.session_count(bob) == 0);
  api.router.route_chat_message(alice, bob, chat("alice@localhost", "bob@localhost", "3"));
  CHECK(other->stanzas().size() == 2);
  // Offline messages are still archived.
  CHECK(api.archive.recent_messages(newest(bob, std::nullopt, 50)).size() == 3);
}

namespace {

/// A sink that closes its own session from inside deliver(): the registry
/// must not hold its lock while a sink runs.
class SelfClosingSink final : public StanzaSink {
 public:
  void deliver(const mimrest::RoutedStanzaPtr&) override {
    ++delivered;
    session.reset();
  }
  std::unique_ptr<mimrest::Session> session;
  int delivered = 0;
};

}  // namespace

TEST_CASE_METHOD(Fixture, "a sink may close its own session while being delivered to") {
  auto sink = std::make_shared<SelfClosingSink>();
  sink->session = api.sessions.open_session(jid("bob@localhost/sse-1"), sink);
  api.router.route_chat_message(alice, bob, chat("alice@localhost", "bob@localhost", "1"));
  CHECK(sink->delivered == 1);
  CHECK(backend.session_count(bob) == 0);
  api.router.route_chat_message(alice, bob, chat("alice@localhost", "bob@localhost", "2"));
  CHECK(sink->delivered == 1);
}

TEST_CASE_METHOD(Fixture, "a session may outlive the backend") {
  std::unique_ptr<mimrest::Session> session;
  {
    MemoryBackend other(fast_config());
    session = open_session(*other.backend().sessions, jid("bob@localhost/sse-1"),
                           std::make_shared<RecordingSink>());
  }
  session.reset();  // must not touch the destroyed registry
  SUCCEED();
}

TEST_CASE_METHOD(Fixture, "sessions open and close while messages are delivered") {
  std::atomic<bool> stop{false};
  // Built here: jid() asserts, and assertions stay on the test's thread.
  const Jid churn_jid = jid("bob@localhost/sse-churn");
  // No assertions off the test's thread: the session opened is closed at
  // once, when the result is dropped.
  SessionManager& sessions = *backend.backend().sessions;
  std::thread churn([&] {
    while (!stop.load()) {
      sessions.async_open_session(churn_jid, std::make_shared<RecordingSink>(),
                                  [](OpenSessionResult) {});
    }
  });
  auto steady = std::make_shared<RecordingSink>();
  auto session = api.sessions.open_session(jid("bob@localhost/sse-steady"), steady);
  for (int i = 0; i < 500; ++i) {
    api.router.route_chat_message(alice, bob, chat("alice@localhost", "bob@localhost", "m"));
  }
  stop.store(true);
  churn.join();
  CHECK(steady->stanzas().size() == 500);
  CHECK(backend.session_count(bob) == 1);
}
