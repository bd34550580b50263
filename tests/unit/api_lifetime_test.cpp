// The asynchronous entry point's rules: a responder called exactly once from
// the thread that completes the last step, a dropped completion answered
// 500, and an Api destroyed while calls are in flight.
#include <atomic>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "mimrest/api.hpp"
#include "mimrest/crypto.hpp"
#include "mimrest/memory/memory_backend.hpp"
#include "test_jid.hpp"

using mimrest::Api;
using mimrest::ApiConfig;
using mimrest::Backend;
using mimrest::Completion;
using mimrest::Jid;
using mimrest::Request;
using mimrest::Response;
using mimrest::RosterItemsResult;
using mimrest::RosterResult;
using mimrest::RouteResult;

namespace {

// Keeps the completions it is given, for the test to finish (or drop) later.
class HeldRouter final : public mimrest::MessageRouter {
 public:
  void async_route_chat_message(const mimrest::Caller&, const Jid&, std::string,
                                Completion<RouteResult> done) override {
    std::lock_guard<std::mutex> lock(mutex_);
    held_.push_back(std::move(done));
  }
  std::vector<Completion<RouteResult>> take() {
    std::lock_guard<std::mutex> lock(mutex_);
    return std::exchange(held_, {});
  }

 private:
  std::mutex mutex_;
  std::vector<Completion<RouteResult>> held_;
};

class HeldRoster final : public mimrest::Roster {
 public:
  void async_items(const mimrest::Caller&, Completion<RosterItemsResult> done) override {
    std::lock_guard<std::mutex> lock(mutex_);
    items_.push_back(std::move(done));
  }
  void async_add(const mimrest::Caller&, const Jid&, Completion<RosterResult> done) override {
    done({});
  }
  void async_subscribe(const mimrest::Caller&, const Jid&, Completion<RosterResult> done) override {
    ++subscribes;
    done({});
  }
  void async_approve(const mimrest::Caller&, const Jid&, Completion<RosterResult> done) override {
    done({});
  }
  void async_remove(const mimrest::Caller&, const Jid&, Completion<RosterResult> done) override {
    done({});
  }
  std::vector<Completion<RosterItemsResult>> take() {
    std::lock_guard<std::mutex> lock(mutex_);
    return std::exchange(items_, {});
  }
  std::atomic<int> subscribes{0};

 private:
  std::mutex mutex_;
  std::vector<Completion<RosterItemsResult>> items_;
};

struct Host {
  Host() {
    REQUIRE(memory.add_user(mimrest::test::jid("alice@localhost"), "secret"));
    backend = memory.backend();
    backend.router = &router;
    backend.roster = &roster;
  }
  Request request(std::string method, std::string path, std::string body = {}) const {
    Request request;
    request.method = std::move(method);
    request.path = "/api" + path;
    request.headers.add("Authorization",
                        "Basic " + mimrest::base64_encode("alice@localhost:secret"));
    if (!body.empty()) {
      request.headers.add("Content-Type", "application/json");
    }
    request.body = std::move(body);
    return request;
  }

  mimrest::memory::MemoryBackend memory{[] {
    mimrest::HostingConfig config;
    config.password_iterations = 1;
    return config;
  }()};
  HeldRouter router;
  HeldRoster roster;
  Backend backend;
};

// Records the answers a responder gets, and on which thread.
struct Answers {
  std::mutex mutex;
  std::vector<Response> responses;
  std::vector<std::thread::id> threads;
  mimrest::Responder responder() {
    return [this](Response response) {
      std::lock_guard<std::mutex> lock(mutex);
      responses.push_back(std::move(response));
      threads.push_back(std::this_thread::get_id());
    };
  }
  std::size_t count() {
    std::lock_guard<std::mutex> lock(mutex);
    return responses.size();
  }
};

const std::string kMessage = R"({"to":"bob@localhost","body":"hi"})";

}  // namespace

TEST_CASE("The responder is called once, by the thread that completes the last step") {
  Host host;
  Api api(ApiConfig{}, host.backend);
  Answers answers;
  api.handle(host.request("POST", "/messages", kMessage), answers.responder());
  CHECK(answers.count() == 0);  // the router has not completed
  auto held = host.router.take();
  REQUIRE(held.size() == 1);
  std::thread completer([&] {
    held[0](RouteResult{});
    held[0](RouteResult{});  // a second call is ignored
  });
  const auto completer_id = completer.get_id();
  completer.join();
  REQUIRE(answers.count() == 1);
  CHECK(answers.responses[0].status == 200);
  CHECK(answers.threads[0] == completer_id);
}

