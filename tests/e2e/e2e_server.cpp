// mimrest-server as a child process, driven over HTTP(S) with cpprestsdk's
// http_client: every endpoint, the error statuses, CORS, SSE, TLS, bad
// configurations and graceful shutdown.
#include <catch2/catch.hpp>

#include <csignal>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "e2e_support.hpp"

namespace {

using namespace std::chrono_literals;

const std::string server_path = MIMREST_SERVER_PATH;
const std::string alice = e2e::basic("alice@localhost", "secret");
const std::string bob = e2e::basic("bob@localhost", "secret");
const std::string carol = e2e::basic("carol@localhost", "secret");

// The transport under test: MIMREST_E2E_TRANSPORT ("beast" or "cpprest"),
// the server's default when unset.
std::string transport_json() {
  const char* transport = std::getenv("MIMREST_E2E_TRANSPORT");
  if (transport == nullptr || *transport == '\0') {
    return "";
  }
  return std::string("\"transport\": \"") + transport + "\", ";
}

std::string users_json() {
  return R"("users": [{"jid": "alice@localhost", "password": "secret"},
                      {"jid": "bob@localhost", "password": "secret"},
                      {"jid": "carol@localhost", "password": "secret"}])";
}

/// A mimrest-server on a free port with a generated configuration.
class RunningServer {
 public:
  /// `extra` is inserted into the configuration object (without braces).
  explicit RunningServer(const std::string& extra = "", const std::string& scheme = "http") {
    // A port picked as free can be taken by someone else before the server
    // binds it: try a few.
    for (int attempt = 0; attempt < 5; ++attempt) {
      port_ = e2e::free_port();
      url_ = scheme + "://127.0.0.1:" + std::to_string(port_);
      std::string config = "{\"listen\": \"" + url_ + "\", " + transport_json() + users_json();
      if (!extra.empty()) {
        config += ", " + extra;
      }
      config += "}";
      const auto path = dir_.write("config.json", config);
      process_ =
          std::make_unique<e2e::Process>(std::vector<std::string>{server_path, "--config", path});
      if (auto line = process_->wait_for_line("listening on ", 10s)) {
        REQUIRE(*line == "listening on " + url_);
        return;
      }
      auto result = process_->wait(5s);
      INFO(result.err);
      process_.reset();
    }
    FAIL("mimrest-server did not start");
  }
  ~RunningServer() {
    if (process_) {
      process_->signal(SIGTERM);
      process_->wait(10s);
    }
  }

  const std::string& url() const { return url_; }
  const e2e::TempDir& dir() const { return dir_; }

  /// Sends a signal and returns how the process ended.
  e2e::ExitResult stop(int signal_number = SIGTERM) {
    process_->signal(signal_number);
    auto result = process_->wait(10s);
    process_.reset();
    return result;
  }

 private:
  e2e::TempDir dir_;
  int port_ = 0;
  std::string url_;
  std::unique_ptr<e2e::Process> process_;
};

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

using Headers = std::vector<std::pair<std::string, std::string>>;

Headers as(const std::string& auth) {
  return {{"Authorization", auth}};
}

}  // namespace

TEST_CASE("--help prints the usage on stdout and exits 0") {
  auto result = e2e::run({server_path, "--help"});
  CHECK(result.code == 0);
  CHECK(contains(result.out, "--config"));
  CHECK(result.err.empty());
}

TEST_CASE("bad arguments print the usage on stderr and exit 2") {
  for (const auto& args :
       std::vector<std::vector<std::string>>{{server_path},
                                             {server_path, "--config"},
                                             {server_path, "--verbose"},
                                             {server_path, "--help", "--config", "x"},
                                             {server_path, "--config", "a.json", "extra"}}) {
    INFO(args.size());
    auto result = e2e::run(args);
    CHECK(result.code == 2);
    CHECK(contains(result.err, "--config"));
    CHECK(result.out.empty());
  }
}

