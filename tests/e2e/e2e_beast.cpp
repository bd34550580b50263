// The Boost.Beast transport in-process: an Api over a MemoryBackend served by
// mimrest::beast::Server on a free loopback port, driven with raw sockets so
// that pipelining, limits, timeouts and stalled clients can be tested.
#include <catch2/catch.hpp>

#include <malloc.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "mimrest/api.hpp"
#include "mimrest/beast/server.hpp"
#include "mimrest/memory/memory_backend.hpp"
#include "raw_http.hpp"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define MIMREST_TEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define MIMREST_TEST_SANITIZED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define MIMREST_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MIMREST_TEST_ASAN 1
#endif
#endif

namespace {

using namespace std::chrono_literals;
using mimrest::beast::Server;
using mimrest::beast::ServerOptions;
using raw::Clock;

mimrest::Jid jid(const char* text) {
  return *mimrest::Jid::parse(text);
}

const std::string alice = raw::basic("alice@localhost", "secret");
const std::string bob = raw::basic("bob@localhost", "secret");

std::string sse_request(const std::string& auth) {
  return raw::request("GET", "/api/sse", auth, {}, "Accept: text/event-stream\r\n");
}

/// A Roster whose item reads complete late, from a thread of their own: a
/// request in flight while the server stops.
class SlowRoster final : public mimrest::Roster {
 public:
  SlowRoster(mimrest::Roster& inner, std::chrono::milliseconds delay)
      : inner_(inner), delay_(delay) {}
  ~SlowRoster() override {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& thread : threads_) {
      thread.join();
    }
  }

  void async_items(const mimrest::Caller& user,
                   mimrest::Completion<mimrest::RosterItemsResult> done) override {
    calls.fetch_add(1);
    std::lock_guard<std::mutex> lock(mutex_);
    threads_.emplace_back([this, user, done = std::move(done)] {
      std::this_thread::sleep_for(delay_);
      inner_.async_items(user, done);
    });
  }
  void async_add(const mimrest::Caller& user, const mimrest::Jid& contact,
                 mimrest::Completion<mimrest::RosterResult> done) override {
    inner_.async_add(user, contact, std::move(done));
  }
  void async_subscribe(const mimrest::Caller& user, const mimrest::Jid& contact,
                       mimrest::Completion<mimrest::RosterResult> done) override {
    inner_.async_subscribe(user, contact, std::move(done));
  }
  void async_approve(const mimrest::Caller& user, const mimrest::Jid& contact,
                     mimrest::Completion<mimrest::RosterResult> done) override {
    inner_.async_approve(user, contact, std::move(done));
  }
  void async_remove(const mimrest::Caller& user, const mimrest::Jid& contact,
                    mimrest::Completion<mimrest::RosterResult> done) override {
    inner_.async_remove(user, contact, std::move(done));
  }

  std::atomic<int> calls{0};

 private:
  mimrest::Roster& inner_;
  const std::chrono::milliseconds delay_;
  std::mutex mutex_;
  std::vector<std::thread> threads_;
};

struct Setup {
  ServerOptions server = default_server();
  mimrest::ApiConfig api;
  /// Replaces interfaces of the memory backend (slow ones, in tests).
  std::function<void(mimrest::Backend&)> wrap;
  bool start = true;

  static ServerOptions default_server() {
    ServerOptions options;
    options.url = "http://127.0.0.1:0";
    options.threads = 2;
    options.drain = 5s;
    return options;
  }
};

mimrest::memory::MemoryBackendConfig backend_config() {
  mimrest::memory::MemoryBackendConfig config;
  config.password_iterations = 16;  // keep logins cheap in tests
  return config;
}

/// alice and bob on an in-memory backend, an Api, and its Beast server.
struct Served {
  explicit Served(Setup setup = {})
      : backend(backend_config()),
        api(setup.api, wrapped(backend, setup.wrap)),
        server(api, setup.server) {
    REQUIRE(backend.add_user(jid("alice@localhost"), "secret"));
    REQUIRE(backend.add_user(jid("bob@localhost"), "secret"));
    if (setup.start) {
      auto started = server.start();
      INFO((started ? std::string() : started.error()));
      REQUIRE(started);
      port = raw::port_of(server.url());
    }
  }

  static mimrest::Backend wrapped(mimrest::memory::MemoryBackend& memory,
                                  const std::function<void(mimrest::Backend&)>& wrap) {
    mimrest::Backend out = memory.backend();
    if (wrap) {
      wrap(out);
    }
    return out;
  }

  std::size_t sessions(const char* user) const { return backend.session_count(jid(user)); }

