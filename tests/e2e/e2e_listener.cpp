// The cpprestsdk adapter in-process: an Api over a MemoryBackend served by a
// Listener on a free loopback port, driven by real HTTP clients.
#include <catch2/catch.hpp>

#include <chrono>
#include <memory>
#include <string>

#include "e2e_support.hpp"
#include "mimrest/api.hpp"
#include "mimrest/cpprest/listener.hpp"
#include "mimrest/memory/memory_backend.hpp"

namespace {

using namespace std::chrono_literals;

mimrest::Jid jid(const char* text) {
  return *mimrest::Jid::parse(text);
}

/// An Api over a fresh in-memory backend with alice and bob, and its listener.
struct Served {
  explicit Served(std::chrono::milliseconds keepalive = 200ms, std::size_t max_body = 1 << 20)
      : backend(backend_config()), api(api_config(keepalive, max_body), backend.backend()) {
    REQUIRE(backend.add_user(jid("alice@localhost"), "secret"));
    REQUIRE(backend.add_user(jid("bob@localhost"), "secret"));
    port = e2e::free_port();
    url = "http://127.0.0.1:" + std::to_string(port);
    mimrest::cpprest::ListenerOptions options;
    options.url = url;
    listener = std::make_unique<mimrest::cpprest::Listener>(api, options);
    auto started = listener->start();
    INFO((started ? std::string() : started.error()));
    REQUIRE(started);
  }

  static mimrest::memory::MemoryBackendConfig backend_config() {
    mimrest::memory::MemoryBackendConfig config;
    config.password_iterations = 16;  // keep logins cheap in tests
    return config;
  }
  static mimrest::ApiConfig api_config(std::chrono::milliseconds keepalive, std::size_t max_body) {
    mimrest::ApiConfig config;
    config.max_body_bytes = max_body;
    config.sse.keepalive_interval = keepalive;
    return config;
  }

  mimrest::memory::MemoryBackend backend;
  mimrest::Api api;
  int port = 0;
  std::string url;
  std::unique_ptr<mimrest::cpprest::Listener> listener;
};

const std::string alice = e2e::basic("alice@localhost", "secret");
const std::string bob = e2e::basic("bob@localhost", "secret");

std::string raw_sse_request(const std::string& auth) {
  return "GET /api/sse HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
         "Authorization: " +
         auth + "\r\n\r\n";
}

}  // namespace

TEST_CASE("requests go through the core and back, percent-encoding intact") {
  Served served;
  e2e::Client client(served.url);

  auto sent = client.call("POST", "/api/messages", R"({"to": "bob@localhost", "body": "hi"})",
                          {{"Authorization", alice}});
  CHECK(sent.status == 200);
  CHECK(sent.header("content-type") == "application/json");

  // %40 must reach the core still encoded, where it is decoded as a segment.
  auto history =
      client.call("GET", "/api/messages/bob%40localhost?limit=10", {}, {{"Authorization", alice}});
  CHECK(history.status == 200);
  CHECK(history.body.find(R"("body":"hi")") != std::string::npos);

  auto denied = client.call("GET", "/api/contacts");
  CHECK(denied.status == 401);
  CHECK(denied.header("www-authenticate") == R"(Basic realm="mongooseim")");
  CHECK(denied.body.empty());
}

TEST_CASE("OPTIONS and TRACE reach the core instead of cpprestsdk's defaults") {
  Served served;
  e2e::Client client(served.url);
  auto options = client.call("OPTIONS", "/api/messages");
  CHECK(options.status == 200);
  CHECK(options.header("allow").find("POST") != std::string::npos);

  // cpprestsdk's own TRACE would echo the request, credentials included.
  auto trace = client.call("TRACE", "/api/messages", {}, {{"Authorization", alice}});
  CHECK(trace.status != 200);
  CHECK(trace.body.find(alice) == std::string::npos);
}

TEST_CASE("a body over the limit answers 413 and the connection stays usable") {
  Served served(200ms, 64);
  e2e::RawConnection connection(served.port);
  const std::string body(100000, 'x');
  connection.send("POST /api/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: " + alice +
                  "\r\nContent-Type: application/json\r\nContent-Length: " +
                  std::to_string(body.size()) + "\r\n\r\n" + body);
  REQUIRE(connection.read_until_contains("\r\n\r\n", 5s));
  CHECK(connection.received().rfind("HTTP/1.1 413", 0) == 0);

  // The same connection answers the next request.
  e2e::RawConnection second(served.port);
  second.send("GET /api/contacts HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: " + alice +
              "\r\n\r\n");
  REQUIRE(second.read_until_contains("\r\n\r\n[]", 5s));
  CHECK(second.received().rfind("HTTP/1.1 200", 0) == 0);
}

