// Nothing acknowledged is lost when the process is killed: a child process
// (this program, re-executed) acknowledges concurrent writes and goes on
// writing; it is killed with SIGKILL; the store, reopened, holds every
// acknowledged write.
#include <catch2/catch.hpp>

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "sql_test_support.hpp"

using namespace mimrest;
using namespace mimrest::test::sql;

namespace {

constexpr int kThreads = 4;
constexpr int kAcks = 200;
constexpr const char* kChildTest = "child: acknowledge writes until killed";

const Jid& bob() {
  static const Jid jid = Jid::parse("bob@localhost").value();
  return jid;
}

Jid sender(int thread) {
  return Jid::parse("user" + std::to_string(thread) + "@localhost").value();
}

std::string body(int thread, int n) {
  return "<message type=\"chat\" to=\"bob@localhost\"><body>" + std::to_string(thread) + "-" +
         std::to_string(n) + "</body></message>";
}

SqlConfig child_config() {
  SqlConfig config;
  const std::string type = std::getenv("MIMREST_SQL_CHILD_TYPE");
  const std::string target = std::getenv("MIMREST_SQL_CHILD_TARGET");
  config.type = type == "postgresql" ? SqlConfig::Type::postgresql : SqlConfig::Type::sqlite;
  config.path = target;
  config.url = target;
  config.sync = type == "sqlite-full" ? SqlConfig::Sync::full : SqlConfig::Sync::normal;
  config.hosting.password_iterations = 1;
  return config;
}

/// Writes one whole line to stdout (the parent's pipe) at once.
void say(const std::string& line) {
  const std::string text = line + "\n";
  [[maybe_unused]] auto written = ::write(1, text.data(), text.size());
}

}  // namespace

// Run only by the test below, in a child process.
TEST_CASE(kChildTest, "[.child]") {
  if (std::getenv("MIMREST_SQL_CHILD_TYPE") == nullptr) {
    return;
  }
  auto opened = SqlBackend::open(child_config());
  if (!opened) {
    say("error " + opened.error());
    std::_Exit(1);
  }
  Backend api = (*opened)->backend();
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([api, t] {
      // Every request is in flight before the first is acknowledged; then
      // the writes go on until the process is killed.
      for (int n = 0;; ++n) {
        api.router->async_route_chat_message(
            sender(t), bob(), body(t, n), [t, n](RouteResult result) {
              if (result) {
                say("ack " + std::to_string(t) + " " + std::to_string(n));
              }
            });
        if (n % 64 == 63) {
          std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
}

TEST_CASE("acknowledged writes survive kill -9") {
  std::vector<std::string> variants{"sqlite", "sqlite-full"};
  if (pg_server_url()) {
    variants.emplace_back("postgresql");
  }
  const std::string variant = GENERATE_COPY(from_range(variants));
  INFO("variant: " << variant);
  TestDatabase database(variant == "postgresql" ? "postgresql" : "sqlite");
  {
    auto backend = open_backend(database.config());
    REQUIRE(backend->add_user(bob(), "b"));
    for (int t = 0; t < kThreads; ++t) {
      REQUIRE(backend->add_user(sender(t), "p"));
    }
  }

  int out[2];
  REQUIRE(::pipe(out) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::dup2(out[1], 1);
    ::close(out[0]);
    ::close(out[1]);
    ::setenv("MIMREST_SQL_CHILD_TYPE", variant.c_str(), 1);
    ::setenv("MIMREST_SQL_CHILD_TARGET",
             (database.postgresql() ? database.url() : database.path()).c_str(), 1);
    ::execl("/proc/self/exe", "sql_durability_child", kChildTest, static_cast<char*>(nullptr));
    std::_Exit(127);
  }
  ::close(out[1]);

  // Read acknowledgements until there are enough, then kill the writer.
  std::set<std::pair<int, int>> acked;
  std::string pending;
  std::string errors;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (acked.size() < static_cast<std::size_t>(kAcks) &&
         std::chrono::steady_clock::now() < deadline) {
    pollfd fd{out[0], POLLIN, 0};
    if (::poll(&fd, 1, 100) <= 0) {
      continue;
    }
    char buffer[4096];
    const auto got = ::read(out[0], buffer, sizeof buffer);
    if (got <= 0) {
      break;
    }
    pending.append(buffer, static_cast<std::size_t>(got));
    for (auto newline = pending.find('\n'); newline != std::string::npos;
         newline = pending.find('\n')) {
      const std::string line = pending.substr(0, newline);
      pending.erase(0, newline + 1);
      int t = 0;
      int n = 0;
      if (std::sscanf(line.c_str(), "ack %d %d", &t, &n) == 2) {
        acked.emplace(t, n);
      } else {
        errors += line + "\n";
      }
    }
  }
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  ::close(out[0]);
  INFO("child said: " << errors);
  REQUIRE(acked.size() >= static_cast<std::size_t>(kAcks));
  CHECK(WIFSIGNALED(status));

  // Everything acknowledged is there, in both archives.
  auto config = database.config();
  config.hosting.max_result_limit = 1'000'000;
  auto backend = open_backend(config);
  Calls calls{backend->backend()};
  std::set<std::string> received;
  for (const auto& row :
       calls.messages(ArchiveQuery{bob(), std::nullopt, std::nullopt, std::nullopt, 1'000'000})) {
    received.insert(row.stanza_xml);
  }
  std::size_t missing = 0;
  for (const auto& [t, n] : acked) {
    missing += received.count(body(t, n)) == 0 ? 1 : 0;
  }
  CHECK(missing == 0);
  for (int t = 0; t < kThreads; ++t) {
    std::size_t sent = 0;
    for (const auto& [thread, n] : acked) {
      sent += thread == t ? 1 : 0;
    }
    CHECK(calls.messages(ArchiveQuery{sender(t), bob(), std::nullopt, std::nullopt, 1'000'000})
              .size() >= sent);
  }
  // The store is consistent and usable.
  REQUIRE(calls.route(sender(0), bob(), body(9, 9)));
}