  /// Sends a chat message through the Api itself (not over HTTP).
  void send_message(const std::string& from_auth, const std::string& to, const std::string& text) {
    mimrest::Request request;
    request.method = "POST";
    request.path = "/api/messages";
    request.headers.add("Authorization", from_auth);
    request.headers.add("Content-Type", "application/json");
    request.body = R"({"to": ")" + to + R"(", "body": ")" + text + R"("})";
    const auto response = api.handle(request);
    REQUIRE(response.status == 200);
  }

  mimrest::memory::MemoryBackend backend;
  mimrest::Api api;
  Server server;
  int port = 0;
};

double cpu_seconds() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

/// Opens an event stream and waits for its response headers.
void open_stream(raw::Connection& connection, const std::string& auth) {
  REQUIRE(connection.send(sse_request(auth)));
  REQUIRE(connection.read_until_contains("\r\n\r\n", 5s));
  REQUIRE(connection.received().rfind("HTTP/1.1 200 ", 0) == 0);
}

/// A folder of its own under the temporary folder, removed at the end.
class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "mimrest-beast-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      throw std::runtime_error("mkdtemp failed");
    }
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

/// A self-signed certificate for localhost, made with the openssl program.
struct Certificate {
  Certificate() {
    const std::string command =
        "openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost -days 1 -keyout '" +
        dir.file("key.pem") + "' -out '" + dir.file("cert.pem") + "' >/dev/null 2>&1";
    REQUIRE(std::system(command.c_str()) == 0);
  }
  mimrest::TlsFiles files() const { return {dir.file("cert.pem"), dir.file("key.pem")}; }
  TempDir dir;
};

/// A blocking TLS client over a loopback socket (no certificate check).
class TlsClient {
 public:
  explicit TlsClient(int port) : tcp_(port) {
    context_ = SSL_CTX_new(TLS_client_method());
    REQUIRE(context_ != nullptr);
    SSL_CTX_set_verify(context_, SSL_VERIFY_NONE, nullptr);
    ssl_ = SSL_new(context_);
    SSL_set_fd(ssl_, tcp_.fd());
    timeval timeout{5, 0};
    ::setsockopt(tcp_.fd(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    REQUIRE(SSL_connect(ssl_) == 1);
  }
  ~TlsClient() {
    SSL_free(ssl_);
    SSL_CTX_free(context_);
  }
  TlsClient(const TlsClient&) = delete;
  TlsClient& operator=(const TlsClient&) = delete;

  bool send(const std::string& bytes) {
    return SSL_write(ssl_, bytes.data(), static_cast<int>(bytes.size())) ==
           static_cast<int>(bytes.size());
  }
  /// Reads until `text` has arrived (each read waits at most 5 s).
  bool read_until_contains(const std::string& text, std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (received_.find(text) == std::string::npos) {
      if (Clock::now() > deadline) {
        return false;
      }
      char buffer[4096];
      const int count = SSL_read(ssl_, buffer, sizeof buffer);
      if (count <= 0) {
        return false;
      }
      received_.append(buffer, static_cast<std::size_t>(count));
    }
    return true;
  }
  std::optional<raw::Response> response() {
    const auto deadline = Clock::now() + 5s;
    while (Clock::now() < deadline) {
      if (auto response = raw::take_response(received_)) {
        return response;
      }
      char buffer[4096];
      const int count = SSL_read(ssl_, buffer, sizeof buffer);
      if (count <= 0) {
        return std::nullopt;
      }
      received_.append(buffer, static_cast<std::size_t>(count));
    }
    return std::nullopt;
  }
  std::string& received() { return received_; }

 private:
  raw::Connection tcp_;
  SSL_CTX* context_ = nullptr;
  SSL* ssl_ = nullptr;
  std::string received_;
};

/// The child side of a test that runs the server in a process of its own:
/// alice and bob, a roster that answers after `roster_delay`, the default
/// limits. Writes the port to `ready_fd` and serves until `quit_fd` ends.
int serve_in_child(std::chrono::milliseconds roster_delay, int ready_fd, int quit_fd) {
  mimrest::memory::MemoryBackend memory(backend_config());
  if (!memory.add_user(jid("alice@localhost"), "secret") ||
      !memory.add_user(jid("bob@localhost"), "secret")) {
    return 3;
  }
  mimrest::Backend backend = memory.backend();
  SlowRoster slow(*backend.roster, roster_delay);
  backend.roster = &slow;
  mimrest::Api api(mimrest::ApiConfig{}, backend);
  Server server(api, Setup::default_server());
  if (!server.start()) {
    return 4;
  }
  const int port = raw::port_of(server.url());
  if (::write(ready_fd, &port, sizeof port) != static_cast<ssize_t>(sizeof port)) {
    return 5;
  }
  char byte = 0;
  while (::read(quit_fd, &byte, 1) > 0) {
  }
  server.stop();
  return 0;
}

/// serve_in_child() with at most `descriptors` open files, then exits.
[[noreturn]] void child_main(rlim_t descriptors, std::chrono::milliseconds roster_delay,
                             int ready_fd, int quit_fd) {
  rlimit limit{};
  ::getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = descriptors;
  if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) {
    ::_exit(2);
  }
  ::_exit(serve_in_child(roster_delay, ready_fd, quit_fd));
}

}  // namespace