TEST_CASE("an SSE stream delivers events as they happen") {
  Served served;
  e2e::SseReader sse(served.url, "/api/sse", bob);
  CHECK(sse.response().status_code() == 200);
  CHECK(sse.response().headers().content_type().rfind("text/event-stream", 0) == 0);
  REQUIRE(
      e2e::eventually([&] { return served.backend.session_count(jid("bob@localhost")) == 1; }, 5s));

  e2e::Client client(served.url);
  REQUIRE(client
              .call("POST", "/api/messages", R"({"to": "bob@localhost", "body": "one"})",
                    {{"Authorization", alice}})
              .status == 200);
  auto first = sse.next_event(5s);
  REQUIRE(first);
  CHECK(first->id == "1");
  CHECK(first->event == "message");
  CHECK(first->data.find(R"("body":"one")") != std::string::npos);

  REQUIRE(client
              .call("POST", "/api/messages", R"({"to": "bob@localhost", "body": "two"})",
                    {{"Authorization", alice}})
              .status == 200);
  auto second = sse.next_event(5s);
  REQUIRE(second);
  CHECK(second->id == "2");
  CHECK(second->data.find(R"("body":"two")") != std::string::npos);
}

TEST_CASE("keepalive comments are sent on an idle stream") {
  Served served(100ms);
  e2e::RawConnection connection(served.port);
  connection.send(raw_sse_request(bob));
  REQUIRE(connection.read_until_contains("\r\n\r\n", 5s));
  CHECK(connection.received().rfind("HTTP/1.1 200", 0) == 0);
  CHECK(e2e::lower(connection.received()).find("transfer-encoding: chunked") != std::string::npos);
  CHECK(connection.read_until_contains(": keepalive\n\n", 5s));
}

TEST_CASE("a client that drops an SSE connection has its session closed") {
  Served served(200ms);
  const auto user = jid("bob@localhost");
  {
    e2e::RawConnection connection(served.port);
    connection.send(raw_sse_request(bob));
    REQUIRE(connection.read_until_contains("\r\n\r\n", 5s));
    REQUIRE(connection.received().rfind("HTTP/1.1 200", 0) == 0);
    REQUIRE(e2e::eventually([&] { return served.backend.session_count(user) == 1; }, 5s));
    // Leaves without a word: the socket just closes.
  }
  CHECK(e2e::eventually([&] { return served.backend.session_count(user) == 0; }, 10s));

  // The server keeps serving.
  e2e::Client client(served.url);
  CHECK(client.call("GET", "/api/contacts", {}, {{"Authorization", bob}}).status == 200);
}

TEST_CASE("stop() ends open SSE streams and closes their sessions") {
  Served served(15s);
  const auto user = jid("bob@localhost");
  e2e::RawConnection connection(served.port);
  connection.send(raw_sse_request(bob));
  REQUIRE(connection.read_until_contains("\r\n\r\n", 5s));
  REQUIRE(e2e::eventually([&] { return served.backend.session_count(user) == 1; }, 5s));

  const auto before = std::chrono::steady_clock::now();
  served.listener->stop();
  CHECK(std::chrono::steady_clock::now() - before < 5s);
  // The chunked body was ended properly, with its last chunk.
  CHECK(connection.read_until_contains("0\r\n\r\n", 5s));
  CHECK(served.backend.session_count(user) == 0);
  // stop() twice is harmless.
  served.listener->stop();
}

TEST_CASE("start() reports what is wrong") {
  mimrest::memory::MemoryBackend backend;
  mimrest::Api api(mimrest::ApiConfig{}, backend.backend());

  SECTION("https without TLS files") {
    mimrest::cpprest::Listener listener(
        api, {"https://127.0.0.1:" + std::to_string(e2e::free_port()), std::nullopt});
    auto started = listener.start();
    REQUIRE_FALSE(started);
    CHECK(started.error().find("TLS") != std::string::npos);
  }
  SECTION("missing certificate file") {
    e2e::TempDir dir;
    mimrest::cpprest::Listener listener(
        api, {"https://127.0.0.1:" + std::to_string(e2e::free_port()),
              mimrest::TlsFiles{dir.file("none.pem"), dir.file("key.pem")}});
    auto started = listener.start();
    REQUIRE_FALSE(started);
    CHECK(started.error().find("none.pem") != std::string::npos);
  }
  SECTION("a certificate that is not PEM") {
    e2e::TempDir dir;
    mimrest::TlsFiles files{dir.write("cert.pem", "not a certificate"),
                            dir.write("key.pem", "not a key")};
    CHECK_FALSE(mimrest::load_tls_material(files));
  }
  SECTION("a port in use") {
    const std::string url = "http://127.0.0.1:" + std::to_string(e2e::free_port());
    mimrest::cpprest::Listener first(api, {url, std::nullopt});
    REQUIRE(first.start());
    mimrest::cpprest::Listener second(api, {url, std::nullopt});
    auto started = second.start();
    REQUIRE_FALSE(started);
    CHECK(started.error().find(url) != std::string::npos);
  }
  SECTION("not a URL") {
    mimrest::cpprest::Listener listener(api, {"ftp://127.0.0.1:1", std::nullopt});
    CHECK_FALSE(listener.start());
  }
}