TEST_CASE("A completion the backend drops is answered 500, never left hanging") {
  Host host;
  Api api(ApiConfig{}, host.backend);
  Answers answers;
  api.handle(host.request("POST", "/messages", kMessage), answers.responder());
  host.router.take().clear();  // dropped uncalled
  REQUIRE(answers.count() == 1);
  CHECK(answers.responses[0].status == 500);
  CHECK(answers.responses[0].body == "\"Internal server error\"");
}

TEST_CASE("A backend failure is 500 or 503") {
  Host host;
  Api api(ApiConfig{}, host.backend);
  Answers answers;
  api.handle(host.request("POST", "/messages", kMessage), answers.responder());
  api.handle(host.request("POST", "/messages", kMessage), answers.responder());
  auto held = host.router.take();
  REQUIRE(held.size() == 2);
  held[0](mimrest::unexpected(mimrest::Failure::internal));
  held[1](mimrest::unexpected(mimrest::Failure::unavailable));
  REQUIRE(answers.count() == 2);
  CHECK(answers.responses[0].status == 500);
  CHECK(answers.responses[1].status == 503);
  CHECK(answers.responses[1].body == "\"Service unavailable\"");
}

TEST_CASE("The synchronous handle() waits for a backend that completes on another thread") {
  Host host;
  Api api(ApiConfig{}, host.backend);
  std::atomic<bool> done{false};
  std::thread completer([&] {
    while (!done) {
      for (auto& completion : host.router.take()) {
        completion(RouteResult{});
      }
      std::this_thread::yield();
    }
  });
  Response response = api.handle(host.request("POST", "/messages", kMessage));
  done = true;
  completer.join();
  CHECK(response.status == 200);
}

TEST_CASE("An Api destroyed with calls in flight answers them safely") {
  Host host;
  Answers answers;
  std::vector<Completion<RouteResult>> routes;
  std::vector<Completion<RosterItemsResult>> items;
  {
    Api api(ApiConfig{}, host.backend);
    api.handle(host.request("POST", "/messages", kMessage), answers.responder());
    // PUT /contacts/{jid} needs a second backend step after the items.
    api.handle(host.request("PUT", "/contacts/bob%40localhost", R"({"action":"invite"})"),
               answers.responder());
    api.handle(host.request("PUT", "/contacts/bob%40localhost", R"({"action":"invite"})"),
               answers.responder());
    routes = host.router.take();
    items = host.roster.take();
    REQUIRE(routes.size() == 1);
    REQUIRE(items.size() == 2);
  }
  CHECK(answers.count() == 0);

  // Completed later, from another thread: the message was stored, so the
  // client hears 200; the invitation needed the backend again: 503.
  std::thread late([&] {
    routes[0](RouteResult{});
    items[0](std::vector<mimrest::RosterItem>{
        mimrest::RosterItem{mimrest::test::jid("bob@localhost"), {}, {}}});
  });
  late.join();
  items.clear();  // the last one is dropped after the Api is gone: still answered
  REQUIRE(answers.count() == 3);
  CHECK(answers.responses[0].status == 200);
  CHECK(answers.responses[1].status == 503);
  CHECK(answers.responses[2].status == 500);
  CHECK(host.roster.subscribes == 0);
}

TEST_CASE("Many requests completed on several threads while the Api goes away") {
  Host host;
  Answers answers;
  constexpr int kRequests = 200;
  std::atomic<bool> stop{false};
  std::vector<std::thread> completers;
  for (int i = 0; i < 3; ++i) {
    completers.emplace_back([&] {
      while (!stop) {
        for (auto& completion : host.router.take()) {
          completion(RouteResult{});
        }
        std::this_thread::yield();
      }
    });
  }
  {
    Api api(ApiConfig{}, host.backend);
    for (int i = 0; i < kRequests; ++i) {
      api.handle(host.request("POST", "/messages", kMessage), answers.responder());
    }
  }
  // Whatever was still held completes after the Api is gone.
  while (answers.count() < kRequests) {
    std::this_thread::yield();
  }
  stop = true;
  for (auto& thread : completers) {
    thread.join();
  }
  for (auto& completion : host.router.take()) {
    completion(RouteResult{});
  }
  CHECK(answers.count() == kRequests);
  for (const auto& response : answers.responses) {
    CHECK(response.status == 200);
  }
}