TEST_CASE("keep-alive requests reach the core and come back with its headers") {
  Served served;
  raw::Connection connection(served.port);
  for (int i = 0; i < 3; ++i) {
    REQUIRE(connection.send(raw::request("GET", "/api/contacts", alice)));
    auto reply = connection.response();
    REQUIRE(reply);
    CHECK(reply->status == 200);
    CHECK(reply->body == "[]");
    CHECK(reply->header("server") == "mimrest");
    CHECK(reply->header("content-type") == "application/json");
    CHECK(reply->header("content-length") == "2");
  }
  REQUIRE(connection.send(raw::request("GET", "/api/contacts")));
  auto unauthorized = connection.response();
  REQUIRE(unauthorized);
  CHECK(unauthorized->status == 401);
  CHECK(unauthorized->header("www-authenticate") == "Basic realm=\"mongooseim\"");
  CHECK_FALSE(connection.ended());
}

TEST_CASE("pipelined requests are answered in order") {
  Served served;
  raw::Connection connection(served.port);
  const std::string pipelined =
      raw::request("GET", "/api/contacts", alice) +
      raw::request("POST", "/api/messages", alice, R"({"to": "bob@localhost", "body": "hi"})") +
      raw::request("HEAD", "/api/contacts", alice) +
      raw::request("GET", "/api/nothing/here", alice);
  REQUIRE(connection.send(pipelined));  // one write
  auto first = connection.response();
  REQUIRE(first);
  CHECK(first->status == 200);
  CHECK(first->body == "[]");
  auto second = connection.response();
  REQUIRE(second);
  CHECK(second->status == 200);
  CHECK(second->body.find("\"id\"") != std::string::npos);
  auto third = connection.response(5s, /*head_request=*/true);
  REQUIRE(third);
  CHECK(third->status == 405);  // HEAD: answered without a body
  auto fourth = connection.response();
  REQUIRE(fourth);
  CHECK(fourth->status == 404);
  CHECK(connection.received().empty());

  // The POST ran: bob has the message.
  REQUIRE(connection.send(raw::request("GET", "/api/messages", bob)));
  auto messages = connection.response();
  REQUIRE(messages);
  CHECK(messages->status == 200);
  CHECK(messages->body.find("\"body\":\"hi\"") != std::string::npos);
}

TEST_CASE("a path with a malformed escape reaches the core: 400 Invalid path") {
  Served served;
  raw::Connection connection(served.port);
  REQUIRE(connection.send(raw::request("GET", "/api/contacts/%zz", alice)));
  auto reply = connection.response();
  REQUIRE(reply);
  CHECK(reply->status == 400);
  CHECK(reply->body == "\"Invalid path\"");
  // The connection stays usable.
  REQUIRE(connection.send(raw::request("GET", "/api/contacts", alice)));
  auto next = connection.response();
  REQUIRE(next);
  CHECK(next->status == 200);
}

TEST_CASE("request targets: absolute-form accepted, other forms refused") {
  Served served;
  raw::Connection connection(served.port);
  REQUIRE(connection.send(raw::request(
      "GET", "http://127.0.0.1:" + std::to_string(served.port) + "/api/contacts", alice)));
  auto absolute = connection.response();
  REQUIRE(absolute);
  CHECK(absolute->status == 200);
  CHECK(absolute->body == "[]");
  REQUIRE(connection.send(raw::request("OPTIONS", "*", alice)));
  auto asterisk = connection.response();
  REQUIRE(asterisk);
  CHECK(asterisk->status == 400);
  CHECK(asterisk->body == "\"Invalid request target\"");
}