TEST_CASE("bad configurations exit 2 with a message on stderr") {
  e2e::TempDir dir;
  const std::string listen =
      "\"listen\": \"http://127.0.0.1:" + std::to_string(e2e::free_port()) + "\", ";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"not JSON", "{\"listen\": "},
      {"not an object", "[1, 2]"},
      {"unknown key", "{" + listen + "\"port\": 80}"},
      {"unknown nested key", "{" + listen + "\"cors\": {\"allowed\": []}}"},
      {"unknown user key",
       "{" + listen + R"("users": [{"jid": "a@localhost", "password": "p", "x": 1}]})"},
      {"wrong type", "{" + listen + "\"docs\": \"yes\"}"},
      {"wrong nested type", "{" + listen + "\"muc_light\": {\"enabled\": \"no\"}}"},
      {"unknown handler", "{" + listen + "\"handlers\": [\"messages\", \"presence\"]}"},
      {"bad listen URL", R"({"listen": "tcp://127.0.0.1:8089"})"},
      {"listen URL with a path", R"({"listen": "http://127.0.0.1:8089/api"})"},
      {"https without tls", R"({"listen": "https://127.0.0.1:8443"})"},
      {"tls files missing",
       R"({"listen": "https://127.0.0.1:8443", "tls": {"certificate": "nope.pem", "private_key": "nope.key"}})"},
      {"invalid user JID",
       "{" + listen + R"("users": [{"jid": "al ice@localhost", "password": "p"}]})"},
      {"user on another domain",
       "{" + listen + R"("users": [{"jid": "alice@example.com", "password": "p"}]})"},
      {"duplicate user", "{" + listen + R"("users": [{"jid": "alice@localhost", "password": "p"},
                                                       {"jid": "Alice@LOCALHOST", "password": "q"}]})"},
      {"bad timestamp unit", "{" + listen + "\"sse\": {\"timestamp_unit\": \"s\"}}"},
      {"zero max_result_limit", "{" + listen + "\"archive\": {\"max_result_limit\": 0}}"},
      {"negative max_result_limit", "{" + listen + "\"archive\": {\"max_result_limit\": -5}}"},
  };
  for (const auto& [name, text] : cases) {
    INFO(name);
    const auto path = dir.write("config.json", text);
    auto result = e2e::run({server_path, "--config", path});
    CHECK(result.code == 2);
    CHECK_FALSE(result.err.empty());
    CHECK_FALSE(contains(result.out, "listening on"));
  }

  SECTION("unreadable file") {
    auto result = e2e::run({server_path, "--config", dir.file("absent.json")});
    CHECK(result.code == 2);
    CHECK(contains(result.err, "absent.json"));
  }
}

