// Embedding mimrest in your own server: what a host writes.
//
// The host keeps its HTTP server and its chat backend. It implements the
// backend interfaces it has (here: accounts, a router and an archive; no
// rooms, contacts or live events, so those routes are simply off), builds
// one mimrest::Api, and for every HTTP request copies method, raw path,
// query, headers, body and client address into a mimrest::Request, calls
// Api::handle and copies the Response back.
//
// Two hosts are shown: one whose backend answers at once (it derives from
// the Sync* bases and calls the synchronous Api::handle), and one built on an
// event loop whose router answers later (it completes from the loop thread
// and answers through a responder). The program checks the answers of both
// and exits 0 when they are right.
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "mimrest/api.hpp"
#include "mimrest/crypto.hpp"

namespace {

// --- A host whose backend answers at once: derive from the Sync* bases. ---
// Their default lock policy (std::mutex) serialises the calls of each, so
// these plain functions need no locking of their own.

// Accounts: a real host asks its user store. Compare secrets in constant time.
class ToyPasswords final : public mimrest::SyncPasswordVerifier<> {
 public:
  mimrest::VerifyResult verify(const mimrest::Jid& user, std::string_view password) override {
    return user.bare_string() == "alice@example.com" &&
           mimrest::constant_time_equal(password, "secret");
  }
};

// Message archive (MAM): nothing stored in this toy.
class ToyArchive final : public mimrest::SyncMessageArchive<> {
 public:
  mimrest::ArchiveResult messages(const mimrest::ArchiveQuery&) override {
    return std::vector<mimrest::ArchivedMessage>{};
  }
};

// Message routing that answers at once: a real host delivers and archives.
class ToyRouter final : public mimrest::SyncMessageRouter<> {
 public:
  mimrest::RouteResult route_chat_message(const mimrest::Caller& from, const mimrest::Jid& to,
                                          std::string stanza_xml) override {
    std::cout << "route " << from.bare_string() << " -> " << to.bare_string() << ": " << stanza_xml
              << "\n";
    ++routed;
    return {};
  }
  int routed = 0;
};

// --- A host built on an event loop: its router answers later. ---

// The host's own reactor, reduced to a thread running posted tasks in order.
class EventLoop {
 public:
  EventLoop() : thread_([this] { run(); }) {}
  ~EventLoop() {
    post({});
    thread_.join();
  }
  void post(std::function<void()> task) {
    std::lock_guard<std::mutex> lock(mutex_);
    tasks_.push_back(std::move(task));
    ready_.notify_one();
  }

 private:
  void run() {
    while (true) {
      std::function<void()> task;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        ready_.wait(lock, [&] { return !tasks_.empty(); });
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      if (!task) {
        return;
      }
      task();
    }
  }
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> tasks_;
  std::thread thread_;
};

// Routing that completes on the loop, after the call returned. Arguments are
// valid only during the call, so what is needed later is copied.
class LoopRouter final : public mimrest::MessageRouter {
 public:
  explicit LoopRouter(EventLoop& loop) : loop_(loop) {}
  void async_route_chat_message(const mimrest::Caller& from, const mimrest::Jid& to,
                                std::string stanza_xml,
                                mimrest::Completion<mimrest::RouteResult> done) override {
    loop_.post([this, from, to, stanza_xml = std::move(stanza_xml), done] {
      std::cout << "loop routes " << from.bare_string() << " -> " << to.bare_string() << "\n";
      ++routed;
      done({});  // stored: now the client may be told
    });
  }
  int routed = 0;  // only touched on the loop thread

 private:
  EventLoop& loop_;
};

// --- The host's own HTTP layer, reduced to a request loop. ---

struct HostRequest {  // whatever the host's server hands over
  std::string method;
  std::string target;  // "/path?query", still percent-encoded
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

// The whole adapter: copy in (the response comes back through handle()).
mimrest::Request copy_in(const HostRequest& in) {
  mimrest::Request request;
  request.method = in.method;
  const auto question = in.target.find('?');
  request.path = in.target.substr(0, question);
  request.query = question == std::string::npos ? "" : in.target.substr(question + 1);
  for (const auto& [name, value] : in.headers) {
    request.headers.add(name, value);
  }
  request.body = in.body;
  request.remote_address = "192.0.2.1";  // counted by the failed-login throttle
  return request;
}

struct Check {
  HostRequest request;
  int expected_status;
};

const std::string kAuth = "Basic " + mimrest::base64_encode("alice@example.com:secret");

std::vector<Check> checks() {
  return {
      {{"POST",
        "/api/messages",
        {{"Authorization", kAuth}, {"Content-Type", "application/json"}},
        R"({"to": "bob@example.com", "body": "hello"})"},
       200},
      {{"GET", "/api/messages", {{"Authorization", kAuth}}, ""}, 200},
      {{"GET", "/api/messages", {}, ""}, 401},
      // No rooms or contacts in this host: those routes are off.
      {{"GET", "/api/rooms/lobby", {{"Authorization", kAuth}}, ""}, 404},
      {{"GET", "/api/contacts", {{"Authorization", kAuth}}, ""}, 404},
  };
}

int report(const HostRequest& request, const mimrest::Response& response, int expected) {
  std::cout << request.method << " " << request.target << " -> " << response.status << " "
            << response.body << "\n";
  if (response.status != expected) {
    std::cerr << "  expected " << expected << "\n";
    return 1;
  }
  return 0;
}

}  // namespace

int main() {
  int failures = 0;
  ToyPasswords passwords;
  ToyArchive archive;

  // A synchronous host: every backend call completes inline, so the
  // synchronous handle() answers at once.
  {
    ToyRouter router;
    // Each capability points at the part that implements it; the others
    // (rooms, contacts, events) stay null and their routes are off.
    const mimrest::Api api(mimrest::ApiConfig{}, mimrest::backend_of(passwords, router, archive));
    for (const auto& check : checks()) {
      failures += report(check.request, api.handle(copy_in(check.request)), check.expected_status);
    }
    if (router.routed != 1) {
      std::cerr << "the message was not routed\n";
      ++failures;
    }
  }

  // An event-loop host: the router completes on the loop; each answer
  // arrives through the responder, from that thread.
  {
    EventLoop loop;
    LoopRouter router(loop);
    const mimrest::Api api(mimrest::ApiConfig{}, mimrest::backend_of(passwords, router, archive));
    for (const auto& check : checks()) {
      std::promise<mimrest::Response> answered;
      auto response = answered.get_future();
      api.handle(copy_in(check.request),
                 [&answered](mimrest::Response r) { answered.set_value(std::move(r)); });
      // A real server would return to its loop here and write the response
      // when the responder runs; the toy waits for it.
      failures += report(check.request, response.get(), check.expected_status);
    }
    std::promise<int> routed;
    loop.post([&] { routed.set_value(router.routed); });
    if (routed.get_future().get() != 1) {
      std::cerr << "the message was not routed on the loop\n";
      ++failures;
    }
  }
  return failures == 0 ? 0 : 1;
}