TEST_CASE("a single-value header field given twice: 400, then the connection closes") {
  Served served;
  const std::string wrong = raw::basic("alice@localhost", "wrong");
  const std::string body = R"({"to": "bob@localhost", "body": "twice"})";
  const std::vector<std::pair<std::string, std::string>> requests = {
      // A valid then an invalid one: a proxy that checks the last would pass what the core
      // reads first.
      {"Authorization",
       raw::request("GET", "/api/contacts", alice, {}, "Authorization: " + wrong + "\r\n")},
      {"Host", raw::request("GET", "/api/contacts", alice, {}, "Host: elsewhere.example\r\n")},
      {"Content-Type",
       raw::request("POST", "/api/messages", alice, body, "Content-Type: text/plain\r\n")},
      // The same value twice (Beast itself refuses two that differ).
      {"Content-Length", raw::request("POST", "/api/messages", alice, body,
                                      "Content-Length: " + std::to_string(body.size()) + "\r\n")},
  };
  for (const auto& [field, request] : requests) {
    INFO(field << " twice");
    raw::Connection connection(served.port);
    REQUIRE(connection.send(request));
    auto reply = connection.response();
    REQUIRE(reply);
    CHECK(reply->status == 400);
    CHECK(reply->body == "\"Invalid request\"");
    CHECK(reply->header("content-type") == "application/json");
    CHECK(raw::lower(reply->header("connection")) == "close");
    CHECK(connection.closed_within(3s));
  }
  // Neither POST reached the core.
  raw::Connection connection(served.port);
  REQUIRE(connection.send(raw::request("GET", "/api/messages", bob)));
  auto messages = connection.response();
  REQUIRE(messages);
  CHECK(messages->status == 200);
  CHECK(messages->body == "[]");
}

TEST_CASE("an HTTP/1.1 request without Host: 400, then the connection closes") {
  Served served;
  raw::Connection connection(served.port);
  REQUIRE(connection.send("GET /api/contacts HTTP/1.1\r\nAuthorization: " + alice + "\r\n\r\n"));
  auto reply = connection.response();
  REQUIRE(reply);
  CHECK(reply->status == 400);
  CHECK(reply->body == "\"Invalid request\"");
  CHECK(connection.closed_within(3s));
}

TEST_CASE("a header block over max_header_bytes: 431, then the connection closes") {
  Served served;
  {
    // Just under the limit is fine.
    raw::Connection connection(served.port);
    REQUIRE(connection.send(raw::request("GET", "/api/contacts", alice, {},
                                         "X-Filler: " + std::string(12000, 'a') + "\r\n")));
    auto reply = connection.response();
    REQUIRE(reply);
    CHECK(reply->status == 200);
  }
  raw::Connection connection(served.port);
  REQUIRE(connection.send(raw::request("GET", "/api/contacts", alice, {},
                                       "X-Filler: " + std::string(20000, 'a') + "\r\n")));
  auto reply = connection.response();
  REQUIRE(reply);
  CHECK(reply->status == 431);
  CHECK(reply->body == "\"Request header fields too large\"");
  CHECK(reply->header("server") == "mimrest");
  CHECK(connection.closed_within(3s));
}

TEST_CASE("a Content-Length over the body limit: 413 at once, nothing more read") {
  Served served;
  raw::Connection connection(served.port);
  const auto start = Clock::now();
  REQUIRE(connection.send(
      "POST /api/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: " + alice +
      "\r\nContent-Type: application/json\r\nContent-Length: 100000000000\r\n\r\n"));
  auto reply = connection.response(1s);
  REQUIRE(reply);
  CHECK(Clock::now() - start < 1s);
  CHECK(reply->status == 413);
  CHECK(reply->body == "\"Request body too large\"");
  CHECK(connection.closed_within(3s));
}

TEST_CASE("a chunked body over the limit: 413 as soon as it is exceeded") {
  Setup setup;
  setup.api.max_body_bytes = 1000;
  Served served(setup);

  const std::string head =
      "POST /api/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: " + alice +
      "\r\nContent-Type: application/json\r\n"
      "Transfer-Encoding: chunked\r\n\r\n";
  {
    // Within the limit, chunks are put together.
    raw::Connection connection(served.port);
    const std::string body = R"({"to": "bob@localhost", "body": "in chunks"})";
    REQUIRE(connection.send(head));
    for (std::size_t at = 0; at < body.size(); at += 10) {
      const std::string piece = body.substr(at, 10);
      char size[16];
      std::snprintf(size, sizeof size, "%zx\r\n", piece.size());
      REQUIRE(connection.send(size + piece + "\r\n"));
    }
    REQUIRE(connection.send("0\r\n\r\n"));
    auto reply = connection.response();
    REQUIRE(reply);
    CHECK(reply->status == 200);
  }
  raw::Connection connection(served.port);
  REQUIRE(connection.send(head));
  const std::string chunk = "12c\r\n" + std::string(300, ' ') + "\r\n";  // 300 bytes
  for (int i = 0; i < 3; ++i) {
    REQUIRE(connection.send(chunk));
  }
  // 900 bytes so far: still reading.
  CHECK_FALSE(connection.read_until_contains("HTTP/1.1", 300ms));
  REQUIRE(connection.send(chunk));  // 1200 > 1000
  auto reply = connection.response(2s);
  REQUIRE(reply);
  CHECK(reply->status == 413);
  CHECK(reply->body == "\"Request body too large\"");
  CHECK(connection.closed_within(3s));
}