TEST_CASE("every endpoint answers over the wire") {
  RunningServer server;
  e2e::Client client(server.url());

  SECTION("documentation, without authentication") {
    auto docs = client.call("GET", "/api/api-docs/openapi.json");
    CHECK(docs.status == 200);
    CHECK(docs.header("content-type") == "application/json");
    CHECK(contains(docs.body, "openapi"));
    CHECK(client.call("GET", "/api/api-docs").status == 200);
  }

  SECTION("messages") {
    auto sent = client.call("POST", "/api/messages", R"({"to": "bob@localhost", "body": "hello"})",
                            as(alice));
    REQUIRE(sent.status == 200);
    CHECK(sent.header("content-type") == "application/json");
    CHECK(contains(sent.body, R"("id":")"));
    client.call("POST", "/api/messages", R"({"to": "carol@localhost", "body": "hi carol"})",
                as(alice));

    auto all = client.call("GET", "/api/messages", {}, as(alice));
    CHECK(all.status == 200);
    CHECK(contains(all.body, "hello"));
    CHECK(contains(all.body, "hi carol"));

    auto with_bob = client.call("GET", "/api/messages/bob%40localhost?limit=10", {}, as(alice));
    CHECK(with_bob.status == 200);
    CHECK(contains(with_bob.body, "hello"));
    CHECK_FALSE(contains(with_bob.body, "hi carol"));

    auto bobs = client.call("GET", "/api/messages", {}, as(bob));
    CHECK(contains(bobs.body, R"("from":"alice@localhost")"));

    auto missing = client.call("POST", "/api/messages", R"({"to": "bob@localhost"})", as(alice));
    CHECK(missing.status == 400);
    CHECK(missing.body == R"("Missing message body")");
    CHECK(client.call("GET", "/api/messages?limit=x", {}, as(alice)).body == R"("Invalid limit")");
  }

  SECTION("contacts") {
    CHECK(client.call("POST", "/api/contacts", R"({"jid": "bob@localhost"})", as(alice)).status ==
          204);
    auto listed = client.call("GET", "/api/contacts", {}, as(alice));
    CHECK(listed.status == 200);
    CHECK(contains(listed.body, R"("jid":"bob@localhost")"));

    CHECK(client.call("PUT", "/api/contacts/bob%40localhost", R"({"action": "invite"})", as(alice))
              .status == 204);
    CHECK(contains(client.call("GET", "/api/contacts", {}, as(alice)).body, R"("ask":"out")"));
    CHECK(contains(client.call("GET", "/api/contacts", {}, as(bob)).body, R"("ask":"in")"));
    CHECK(client.call("PUT", "/api/contacts/alice%40localhost", R"({"action": "accept"})", as(bob))
              .status == 204);
    CHECK(contains(client.call("GET", "/api/contacts", {}, as(alice)).body,
                   R"("subscription":"to")"));

    auto one = client.call("GET", "/api/contacts/bob%40localhost", {}, as(alice));
    CHECK(one.status == 404);
    CHECK(one.body == R"("JID provided but not supported")");

    CHECK(client.call("DELETE", "/api/contacts/bob%40localhost", {}, as(alice)).status == 204);
    CHECK_FALSE(contains(client.call("GET", "/api/contacts", {}, as(alice)).body, "bob"));

    client.call("POST", "/api/contacts", R"({"jid": "carol@localhost"})", as(alice));
    auto deleted =
        client.call("DELETE", "/api/contacts",
                    R"({"to_delete": ["carol@localhost", "dave@localhost"]})", as(alice));
    CHECK(deleted.status == 200);
    CHECK(deleted.body == R"({"not_deleted":["dave@localhost"]})");
  }

  SECTION("rooms") {
    auto created =
        client.call("POST", "/api/rooms", R"({"name": "Lobby", "subject": "chat"})", as(alice));
    CHECK(created.status == 201);
    CHECK(contains(created.body, R"("id":")"));

    auto put =
        client.call("PUT", "/api/rooms/myroom", R"({"name": "Mine", "subject": "s"})", as(alice));
    CHECK(put.status == 201);
    CHECK(put.body == R"({"id":"myroom"})");

    auto rooms = client.call("GET", "/api/rooms", {}, as(alice));
    CHECK(rooms.status == 200);
    CHECK(contains(rooms.body, "Lobby"));
    CHECK(contains(rooms.body, R"("id":"myroom")"));

    auto info = client.call("GET", "/api/rooms/myroom%40muclight.localhost", {}, as(alice));
    CHECK(info.status == 200);
    CHECK(contains(info.body, R"("user":"alice@localhost")"));
    CHECK(contains(info.body, R"("role":"owner")"));

    CHECK(client
              .call("PUT", "/api/rooms/myroom/config", R"({"name": "Renamed", "subject": "t"})",
                    as(alice))
              .status == 204);
    CHECK(contains(client.call("GET", "/api/rooms/myroom", {}, as(alice)).body, "Renamed"));

    CHECK(client.call("GET", "/api/rooms/myroom", {}, as(bob)).status == 403);
    CHECK(client.call("POST", "/api/rooms/myroom/users", R"({"user": "bob@localhost"})", as(alice))
              .status == 204);
    CHECK(client.call("GET", "/api/rooms/myroom", {}, as(bob)).status == 200);

    auto posted = client.call("POST", "/api/rooms/myroom/messages",
                              R"({"body": "hello room", "markable": true})", as(bob));
    CHECK(posted.status == 200);
    CHECK(contains(posted.body, R"("id":")"));
    auto history = client.call("GET", "/api/rooms/myroom/messages?limit=10", {}, as(alice));
    CHECK(history.status == 200);
    CHECK(contains(history.body, "hello room"));
    CHECK(contains(history.body, R"("from":"bob@localhost")"));

    CHECK(client.call("DELETE", "/api/rooms/myroom/users/bob%40localhost", {}, as(alice)).status ==
          204);
    CHECK(client.call("GET", "/api/rooms/myroom", {}, as(bob)).status == 403);
    auto unknown = client.call("GET", "/api/rooms/nosuchroom", {}, as(alice));
    CHECK(unknown.status == 404);
    CHECK(unknown.body == R"("Room not found")");
  }
}

TEST_CASE("errors: 401, 404, 405, 415") {
  RunningServer server;
  e2e::Client client(server.url());

  for (const auto& headers : std::vector<Headers>{{},
                                                  as(e2e::basic("alice@localhost", "wrong")),
                                                  as(e2e::basic("eve@localhost", "x")),
                                                  as("Bearer abc")}) {
    auto denied = client.call("GET", "/api/contacts", {}, headers);
    CHECK(denied.status == 401);
    CHECK(denied.header("www-authenticate") == R"(Basic realm="mongooseim")");
    CHECK(denied.body.empty());
  }

  CHECK(client.call("GET", "/api/nothing/here", {}, as(alice)).status == 404);
  CHECK(client.call("GET", "/elsewhere", {}, as(alice)).status == 404);

  auto not_allowed = client.call("PATCH", "/api/messages", std::string("{}"), as(alice));
  CHECK(not_allowed.status == 405);
  CHECK(contains(not_allowed.header("allow"), "POST"));

  auto options = client.call("OPTIONS", "/api/messages");
  CHECK(options.status == 200);
  CHECK(contains(options.header("allow"), "GET"));

  auto wrong_type = client.call("POST", "/api/messages", std::string("to=bob"),
                                {{"Authorization", alice}, {"Content-Type", "text/plain"}});
  CHECK(wrong_type.status == 415);
}

TEST_CASE("CORS headers for allowed origins only") {
  RunningServer server(R"("cors": {"allowed_origins": ["http://app.example"]})");
  e2e::Client client(server.url());

  auto allowed = client.call("GET", "/api/contacts", {},
                             {{"Authorization", alice}, {"Origin", "http://app.example"}});
  CHECK(allowed.status == 200);
  CHECK(allowed.header("access-control-allow-origin") == "http://app.example");
  CHECK(allowed.header("access-control-allow-credentials") == "true");
  CHECK(contains(allowed.header("access-control-allow-methods"), "OPTIONS"));
  CHECK(allowed.header("access-control-allow-headers") == "authorization, content-type");

  auto preflight = client.call("OPTIONS", "/api/rooms", {}, {{"Origin", "http://app.example"}});
  CHECK(preflight.status == 200);
  CHECK(preflight.header("access-control-allow-origin") == "http://app.example");

  auto other = client.call("GET", "/api/contacts", {},
                           {{"Authorization", alice}, {"Origin", "http://evil.example"}});
  CHECK(other.status == 200);
  CHECK_FALSE(other.has_header("access-control-allow-origin"));
}

TEST_CASE("SSE pushes message and room.message events with increasing ids") {
  RunningServer server;
  e2e::Client client(server.url());

  auto unauthenticated = client.call("GET", "/api/sse");
  CHECK(unauthenticated.status == 401);

  e2e::SseReader sse(server.url(), "/api/sse", bob);
  REQUIRE(sse.response().status_code() == 200);
  CHECK(sse.response().headers().content_type().rfind("text/event-stream", 0) == 0);

  REQUIRE(
      client.call("POST", "/api/messages", R"({"to": "bob@localhost", "body": "ping"})", as(alice))
          .status == 200);
  auto chat = sse.next_event(5s);
  REQUIRE(chat);
  CHECK(chat->id == "1");
  CHECK(chat->event == "message");
  CHECK(contains(chat->data, R"("body":"ping")"));
  CHECK(contains(chat->data, R"("from":"alice@localhost")"));

  REQUIRE(client.call("PUT", "/api/rooms/sseroom", R"({"name": "n", "subject": "s"})", as(alice))
              .status == 201);
  REQUIRE(client.call("POST", "/api/rooms/sseroom/users", R"({"user": "bob@localhost"})", as(alice))
              .status == 204);
  REQUIRE(
      client.call("POST", "/api/rooms/sseroom/messages", R"({"body": "to the room"})", as(alice))
          .status == 200);

  // The affiliation change and then the message, numbered on.
  std::uint64_t last_id = 1;
  bool got_room_message = false;
  for (int i = 0; i < 5 && !got_room_message; ++i) {
    auto event = sse.next_event(5s);
    REQUIRE(event);
    CHECK(std::stoull(event->id) == last_id + 1);
    last_id = std::stoull(event->id);
    CHECK(event->event == "room.message");
    CHECK(contains(event->data, R"("room":"sseroom")"));
    got_room_message = contains(event->data, R"("body":"to the room")");
  }
  CHECK(got_room_message);
}

TEST_CASE("SIGTERM with an open SSE stream ends it and exits 0 promptly") {
  RunningServer server;
  e2e::SseReader sse(server.url(), "/api/sse", alice);
  REQUIRE(sse.response().status_code() == 200);

  const auto before = std::chrono::steady_clock::now();
  auto result = server.stop(SIGTERM);
  CHECK_FALSE(result.timed_out);
  CHECK(result.code == 0);
  CHECK(std::chrono::steady_clock::now() - before < 5s);
  CHECK(sse.wait_for_end(5s));
}

TEST_CASE("SIGINT stops the server too") {
  RunningServer server;
  e2e::Client client(server.url());
  CHECK(client.call("GET", "/api/contacts", {}, as(alice)).status == 200);
  auto result = server.stop(SIGINT);
  CHECK(result.code == 0);
  CHECK(result.err.empty());
}

TEST_CASE("HTTPS round trip with a certificate made for the test") {
  e2e::TempDir keys;
  const std::string command =
      "openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost "
      "-days 1 -keyout '" +
      keys.file("key.pem") + "' -out '" + keys.file("cert.pem") + "' >/dev/null 2>&1";
  REQUIRE(std::system(command.c_str()) == 0);

  RunningServer server(R"("tls": {"certificate": ")" + keys.file("cert.pem") +
                           R"(", "private_key": ")" + keys.file("key.pem") + "\"}",
                       "https");
  e2e::Client client(server.url());
  auto reply = client.call("GET", "/api/contacts", {}, as(alice));
  CHECK(reply.status == 200);
  CHECK(reply.body == "[]");
  CHECK(client.call("GET", "/api/contacts").status == 401);
  const auto result = server.stop();
  INFO(result.err);
  CHECK(result.code == 0);
}