TEST_CASE("Expect: 100-continue gets 100 Continue before the body is sent") {
  Served served;
  raw::Connection connection(served.port);
  const std::string body = R"({"to": "bob@localhost", "body": "expected"})";
  REQUIRE(
      connection.send("POST /api/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: " + alice +
                      "\r\nContent-Type: application/json\r\nExpect: 100-continue\r\n"
                      "Content-Length: " +
                      std::to_string(body.size()) + "\r\n\r\n"));
  auto interim = connection.response(2s);
  REQUIRE(interim);
  CHECK(interim->status == 100);
  REQUIRE(connection.send(body));
  auto reply = connection.response();
  REQUIRE(reply);
  CHECK(reply->status == 200);
}

TEST_CASE("HTTP/1.0 without keep-alive: answered, then closed") {
  Served served;
  raw::Connection connection(served.port);
  REQUIRE(connection.send("GET /api/contacts HTTP/1.0\r\nAuthorization: " + alice + "\r\n\r\n"));
  auto reply = connection.response();
  REQUIRE(reply);
  CHECK(reply->status == 200);
  CHECK(raw::lower(reply->header("connection")) == "close");
  CHECK(connection.closed_within(3s));
}

TEST_CASE("headers that do not arrive within header_timeout: the connection closes") {
  Setup setup;
  setup.server.header_timeout = 1s;
  setup.server.idle_timeout = 10s;
  Served served(setup);

  SECTION("a slow request") {
    raw::Connection connection(served.port);
    // Let the first request start well after the accept.
    REQUIRE(connection.send(raw::request("GET", "/api/contacts", alice)));
    REQUIRE(connection.response());
    const auto start = Clock::now();
    REQUIRE(connection.send("GET /api/contacts HTTP/1.1\r\n"));
    bool closed = false;
    for (int i = 0; i < 20 && !closed; ++i) {
      closed = connection.closed_within(200ms);
      if (!closed) {
        connection.send("X-Slow: 1\r\n");
      }
    }
    const auto elapsed = Clock::now() - start;
    CHECK(closed);
    CHECK(elapsed >= 900ms);
    CHECK(elapsed < 2500ms);
    CHECK(connection.received().empty());
  }
  SECTION("a connection that never sends a request") {
    raw::Connection connection(served.port);
    const auto start = Clock::now();
    CHECK(connection.closed_within(3s));
    CHECK(Clock::now() - start >= 900ms);
  }
}

TEST_CASE("a keep-alive connection idle for idle_timeout closes, a busy one stays open") {
  Setup setup;
  setup.server.header_timeout = 5s;
  setup.server.idle_timeout = 1s;
  Served served(setup);

  raw::Connection busy(served.port);
  for (int i = 0; i < 4; ++i) {  // 2 s of requests 500 ms apart
    REQUIRE(busy.send(raw::request("GET", "/api/contacts", alice)));
    auto reply = busy.response();
    REQUIRE(reply);
    CHECK(reply->status == 200);
    std::this_thread::sleep_for(500ms);
  }
  CHECK_FALSE(busy.ended());

  raw::Connection idle(served.port);
  REQUIRE(idle.send(raw::request("GET", "/api/contacts", alice)));
  REQUIRE(idle.response());
  const auto start = Clock::now();
  CHECK(idle.closed_within(3s));
  const auto elapsed = Clock::now() - start;
  CHECK(elapsed >= 900ms);
  CHECK(elapsed < 2500ms);
}

TEST_CASE("max_connections: further connections are closed at once, with no busy loop") {
  Setup setup;
  setup.server.max_connections = 2;
  Served served(setup);

  raw::Connection first(served.port);
  raw::Connection second(served.port);
  for (auto* connection : {&first, &second}) {
    REQUIRE(connection->send(raw::request("GET", "/api/contacts", alice)));
    REQUIRE(connection->response());
  }
  raw::Connection third(served.port);
  const auto start = Clock::now();
  CHECK(third.closed_within(1s));
  CHECK(Clock::now() - start < 1s);
  CHECK(third.received().empty());

  // At the cap, the server does nothing: CPU time barely moves.
  const double before = cpu_seconds();
  std::this_thread::sleep_for(1s);
  CHECK(cpu_seconds() - before < 0.3);

  // The served connections still work; once one leaves, a new one is served.
  REQUIRE(second.send(raw::request("GET", "/api/contacts", alice)));
  REQUIRE(second.response());
  first.close();
  const bool served_again = raw::eventually(
      [&] {
        raw::Connection next(served.port);
        if (!next.send(raw::request("GET", "/api/contacts", alice))) {
          return false;
        }
        auto reply = next.response(1s);
        return reply && reply->status == 200;
      },
      5s);
  CHECK(served_again);
}

TEST_CASE("out of descriptors: accepting backs off instead of spinning") {
#ifdef MIMREST_TEST_SANITIZED
  // The sanitizers' runtimes need descriptors of their own (UBSan checks
  // memory through a pipe): no run without any left.
  WARN("skipped under sanitizers");
  return;
#endif
  Served served;
  // A socket made before the limit drops, connected after: the server's
  // accept then fails with EMFILE.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  const int probe = ::socket(AF_INET, SOCK_STREAM, 0);  // the lowest free descriptor
  REQUIRE(probe >= 0);
  ::close(probe);
  rlimit old{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &old) == 0);
  rlimit tight = old;
  tight.rlim_cur = static_cast<rlim_t>(probe);
  REQUIRE(::setrlimit(RLIMIT_NOFILE, &tight) == 0);

  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<std::uint16_t>(served.port));
  const int connected = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  const double before = cpu_seconds();
  std::this_thread::sleep_for(1s);
  const double spent = cpu_seconds() - before;
  REQUIRE(::setrlimit(RLIMIT_NOFILE, &old) == 0);
  REQUIRE(connected == 0);
  CHECK(spent < 0.3);

  // Descriptors are back: the waiting connection is accepted and served.
  const std::string request = raw::request("GET", "/api/contacts", alice);
  REQUIRE(::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(request.size()));
  timeval timeout{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  char buffer[64] = {};
  const ssize_t count = ::recv(fd, buffer, sizeof buffer - 1, 0);
  ::close(fd);
  REQUIRE(count > 0);
  CHECK(std::string(buffer).rfind("HTTP/1.1 200 ", 0) == 0);
}

TEST_CASE("out of descriptors with stalled connections: a new client is served at once") {
#ifdef MIMREST_TEST_ASAN
  // At the limit, UBSan (built along with ASan here) cannot open the pipe of
  // its vptr check and reports a false "invalid vptr".
  WARN("skipped under AddressSanitizer and UndefinedBehaviorSanitizer");
  return;
#endif
  // The server runs in a child process with 256 descriptors; 400 clients
  // send half a request each and stall (slowloris), so that the server is
  // out of descriptors and more of them wait in the backlog.
  constexpr rlim_t descriptors = 256;
  constexpr int stalled_count = 400;
  int ready[2];
  int quit[2];
  REQUIRE(::pipe(ready) == 0);
  REQUIRE(::pipe(quit) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::close(ready[0]);
    ::close(quit[1]);
    child_main(descriptors, 1500ms, ready[1], quit[0]);
  }
  ::close(ready[1]);
  ::close(quit[0]);
  struct Child {
    pid_t pid;
    int quit;
    ~Child() {
      ::close(quit);  // the child exits
      int status = 0;
      ::waitpid(pid, &status, 0);
    }
  } running{child, quit[1]};
  pollfd ready_poll{ready[0], POLLIN, 0};
  REQUIRE(::poll(&ready_poll, 1, 10000) == 1);
  int port = 0;
  REQUIRE(::read(ready[0], &port, sizeof port) == static_cast<ssize_t>(sizeof port));
  ::close(ready[0]);

  // Neither a request in flight (its roster read takes 1.5 s) nor an event
  // stream is shed to make room.
  raw::Connection in_flight(port);
  REQUIRE(in_flight.send(raw::request("GET", "/api/contacts", alice)));
  raw::Connection stream(port);
  open_stream(stream, bob);

  std::vector<std::unique_ptr<raw::Connection>> stalled;
  for (int i = 0; i < stalled_count; ++i) {
    stalled.push_back(std::make_unique<raw::Connection>(port));
    REQUIRE(stalled.back()->send("GET /api/contacts HTTP/1.1\r\nHost: 127.0.0.1\r\n"));
  }
  std::this_thread::sleep_for(300ms);  // the server takes what it can

  raw::Connection fresh(port);
  const auto start = Clock::now();
  REQUIRE(fresh.send(raw::request("GET", "/api/messages", alice)));
  auto reply = fresh.response(1s);
  REQUIRE(reply);
  CHECK(reply->status == 200);
  CHECK(Clock::now() - start < 1s);

  auto slow_reply = in_flight.response(5s);
  REQUIRE(slow_reply);
  CHECK(slow_reply->status == 200);
  raw::Connection poster(port);
  REQUIRE(poster.send(raw::request("POST", "/api/messages", alice,
                                   R"({"to": "bob@localhost", "body": "still streaming"})")));
  auto posted = poster.response(1s);
  REQUIRE(posted);
  CHECK(posted->status == 200);
  CHECK(stream.read_until_contains("\"body\":\"still streaming\"", 2s));

  // The oldest stalled connections made the room.
  auto closed = [](const raw::Connection& connection) {
    pollfd p{connection.fd(), POLLIN, 0};
    char byte = 0;
    return ::poll(&p, 1, 0) == 1 && ::recv(connection.fd(), &byte, 1, MSG_DONTWAIT) <= 0;
  };
  int shed = 0;
  for (const auto& connection : stalled) {
    shed += closed(*connection) ? 1 : 0;
  }
  INFO("stalled connections closed: " << shed);
  CHECK(shed > stalled_count - static_cast<int>(descriptors));
  CHECK(closed(*stalled.front()));
}

TEST_CASE("an event stream: chunked events, keepalives, ended when the client leaves") {
  Setup setup;
  setup.api.sse.keepalive_interval = 200ms;
  Served served(setup);

  raw::Connection stream(served.port);
  open_stream(stream, bob);
  CHECK(stream.received().find("Transfer-Encoding: chunked\r\n") != std::string::npos);
  CHECK(stream.received().find("Content-Type: text/event-stream\r\n") != std::string::npos);
  CHECK(stream.received().find("Content-Length") == std::string::npos);
  REQUIRE(raw::eventually([&] { return served.sessions("bob@localhost") == 1; }, 5s));

  served.send_message(alice, "bob@localhost", "over the stream");
  CHECK(stream.read_until_contains("\"body\":\"over the stream\"", 5s));
  CHECK(stream.received().find("event: message\n") != std::string::npos);
  CHECK(stream.read_until_contains(": keepalive", 3s));

  stream.close();
  CHECK(raw::eventually([&] { return served.sessions("bob@localhost") == 0; }, 5s));
}

TEST_CASE("an event stream whose client does not read is ended at the unread-bytes cap") {
  Setup setup;
  setup.api.sse.max_unread_bytes = 64 * 1024;
  Served served(setup);

  raw::Connection stream(served.port, /*receive_buffer=*/4096);
  open_stream(stream, bob);
  REQUIRE(raw::eventually([&] { return served.sessions("bob@localhost") == 1; }, 5s));

  // The client reads nothing more. Paced pushes go out while the socket's
  // buffers take them, then pile up until the cap ends the stream.
  const std::string text(16000, 'x');
  int pushed = 0;
  while (served.sessions("bob@localhost") != 0 && pushed < 2000) {
    served.send_message(alice, "bob@localhost", text);
    ++pushed;
    std::this_thread::sleep_for(2ms);
  }
  INFO("messages pushed: " << pushed);
  CHECK(served.sessions("bob@localhost") == 0);
  CHECK(pushed > 8);  // more than the cap: the first ones were written
  // The server lets go of the connection too.
  CHECK(stream.closed_within(5s));
}

TEST_CASE("one GET /sse more than sse.max_streams_per_user: 429") {
  Setup setup;
  setup.api.sse.max_streams_per_user = 2;
  Served served(setup);

  raw::Connection first(served.port);
  raw::Connection second(served.port);
  open_stream(first, bob);
  open_stream(second, bob);
  raw::Connection third(served.port);
  REQUIRE(third.send(sse_request(bob)));
  auto reply = third.response();
  REQUIRE(reply);
  CHECK(reply->status == 429);
  CHECK(reply->body == "\"Too many event streams\"");

  // A stream that ends makes room.
  first.close();
  REQUIRE(raw::eventually([&] { return served.sessions("bob@localhost") == 1; }, 5s));
  raw::Connection fourth(served.port);
  open_stream(fourth, bob);
}

TEST_CASE("HTTPS: requests and an event stream over TLS") {
  Certificate certificate;
  Setup setup;
  setup.server.url = "https://127.0.0.1:0";
  setup.server.tls = certificate.files();
  setup.server.header_timeout = 1s;
  Served served(setup);
  CHECK(served.server.url().rfind("https://127.0.0.1:", 0) == 0);

  {
    TlsClient client(served.port);
    REQUIRE(client.send(raw::request("GET", "/api/contacts", alice)));
    auto reply = client.response();
    REQUIRE(reply);
    CHECK(reply->status == 200);
    CHECK(reply->body == "[]");
    REQUIRE(client.send(raw::request("GET", "/api/contacts")));
    auto unauthorized = client.response();
    REQUIRE(unauthorized);
    CHECK(unauthorized->status == 401);
  }
  {
    TlsClient stream(served.port);
    REQUIRE(stream.send(sse_request(bob)));
    REQUIRE(stream.read_until_contains("\r\n\r\n", 5s));
    REQUIRE(raw::eventually([&] { return served.sessions("bob@localhost") == 1; }, 5s));
    served.send_message(alice, "bob@localhost", "over TLS");
    CHECK(stream.read_until_contains("\"body\":\"over TLS\"", 5s));
  }
  {
    // A client that never starts the handshake is closed after the header timeout.
    raw::Connection silent(served.port);
    CHECK(silent.closed_within(3s));
  }
}

TEST_CASE("start() reports what keeps it from serving") {
  mimrest::memory::MemoryBackend backend(backend_config());
  mimrest::Api api(mimrest::ApiConfig{}, backend.backend());
  auto error_of = [&](ServerOptions options) {
    Server server(api, std::move(options));
    auto started = server.start();
    return started ? std::string() : started.error();
  };
  ServerOptions options = Setup::default_server();

  options.url = "ftp://127.0.0.1:0";
  CHECK(error_of(options).find("http://") != std::string::npos);
  options.url = "http://127.0.0.1:99999";
  CHECK_FALSE(error_of(options).empty());
  options.url = "http://127.0.0.1:0/api";
  CHECK_FALSE(error_of(options).empty());

  options.url = "https://127.0.0.1:0";
  CHECK(error_of(options).find("TLS") != std::string::npos);
  options.tls = mimrest::TlsFiles{"/nonexistent/cert.pem", "/nonexistent/key.pem"};
  CHECK(error_of(options).find("/nonexistent/") != std::string::npos);

  // A port that is taken.
  Server first(api, Setup::default_server());
  REQUIRE(first.start());
  CHECK(first.url().rfind("http://127.0.0.1:", 0) == 0);
  CHECK(raw::port_of(first.url()) != 0);
  options = Setup::default_server();
  options.url = first.url();
  CHECK_FALSE(error_of(options).empty());
  CHECK_FALSE(first.start());  // already started
  first.stop();
  first.stop();  // idempotent
}

TEST_CASE("stop() ends event streams and lets a request in flight finish") {
  std::unique_ptr<SlowRoster> slow;
  Setup setup;
  setup.wrap = [&](mimrest::Backend& backend) {
    slow = std::make_unique<SlowRoster>(*backend.roster, 700ms);
    backend.roster = slow.get();
  };
  auto served = std::make_unique<Served>(setup);

  raw::Connection stream(served->port);
  open_stream(stream, alice);
  REQUIRE(raw::eventually([&] { return served->sessions("alice@localhost") == 1; }, 5s));

  raw::Connection request(served->port);
  REQUIRE(request.send(raw::request("GET", "/api/contacts", bob)));
  REQUIRE(raw::eventually([&] { return slow->calls.load() == 1; }, 5s));

  const auto start = Clock::now();
  served->server.stop();
  const auto took = Clock::now() - start;
  CHECK(took < 4s);

  // The request in flight got its answer, the stream its last chunk.
  auto reply = request.response(2s);
  REQUIRE(reply);
  CHECK(reply->status == 200);
  CHECK(reply->body == "[]");
  CHECK(stream.read_until_contains("0\r\n\r\n", 2s));
  CHECK(stream.closed_within(2s));
  CHECK(request.closed_within(2s));
  CHECK(served->sessions("alice@localhost") == 0);

  // Nobody listens any more.
  CHECK_THROWS(raw::Connection(served->port));
  served->server.stop();
  served.reset();
}

TEST_CASE("memory per idle event stream") {
  Setup setup;
  setup.api.sse.max_streams_per_user = 100000;
  Served served(setup);
  constexpr int count = 300;

  auto open = [&](std::vector<int>& fds, int how_many) {
    for (int i = 0; i < how_many; ++i) {
      const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
      REQUIRE(fd >= 0);
      sockaddr_in address{};
      address.sin_family = AF_INET;
      address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      address.sin_port = htons(static_cast<std::uint16_t>(served.port));
      REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
      const std::string request = sse_request(bob);
      REQUIRE(::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
              static_cast<ssize_t>(request.size()));
      fds.push_back(fd);
    }
  };
  // Warm up (first-use allocations of the server and the backend).
  std::vector<int> warm;
  open(warm, 10);
  REQUIRE(raw::eventually([&] { return served.sessions("bob@localhost") == 10; }, 10s));
  std::this_thread::sleep_for(300ms);

  const auto before = ::mallinfo2();
  std::vector<int> fds;
  fds.reserve(count);
  open(fds, count);
  REQUIRE(raw::eventually(
      [&] { return served.sessions("bob@localhost") == static_cast<std::size_t>(count + 10); },
      20s));
  std::this_thread::sleep_for(300ms);  // headers written, every stream idle
  const auto after = ::mallinfo2();
  const double per_stream = (static_cast<double>(after.uordblks + after.hblkhd) -
                             static_cast<double>(before.uordblks + before.hblkhd)) /
                            count;
  WARN("heap per idle event stream (core, backend session and transport): "
       << static_cast<long>(per_stream) << " bytes");
#ifndef MIMREST_TEST_SANITIZED
  CHECK(per_stream <= 16 * 1024);
#endif
  for (int fd : warm) {
    ::close(fd);
  }
  for (int fd : fds) {
    ::close(fd);
  }
  CHECK(raw::eventually([&] { return served.sessions("bob@localhost") == 0; }, 10s));
}
