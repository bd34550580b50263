// mimrest-server's storage as a child process over HTTP: the user commands
// on the SQLite store, durability across kill -9, configured users, stores
// that cannot be opened, two nodes on one PostgreSQL database (tests tagged
// [postgresql], run with the ctest fixture of tests/sql), Bearer tokens,
// resumable event streams, the `after` cursor and the demo page.
#include <catch2/catch.hpp>

#include <algorithm>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <rapidjson/document.h>

#include "e2e_support.hpp"
#include "raw_http.hpp"
#include "sql_test_support.hpp"

namespace {

using namespace std::chrono_literals;

const std::string server_path = MIMREST_SERVER_PATH;
const std::string alice = e2e::basic("alice@localhost", "secret");
const std::string bob = e2e::basic("bob@localhost", "secret");

using Headers = std::vector<std::pair<std::string, std::string>>;

Headers as(const std::string& auth) {
  return {{"Authorization", auth}};
}

std::string bearer(const std::string& token) {
  return "Bearer " + token;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::string transport_json() {
  const char* transport = std::getenv("MIMREST_E2E_TRANSPORT");
  if (transport == nullptr || *transport == '\0') {
    return "";
  }
  return std::string("\"transport\": \"") + transport + "\", ";
}

const std::string two_users = R"("users": [{"jid": "alice@localhost", "password": "secret"},
                                           {"jid": "bob@localhost", "password": "secret"}])";

/// A mimrest-server whose configuration lives in a folder that outlives it,
/// so that it can be killed and started again on the same store.
class Server {
 public:
  /// `keys` go into the configuration object (without braces), next to a
  /// fresh `listen`; `name` is the configuration file in `dir`. Started at
  /// once unless `start_now` is false (then launch() and await_listening()).
  Server(const e2e::TempDir& dir, std::string keys, std::string name = "config.json",
         bool start_now = true)
      : dir_(dir), keys_(std::move(keys)), name_(std::move(name)) {
    if (start_now) {
      start();
    }
  }
  ~Server() {
    if (process_) {
      process_->signal(SIGTERM);
      process_->wait(10s);
    }
  }
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  void start() {
    // A port picked as free can be taken before the server binds it.
    for (int attempt = 0; attempt < 5; ++attempt) {
      launch();
      if (auto failure = await_listening()) {
        INFO(*failure);
        REQUIRE(contains(*failure, "address"));  // only a taken port is worth a retry
        continue;
      }
      return;
    }
    FAIL("mimrest-server did not start");
  }

  /// Writes the configuration with a free port and starts the process.
  void launch() {
    REQUIRE_FALSE(process_);
    port_ = e2e::free_port();
    url_ = "http://127.0.0.1:" + std::to_string(port_);
    dir_.write(name_, "{\"listen\": \"" + url_ + "\", " + transport_json() + keys_ + "}");
    process_ = std::make_unique<e2e::Process>(
        std::vector<std::string>{server_path, "--config", config_path()});
  }

  /// Waits for "listening on"; nullopt then, else what the process said.
  std::optional<std::string> await_listening() {
    if (auto line = process_->wait_for_line("listening on ", 15s)) {
      if (*line == "listening on " + url_) {
        return std::nullopt;
      }
      return "unexpected: " + *line;
    }
    auto result = process_->wait(5s);
    process_.reset();
    return "exit " + std::to_string(result.code) + ": " + result.err;
  }

  /// kill -9: no chance to flush or close anything.
  void kill() {
    process_->signal(SIGKILL);
    process_->wait(10s);
    process_.reset();
  }

  e2e::ExitResult stop() {
    process_->signal(SIGTERM);
    auto result = process_->wait(10s);
    process_.reset();
    return result;
  }

  void restart_after_kill() {
    kill();
    start();
  }

  const std::string& url() const { return url_; }
  int port() const { return port_; }
  std::string config_path() const { return dir_.file(name_); }

 private:
  const e2e::TempDir& dir_;
  std::string keys_;
  std::string name_;
  int port_ = 0;
  std::string url_;
  std::unique_ptr<e2e::Process> process_;
};

/// `mimrest-server --config FILE user ARGS...` with `input` on stdin.
e2e::ExitResult user_command(const e2e::TempDir& dir, const std::string& config,
                             std::vector<std::string> args, const std::string& input = "") {
  const std::string input_file = dir.write("stdin.txt", input);
  std::vector<std::string> command{
      "/bin/sh", "-c", "exec \"$@\" < \"$0\"", input_file, server_path, "--config", config, "user"};
  command.insert(command.end(), args.begin(), args.end());
  return e2e::run(command, 20s);
}

/// The status of a GET /contacts with these credentials (a cheap
/// authenticated request).
int login_status(const std::string& url, const std::string& auth) {
  e2e::Client client(url);
  return client.call("GET", "/api/contacts", {}, as(auth)).status;
}

rapidjson::Document parse(const std::string& text) {
  rapidjson::Document document;
  document.Parse(text.c_str(), text.size());
  INFO(text);
  REQUIRE_FALSE(document.HasParseError());
  return document;
}

/// The bodies of a message list, in order.
std::vector<std::string> bodies(const std::string& json) {
  auto document = parse(json);
  REQUIRE(document.IsArray());
  std::vector<std::string> result;
  for (const auto& item : document.GetArray()) {
    result.emplace_back(item.HasMember("body") ? item["body"].GetString() : "");
  }
  return result;
}

struct TokenPair {
  std::string access;
  std::string refresh;
};

TokenPair token_pair(const e2e::Reply& reply) {
  INFO(reply.body);
  REQUIRE(reply.status == 200);
  auto document = parse(reply.body);
  REQUIRE(document.IsObject());
  REQUIRE(document.HasMember("access_token"));
  REQUIRE(document.HasMember("refresh_token"));
  return {document["access_token"].GetString(), document["refresh_token"].GetString()};
}

TokenPair new_tokens(const std::string& url, const std::string& auth) {
  e2e::Client client(url);
  return token_pair(client.call("POST", "/api/tokens", {}, as(auth)));
}

/// GET /sse over a plain connection (any headers, no Authorization at all,
/// Last-Event-ID), read incrementally; chunked or not.
class EventStream {
 public:
  EventStream(int port, const std::string& target, const std::string& auth,
              const std::string& extra_headers = {})
      : connection_(port) {
    REQUIRE(connection_.send(
        raw::request("GET", target, auth, {}, "Accept: text/event-stream\r\n" + extra_headers)));
    REQUIRE(connection_.read_until_contains("\r\n\r\n", 10s));
    std::string& received = connection_.received();
    status_ = std::stoi(received.substr(9, 3));
    if (status_ != 200) {
      auto response = connection_.response(10s);
      REQUIRE(response);
      error_ = *response;
      return;
    }
    const auto end = received.find("\r\n\r\n");
    const std::string head = raw::lower(received.substr(0, end));
    chunked_ = contains(head, "transfer-encoding: chunked");
    content_type_event_stream_ = contains(head, "content-type: text/event-stream");
    received.erase(0, end + 4);
  }

  int status() const { return status_; }
  const raw::Response& error() const { return error_; }
  bool event_stream() const { return content_type_event_stream_; }

  /// The next event (comments skipped), or nullopt on timeout or end.
  std::optional<e2e::SseEvent> next(std::chrono::milliseconds timeout = 10s) {
    const auto deadline = raw::Clock::now() + timeout;
    while (true) {
      decode();
      for (auto end = text_.find("\n\n"); end != std::string::npos; end = text_.find("\n\n")) {
        const std::string block = text_.substr(0, end);
        text_.erase(0, end + 2);
        e2e::SseEvent event;
        bool any = false;
        std::size_t start = 0;
        while (start < block.size()) {
          auto line_end = block.find('\n', start);
          if (line_end == std::string::npos) {
            line_end = block.size();
          }
          const std::string line = block.substr(start, line_end - start);
          start = line_end + 1;
          for (auto [name, into] : {std::pair<const char*, std::string*>{"id: ", &event.id},
                                    {"event: ", &event.event},
                                    {"data: ", &event.data}}) {
            if (line.rfind(name, 0) == 0) {
              *into = line.substr(std::string(name).size());
              any = true;
            }
          }
        }
        if (any) {
          return event;
        }
      }
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - raw::Clock::now());
      if (left.count() <= 0 || connection_.ended()) {
        return std::nullopt;
      }
      const auto before = connection_.received().size();
      connection_.read_until([before](const std::string& got) { return got.size() > before; },
                             left);
    }
  }

  /// Events until `count` arrived or one does not come in time.
  std::vector<e2e::SseEvent> take(std::size_t count, std::chrono::milliseconds timeout = 10s) {
    std::vector<e2e::SseEvent> events;
    while (events.size() < count) {
      auto event = next(timeout);
      if (!event) {
        break;
      }
      events.push_back(std::move(*event));
    }
    return events;
  }

  void close() { connection_.close(); }

 private:
  /// Moves the body bytes received so far into text_.
  void decode() {
    std::string& received = connection_.received();
    if (!chunked_) {
      text_ += received;
      received.clear();
      return;
    }
    while (true) {
      const auto size_end = received.find("\r\n");
      if (size_end == std::string::npos) {
        return;
      }
      const std::size_t size = std::stoul(received.substr(0, size_end), nullptr, 16);
      if (received.size() < size_end + 2 + size + 2) {
        return;
      }
      text_.append(received, size_end + 2, size);
      received.erase(0, size_end + 2 + size + 2);
    }
  }

  raw::Connection connection_;
  int status_ = 0;
  raw::Response error_;
  bool chunked_ = false;
  bool content_type_event_stream_ = false;
  std::string text_;
};

std::string body_of(const e2e::SseEvent& event) {
  auto document = parse(event.data);
  return document.HasMember("body") ? document["body"].GetString() : std::string();
}

std::string chat(const std::string& to, const std::string& body) {
  return R"({"to": ")" + to + R"(", "body": ")" + body + "\"}";
}

}  // namespace

// ---------------------------------------------------------------------------
// User commands

TEST_CASE("user add, passwd, delete and list work on the SQLite store") {
  e2e::TempDir dir;
  const std::string config = dir.write("config.json", "{\"tokens\": {\"enabled\": true}}");

  auto empty = user_command(dir, config, {"list"});
  CHECK(empty.code == 0);
  CHECK(empty.out.empty());
  CHECK(empty.err.empty());

  auto added = user_command(dir, config, {"add", "alice@localhost"}, "first\n");
  CHECK(added.code == 0);
  CHECK(added.out.empty());
  CHECK(added.err.empty());
  // A password may contain colons and spaces; a CR before the line end is not part of it.
  CHECK(user_command(dir, config, {"add", "Bob@LOCALHOST"}, "b: b\r\nignored\n").code == 0);

  SECTION("failures: a message on stderr and exit 1") {
    const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
        {{"add", "alice@localhost"}, "exists"},
        {{"passwd", "carol@localhost"}, "carol@localhost"},
        {{"delete", "carol@localhost"}, "carol@localhost"},
        {{"add", "not a jid"}, "not a jid"},
        {{"add", "alice@localhost/phone"}, "alice@localhost/phone"},
        {{"add", "localhost"}, "localhost"},
        {{"add", "carol@example.com"}, "example.com"},
        {{"delete", "alice@example.com"}, "example.com"},
    };
    for (const auto& [args, mentioned] : cases) {
      INFO(args[0] << " " << args[1]);
      auto result = user_command(dir, config, args, "pw\n");
      CHECK(result.code == 1);
      CHECK(contains(result.err, mentioned));
      CHECK(result.out.empty());
    }
    INFO("no password on stdin");
    auto no_password = user_command(dir, config, {"add", "carol@localhost"}, "");
    CHECK(no_password.code == 1);
    CHECK(contains(no_password.err, "password"));
    auto empty_password = user_command(dir, config, {"passwd", "alice@localhost"}, "\n");
    CHECK(empty_password.code == 1);
    CHECK_FALSE(empty_password.err.empty());
  }

  SECTION("bad usage: exit 2 with the usage on stderr") {
    for (const auto& args : std::vector<std::vector<std::string>>{
             {}, {"rename", "alice@localhost"}, {"list", "extra"}, {"add"}}) {
      INFO(args.size());
      auto result = user_command(dir, config, args, "pw\n");
      CHECK(result.code == 2);
      CHECK(contains(result.err, "user add"));
    }
  }

  SECTION("not on memory storage") {
    const std::string memory = dir.write("memory.json", R"({"storage": {"type": "memory"}})");
    auto result = user_command(dir, memory, {"list"});
    CHECK(result.code == 1);
    CHECK(contains(result.err, "memory"));
  }

  SECTION("the effect on logins, through a server on that store") {
    auto listed = user_command(dir, config, {"list"});
    CHECK(listed.code == 0);
    CHECK(listed.out == "alice@localhost\nbob@localhost\n");

    Server server(dir, "\"tokens\": {\"enabled\": true}");
    CHECK(login_status(server.url(), e2e::basic("alice@localhost", "first")) == 200);
    CHECK(login_status(server.url(), e2e::basic("alice@localhost", "other")) == 401);
    CHECK(login_status(server.url(), e2e::basic("bob@localhost", "b: b")) == 200);
    const TokenPair tokens = new_tokens(server.url(), e2e::basic("alice@localhost", "first"));
    CHECK(login_status(server.url(), bearer(tokens.access)) == 200);

    // Changed while the server runs: the tokens are revoked at once, the
    // old password no longer logs in, the new one does.
    auto changed = user_command(dir, config, {"passwd", "alice@localhost"}, "second\n");
    CHECK(changed.code == 0);
    CHECK(changed.err.empty());
    CHECK(login_status(server.url(), bearer(tokens.access)) == 401);
    e2e::Client client(server.url());
    CHECK(
        client
            .call("POST", "/api/tokens/refresh", R"({"refresh_token": ")" + tokens.refresh + "\"}")
            .status == 401);
    CHECK(login_status(server.url(), e2e::basic("alice@localhost", "second")) == 200);
    CHECK(login_status(server.url(), e2e::basic("alice@localhost", "first")) == 401);

    auto deleted = user_command(dir, config, {"delete", "bob@localhost"});
    CHECK(deleted.code == 0);
    CHECK(deleted.err.empty());
    CHECK(login_status(server.url(), e2e::basic("bob@localhost", "b: b")) == 401);
    CHECK(user_command(dir, config, {"list"}).out == "alice@localhost\n");

    // And after a restart on the same store.
    server.stop();
    server.start();
    CHECK(login_status(server.url(), e2e::basic("alice@localhost", "second")) == 200);
    CHECK(login_status(server.url(), e2e::basic("alice@localhost", "first")) == 401);
    CHECK(login_status(server.url(), e2e::basic("bob@localhost", "b: b")) == 401);
    CHECK(login_status(server.url(), bearer(tokens.access)) == 401);
  }
}

TEST_CASE("configured users are created when missing and left as stored otherwise") {
  e2e::TempDir dir;
  Server server(dir, two_users);
  CHECK(login_status(server.url(), alice) == 200);
  CHECK(login_status(server.url(), bob) == 200);
  server.stop();

  const auto config = server.config_path();
  REQUIRE(user_command(dir, config, {"passwd", "alice@localhost"}, "changed\n").code == 0);
  REQUIRE(user_command(dir, config, {"delete", "bob@localhost"}).code == 0);
  REQUIRE(user_command(dir, config, {"add", "carol@localhost"}, "carols\n").code == 0);

  server.start();
  CHECK(login_status(server.url(), e2e::basic("alice@localhost", "changed")) == 200);
  CHECK(login_status(server.url(), alice) == 401);
  CHECK(login_status(server.url(), bob) == 200);  // missing again: created again
  CHECK(login_status(server.url(), e2e::basic("carol@localhost", "carols")) == 200);
  CHECK(user_command(dir, config, {"list"}).out ==
        "alice@localhost\nbob@localhost\ncarol@localhost\n");
}

// ---------------------------------------------------------------------------
// Durability

TEST_CASE("every answered message survives kill -9 (SQLite, sync normal)") {
  e2e::TempDir dir;
  Server server(dir, two_users + R"(, "archive": {"max_result_limit": 1000},
                      "storage": {"type": "sqlite", "path": "chat.db", "sync": "normal"})");
  constexpr int threads = 4;
  constexpr int per_thread = 60;
  std::vector<std::vector<int>> statuses(threads);
  {
    // cpprestsdk creates its task scheduler on first use under a spin lock
    // that ThreadSanitizer cannot see; create it here, before the threads.
    pplx::get_ambient_scheduler();
    std::vector<std::thread> senders;
    for (int t = 0; t < threads; ++t) {
      senders.emplace_back([&, t] {
        e2e::Client client(server.url());
        const bool from_alice = t % 2 == 0;
        for (int i = 0; i < per_thread; ++i) {
          const std::string body = "m" + std::to_string(t) + "-" + std::to_string(i);
          try {
            statuses[t].push_back(
                client
                    .call("POST", "/api/messages",
                          chat(from_alice ? "bob@localhost" : "alice@localhost", body),
                          as(from_alice ? alice : bob))
                    .status);
          } catch (const std::exception&) {
            statuses[t].push_back(0);
          }
        }
      });
    }
    for (auto& sender : senders) {
      sender.join();
    }
  }
  for (const auto& list : statuses) {
    for (int status : list) {
      REQUIRE(status == 200);
    }
  }
  server.restart_after_kill();

  e2e::Client client(server.url());
  for (const auto& user : {alice, bob}) {
    auto archive = client.call("GET", "/api/messages?limit=1000", {}, as(user));
    REQUIRE(archive.status == 200);
    const auto got = bodies(archive.body);
    CHECK(got.size() == threads * per_thread);
    const std::set<std::string> unique(got.begin(), got.end());
    for (int t = 0; t < threads; ++t) {
      for (int i = 0; i < per_thread; ++i) {
        const std::string body = "m" + std::to_string(t) + "-" + std::to_string(i);
        INFO(body);
        CHECK(unique.count(body) == 1);
      }
    }
  }
}

TEST_CASE("rooms, contacts and Bearer tokens survive kill -9") {
  e2e::TempDir dir;
  Server server(dir, two_users + R"(, "tokens": {"enabled": true})");
  TokenPair tokens;
  {
    e2e::Client client(server.url());
    REQUIRE(client.call("PUT", "/api/rooms/keep", R"({"name": "Kept", "subject": "s"})", as(alice))
                .status == 201);
    REQUIRE(client.call("POST", "/api/rooms/keep/users", R"({"user": "bob@localhost"})", as(alice))
                .status == 204);
    REQUIRE(client.call("POST", "/api/rooms/keep/messages", R"({"body": "in the room"})", as(bob))
                .status == 200);
    REQUIRE(client.call("POST", "/api/contacts", R"({"jid": "bob@localhost"})", as(alice)).status ==
            204);
    REQUIRE(
        client.call("PUT", "/api/contacts/bob%40localhost", R"({"action": "invite"})", as(alice))
            .status == 204);
    REQUIRE(
        client.call("PUT", "/api/contacts/alice%40localhost", R"({"action": "accept"})", as(bob))
            .status == 204);
    tokens = new_tokens(server.url(), alice);
  }
  server.restart_after_kill();

  e2e::Client client(server.url());
  auto info = client.call("GET", "/api/rooms/keep", {}, as(bob));
  CHECK(info.status == 200);
  CHECK(contains(info.body, R"("name":"Kept")"));
  CHECK(contains(info.body, R"({"user":"alice@localhost","role":"owner"})"));
  CHECK(contains(info.body, R"({"user":"bob@localhost","role":"member"})"));
  CHECK(contains(client.call("GET", "/api/rooms", {}, as(alice)).body, R"("id":"keep")"));
  CHECK(
      contains(client.call("GET", "/api/rooms/keep/messages", {}, as(alice)).body, "in the room"));
  CHECK(client.call("GET", "/api/contacts", {}, as(alice)).body ==
        R"([{"jid":"bob@localhost","subscription":"to","ask":"none"}])");
  CHECK(client.call("GET", "/api/contacts", {}, as(bob)).body ==
        R"([{"jid":"alice@localhost","subscription":"from","ask":"none"}])");

  CHECK(login_status(server.url(), bearer(tokens.access)) == 200);
  const TokenPair refreshed = token_pair(client.call(
      "POST", "/api/tokens/refresh", R"({"refresh_token": ")" + tokens.refresh + "\"}"));
  CHECK(login_status(server.url(), bearer(refreshed.access)) == 200);
}

// ---------------------------------------------------------------------------
// Stores that cannot be used

TEST_CASE("an unknown storage type exits 2 with a message") {
  e2e::TempDir dir;
  for (const std::string storage :
       {R"({"type": "mysql"})", R"({"type": "sqlite", "path": 3})", R"({"type": "postgresql"})"}) {
    INFO(storage);
    const auto config = dir.write("config.json", "{\"storage\": " + storage + "}");
    auto result = e2e::run({server_path, "--config", config});
    CHECK(result.code == 2);
    CHECK(contains(result.err, "storage"));
    CHECK(result.out.empty());
    CHECK(user_command(dir, config, {"list"}).code == 2);
  }
}

TEST_CASE("a store that cannot be opened: a message on stderr, exit 1, soon") {
  e2e::TempDir dir;
  const std::string listen =
      "\"listen\": \"http://127.0.0.1:" + std::to_string(e2e::free_port()) + "\", ";

  // A PostgreSQL "server" that accepts connections and never answers: the
  // slowest case, run meanwhile.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  REQUIRE(::listen(fd, 16) == 0);
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0);
  const std::string silent_url =
      "postgresql://mimrest@127.0.0.1:" + std::to_string(ntohs(address.sin_port)) + "/mimrest";
  const auto silent_config =
      dir.write("silent.json", "{" + listen + R"("storage": {"type": "postgresql", "url": ")" +
                                   silent_url + "\"}}");
  const auto silent_start = e2e::Clock::now();
  e2e::Process silent({server_path, "--config", silent_config});

  std::filesystem::create_directory(dir.path() / "folder.db");
  dir.write("text.db", std::string(4096, 'x'));
  {
    // A SQLite database of another application.
    mimrest::sql::detail::SqliteOptions options;
    options.path = dir.file("other.db");
    options.create = true;
    auto other = mimrest::sql::detail::open_sqlite(options);
    other->script("CREATE TABLE accounts (name TEXT); INSERT INTO accounts VALUES ('x')");
  }
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"type": "sqlite", "path": "folder.db"})", "folder.db"},
      {R"({"type": "sqlite", "path": "text.db"})", "text.db"},
      {R"({"type": "sqlite", "path": "other.db"})", "other.db"},
      {R"({"type": "sqlite", "path": "no/such/folder/x.db"})", "x.db"},
      {R"({"type": "postgresql", "url": "postgresql://mimrest@127.0.0.1:)" +
           std::to_string(e2e::free_port()) + "/mimrest\"}",
       "PostgreSQL"},
  };
  for (const auto& [storage, mentioned] : cases) {
    INFO(storage);
    const auto config = dir.write("config.json", "{" + listen + "\"storage\": " + storage + "}");
    const auto started = e2e::Clock::now();
    auto result = e2e::run({server_path, "--config", config}, 20s);
    CHECK_FALSE(result.timed_out);
    CHECK(e2e::Clock::now() - started < 15s);
    CHECK(result.code == 1);
    CHECK(contains(result.err, mentioned));
    CHECK_FALSE(contains(result.out, "listening on"));
    auto command = user_command(dir, config, {"list"});
    CHECK(command.code == 1);
    CHECK(contains(command.err, mentioned));
  }
  CHECK(std::filesystem::file_size(dir.file("text.db")) == 4096);  // left as it was

  auto result = silent.wait(20s);
  ::close(fd);
  CHECK_FALSE(result.timed_out);
  CHECK(e2e::Clock::now() - silent_start < 15s);
  CHECK(result.code == 1);
  CHECK(contains(result.err, "PostgreSQL"));
  CHECK_FALSE(contains(result.out, "listening on"));
}

// ---------------------------------------------------------------------------
// Bearer tokens, resumable streams, the history cursor, the demo page (on the
// default storage: SQLite beside the configuration)

TEST_CASE("Bearer tokens over HTTP") {
  e2e::TempDir dir;
  Server server(dir, two_users + R"(, "tokens": {"enabled": true})");
  e2e::Client client(server.url());

  auto issued = client.call("POST", "/api/tokens", {}, as(alice));
  REQUIRE(issued.status == 200);
  CHECK(issued.header("content-type") == "application/json");
  auto document = parse(issued.body);
  CHECK(std::string(document["token_type"].GetString()) == "Bearer");
  CHECK(document["expires_in"].GetInt() == 900);
  const TokenPair first = token_pair(issued);
  CHECK(first.access != first.refresh);
  CHECK(first.access.size() >= 22);  // 128 bits at least, however encoded

  // The Bearer challenge, beside the Basic one (the client joins the two
  // WWW-Authenticate headers with a comma).
  const std::string invalid = R"(Bearer realm="mongooseim", error="invalid_token")";
  auto check_invalid = [&](const e2e::Reply& reply) {
    CHECK(reply.status == 401);
    CHECK(contains(reply.header("www-authenticate"), invalid));
    CHECK(reply.body.empty());
  };

  // On a route, and as what it authenticates.
  REQUIRE(client
              .call("POST", "/api/messages", chat("bob@localhost", "by token"),
                    as(bearer(first.access)))
              .status == 200);
  CHECK(contains(client.call("GET", "/api/messages", {}, as(bob)).body,
                 R"("from":"alice@localhost")"));
  check_invalid(client.call("GET", "/api/contacts", {}, as(bearer(first.refresh))));
  check_invalid(client.call("GET", "/api/contacts", {}, as(bearer("abc"))));
  check_invalid(
      client.call("GET", "/api/contacts", {}, as(bearer(std::string(first.access.size(), 'A')))));
  // ?access_token= is for /sse only.
  CHECK(client.call("GET", "/api/contacts?access_token=" + first.access).status == 401);

  SECTION("?access_token= on /sse") {
    EventStream stream(server.port(), "/api/sse?access_token=" + first.access, "");
    REQUIRE(stream.status() == 200);
    CHECK(stream.event_stream());
    REQUIRE(client.call("POST", "/api/messages", chat("alice@localhost", "to the token"), as(bob))
                .status == 200);
    auto event = stream.next();
    REQUIRE(event);
    CHECK(event->event == "message");
    CHECK(body_of(*event) == "to the token");

    EventStream refused(server.port(), "/api/sse?access_token=" + first.refresh, "");
    CHECK(refused.status() == 401);
    CHECK(contains(refused.error().header("www-authenticate"), "Bearer"));
  }

  SECTION("refresh rotation and replay detection") {
    const std::string body = R"({"refresh_token": ")" + first.refresh + "\"}";
    const TokenPair second = token_pair(client.call("POST", "/api/tokens/refresh", body));
    CHECK(second.access != first.access);
    CHECK(second.refresh != first.refresh);
    CHECK(login_status(server.url(), bearer(second.access)) == 200);
    // Another family of the same user, untouched by the replay below.
    const TokenPair other = new_tokens(server.url(), alice);

    // The spent refresh token again: refused, and its family revoked.
    CHECK(client.call("POST", "/api/tokens/refresh", body).status == 401);
    CHECK(login_status(server.url(), bearer(second.access)) == 401);
    CHECK(login_status(server.url(), bearer(first.access)) == 401);
    CHECK(
        client
            .call("POST", "/api/tokens/refresh", R"({"refresh_token": ")" + second.refresh + "\"}")
            .status == 401);
    CHECK(login_status(server.url(), bearer(other.access)) == 200);
  }

  SECTION("DELETE /tokens revokes every token of the user") {
    const TokenPair other = new_tokens(server.url(), alice);
    const TokenPair bobs = new_tokens(server.url(), bob);
    CHECK(client.call("DELETE", "/api/tokens", {}, as(bearer(first.access))).status == 204);
    CHECK(login_status(server.url(), bearer(first.access)) == 401);
    CHECK(login_status(server.url(), bearer(other.access)) == 401);
    CHECK(
        client.call("POST", "/api/tokens/refresh", R"({"refresh_token": ")" + other.refresh + "\"}")
            .status == 401);
    CHECK(login_status(server.url(), bearer(bobs.access)) == 200);
    CHECK(login_status(server.url(), alice) == 200);  // the password still works
  }
}

TEST_CASE("resumable streams replay what was missed after Last-Event-ID") {
  e2e::TempDir dir;
  Server server(dir, two_users + R"(, "sse": {"resume": true})");
  e2e::Client client(server.url());
  REQUIRE(client.call("PUT", "/api/rooms/resume", R"({"name": "n", "subject": "s"})", as(alice))
              .status == 201);
  REQUIRE(client.call("POST", "/api/rooms/resume/users", R"({"user": "bob@localhost"})", as(alice))
              .status == 204);

  std::string last_id;
  {
    EventStream stream(server.port(), "/api/sse", bob);
    REQUIRE(stream.status() == 200);
    REQUIRE(client.call("POST", "/api/messages", chat("bob@localhost", "seen"), as(alice)).status ==
            200);
    auto event = stream.next();
    REQUIRE(event);
    CHECK(body_of(*event) == "seen");
    last_id = event->id;
    REQUIRE_FALSE(last_id.empty());
  }
  // Away: two one-to-one messages, one of them from bob himself (his live
  // streams would not get it: not replayed either), and a room message.
  REQUIRE(
      client.call("POST", "/api/messages", chat("bob@localhost", "missed 1"), as(alice)).status ==
      200);
  REQUIRE(client.call("POST", "/api/messages", chat("alice@localhost", "own"), as(bob)).status ==
          200);
  REQUIRE(client.call("POST", "/api/rooms/resume/messages", R"({"body": "missed 2"})", as(alice))
              .status == 200);

  auto check_replay = [&](EventStream& stream) {
    REQUIRE(stream.status() == 200);
    auto events = stream.take(2);
    REQUIRE(events.size() == 2);
    CHECK(events[0].event == "message");
    CHECK(body_of(events[0]) == "missed 1");
    CHECK(events[1].event == "room.message");
    CHECK(body_of(events[1]) == "missed 2");
    CHECK(contains(events[1].data, R"("room":"resume")"));
    CHECK(events[0].id != last_id);
    CHECK(events[1].id != events[0].id);
    // Then live, with no duplicate.
    REQUIRE(client.call("POST", "/api/messages", chat("bob@localhost", "live"), as(alice)).status ==
            200);
    auto live = stream.next();
    REQUIRE(live);
    CHECK(body_of(*live) == "live");
    CHECK_FALSE(stream.next(300ms));
    return live->id;
  };

  SECTION("the Last-Event-ID header") {
    EventStream stream(server.port(), "/api/sse", bob, "Last-Event-ID: " + last_id + "\r\n");
    const std::string live_id = check_replay(stream);
    stream.close();
    // Resuming after the newest event replays nothing.
    EventStream again(server.port(), "/api/sse", bob, "Last-Event-ID: " + live_id + "\r\n");
    REQUIRE(again.status() == 200);
    CHECK_FALSE(again.next(300ms));
  }

  SECTION("the last_event_id query") {
    EventStream stream(server.port(), "/api/sse?last_event_id=" + last_id, bob);
    check_replay(stream);
  }

  SECTION("an id never issued: 400") {
    for (const std::string id : {"abc", "-1", "99999999999999"}) {
      INFO(id);
      EventStream stream(server.port(), "/api/sse", bob, "Last-Event-ID: " + id + "\r\n");
      CHECK(stream.status() == 400);
      CHECK(stream.error().body == R"("Invalid Last-Event-ID")");
    }
  }
}

TEST_CASE("more missed events than sse.max_replay: the stream starts with reset") {
  e2e::TempDir dir;
  Server server(dir, two_users + R"(, "sse": {"resume": true, "max_replay": 2})");
  e2e::Client client(server.url());
  std::string last_id;
  {
    EventStream stream(server.port(), "/api/sse", bob);
    REQUIRE(client.call("POST", "/api/messages", chat("bob@localhost", "0"), as(alice)).status ==
            200);
    auto event = stream.next();
    REQUIRE(event);
    last_id = event->id;
  }
  for (const std::string body : {"1", "2", "3"}) {
    REQUIRE(client.call("POST", "/api/messages", chat("bob@localhost", body), as(alice)).status ==
            200);
  }
  EventStream stream(server.port(), "/api/sse", bob, "Last-Event-ID: " + last_id + "\r\n");
  REQUIRE(stream.status() == 200);
  auto reset = stream.next();
  REQUIRE(reset);
  CHECK(reset->event == "reset");
  CHECK(reset->data == "{}");
  REQUIRE(client.call("POST", "/api/messages", chat("bob@localhost", "after"), as(alice)).status ==
          200);
  std::optional<e2e::SseEvent> live;
  do {
    live = stream.next();
  } while (live && body_of(*live) != "after");
  CHECK(live);
}

TEST_CASE("the after cursor pages forward") {
  e2e::TempDir dir;
  Server server(dir, two_users);
  e2e::Client client(server.url());
  REQUIRE(client.call("PUT", "/api/rooms/cursor", R"({"name": "n", "subject": "s"})", as(alice))
              .status == 201);
  for (int i = 0; i < 6; ++i) {
    REQUIRE(
        client.call("POST", "/api/messages", chat("bob@localhost", std::to_string(i)), as(alice))
            .status == 200);
    REQUIRE(client
                .call("POST", "/api/rooms/cursor/messages",
                      R"({"body": "r)" + std::to_string(i) + "\"}", as(alice))
                .status == 200);
  }

  // Timestamps are milliseconds and several messages may share one: the
  // expected pages are computed from the full list.
  struct Item {
    std::string body;
    std::int64_t timestamp;
  };
  auto items_of = [](const std::string& json) {
    auto document = parse(json);
    std::vector<Item> items;
    for (const auto& item : document.GetArray()) {
      if (item.HasMember("body")) {
        items.push_back({item["body"].GetString(), item["timestamp"].GetInt64()});
      }
    }
    return items;
  };
  auto expected = [](const std::vector<Item>& all, std::int64_t after, std::int64_t before,
                     std::size_t limit) {
    std::vector<std::string> result;
    for (const auto& item : all) {
      if (item.timestamp > after && item.timestamp < before && result.size() < limit) {
        result.push_back(item.body);
      }
    }
    return result;
  };
  auto names = [](const std::vector<Item>& items) {
    std::vector<std::string> result;
    for (const auto& item : items) {
      result.push_back(item.body);
    }
    return result;
  };

  for (const std::string path :
       {"/api/messages", "/api/messages/bob%40localhost", "/api/rooms/cursor/messages"}) {
    INFO(path);
    const auto all = items_of(client.call("GET", path, {}, as(alice)).body);
    REQUIRE(all.size() == 6);
    const std::int64_t first = all.front().timestamp;
    const std::int64_t last = all.back().timestamp;
    constexpr std::int64_t forever = INT64_MAX;

    auto page = items_of(
        client.call("GET", path + "?after=" + std::to_string(first) + "&limit=2", {}, as(alice))
            .body);
    CHECK(names(page) == expected(all, first, forever, 2));
    auto everything = items_of(
        client.call("GET", path + "?after=" + std::to_string(first - 1), {}, as(alice)).body);
    CHECK(names(everything) == names(all));
    auto window = items_of(
        client
            .call("GET",
                  path + "?after=" + std::to_string(first) + "&before=" + std::to_string(last), {},
                  as(alice))
            .body);
    CHECK(names(window) == expected(all, first, last, 50));
    CHECK(client.call("GET", path + "?after=" + std::to_string(last), {}, as(alice)).body == "[]");

    auto bad = client.call("GET", path + "?after=soon", {}, as(alice));
    CHECK(bad.status == 400);
    CHECK(bad.body == R"("Invalid value of 'after'")");
  }
}

TEST_CASE("the demo page is served only when configured") {
  e2e::TempDir dir;
  {
    Server server(dir, two_users + R"(, "demo": true)");
    auto page = e2e::Client(server.url()).call("GET", "/api/demo");
    CHECK(page.status == 200);
    CHECK(page.header("content-type").rfind("text/html", 0) == 0);
    CHECK(contains(page.body, "<html"));
  }
  Server server(dir, two_users);
  CHECK(e2e::Client(server.url()).call("GET", "/api/demo").status == 404);
}

// ---------------------------------------------------------------------------
// Two nodes on one PostgreSQL database

namespace {

/// Two servers on a fresh database of the test cluster, started together.
struct Cluster {
  mimrest::test::sql::TestDatabase database{"postgresql"};
  e2e::TempDir dir;
  std::unique_ptr<Server> one;
  std::unique_ptr<Server> two;

  explicit Cluster(const std::string& extra) {
    const std::string keys = two_users + R"(, "storage": {"type": "postgresql", "url": ")" +
                             database.url() + "\"}" + extra;
    // Both start at once on the empty database: creating the schema and the
    // configured users must not trip over each other.
    one = std::make_unique<Server>(dir, keys, "one.json", false);
    two = std::make_unique<Server>(dir, keys, "two.json", false);
    one->launch();
    two->launch();
    for (Server* node : {one.get(), two.get()}) {
      auto failure = node->await_listening();
      INFO(failure.value_or(""));
      REQUIRE_FALSE(failure);
    }
  }
};

}  // namespace

TEST_CASE("two nodes on one PostgreSQL database are one service", "[postgresql]") {
  if (!mimrest::test::sql::pg_server_url()) {
    return;
  }
  Cluster cluster(R"(, "tokens": {"enabled": true})");
  e2e::Client one(cluster.one->url());
  e2e::Client two(cluster.two->url());

  // Bob listens on node two; alice writes through node one.
  EventStream stream(cluster.two->port(), "/api/sse", bob);
  REQUIRE(stream.status() == 200);
  REQUIRE(one.call("POST", "/api/messages", chat("bob@localhost", "across"), as(alice)).status ==
          200);
  auto event = stream.next();
  REQUIRE(event);
  CHECK(event->event == "message");
  CHECK(body_of(*event) == "across");
  CHECK(contains(event->data, R"("from":"alice@localhost")"));
  // Archived once per party, readable on both nodes.
  CHECK(bodies(two.call("GET", "/api/messages", {}, as(bob)).body) ==
        std::vector<std::string>{"across"});
  CHECK(bodies(one.call("GET", "/api/messages", {}, as(alice)).body) ==
        std::vector<std::string>{"across"});

  // Rooms.
  REQUIRE(one.call("PUT", "/api/rooms/shared", R"({"name": "Shared", "subject": "s"})", as(alice))
              .status == 201);
  REQUIRE(two.call("POST", "/api/rooms/shared/users", R"({"user": "bob@localhost"})", as(alice))
              .status == 204);
  CHECK(contains(two.call("GET", "/api/rooms", {}, as(bob)).body, R"("id":"shared")"));
  CHECK(contains(one.call("GET", "/api/rooms/shared", {}, as(bob)).body,
                 R"({"user":"bob@localhost","role":"member"})"));
  REQUIRE(one.call("POST", "/api/rooms/shared/messages", R"({"body": "room across"})", as(alice))
              .status == 200);
  bool room_message = false;
  for (int i = 0; i < 3 && !room_message; ++i) {
    auto next = stream.next();
    REQUIRE(next);
    CHECK(next->event == "room.message");
    room_message = body_of(*next) == "room across";
  }
  CHECK(room_message);
  CHECK(contains(two.call("GET", "/api/rooms/shared/messages", {}, as(bob)).body, "room across"));
  CHECK(two.call("PUT", "/api/rooms/shared", R"({"name": "x", "subject": "s"})", as(bob)).status ==
        403);

  // Rosters.
  REQUIRE(one.call("POST", "/api/contacts", R"({"jid": "bob@localhost"})", as(alice)).status ==
          204);
  REQUIRE(one.call("PUT", "/api/contacts/bob%40localhost", R"({"action": "invite"})", as(alice))
              .status == 204);
  CHECK(two.call("GET", "/api/contacts", {}, as(bob)).body ==
        R"([{"jid":"alice@localhost","subscription":"none","ask":"in"}])");
  REQUIRE(two.call("PUT", "/api/contacts/alice%40localhost", R"({"action": "accept"})", as(bob))
              .status == 204);
  CHECK(one.call("GET", "/api/contacts", {}, as(alice)).body ==
        R"([{"jid":"bob@localhost","subscription":"to","ask":"none"}])");

  // Tokens issued by one node are good on the other, and revoked on both.
  const TokenPair tokens = new_tokens(cluster.one->url(), alice);
  CHECK(login_status(cluster.two->url(), bearer(tokens.access)) == 200);
  const TokenPair refreshed = token_pair(
      two.call("POST", "/api/tokens/refresh", R"({"refresh_token": ")" + tokens.refresh + "\"}"));
  CHECK(login_status(cluster.one->url(), bearer(refreshed.access)) == 200);
  CHECK(two.call("DELETE", "/api/tokens", {}, as(bearer(refreshed.access))).status == 204);
  CHECK(login_status(cluster.one->url(), bearer(refreshed.access)) == 401);

  // A user added on the command line logs in on both nodes; a password
  // changed there stops working on both (each has logged in with it).
  const std::string config = cluster.one->config_path();
  REQUIRE(user_command(cluster.dir, config, {"add", "carol@localhost"}, "carols\n").code == 0);
  const std::string carol = e2e::basic("carol@localhost", "carols");
  CHECK(login_status(cluster.one->url(), carol) == 200);
  CHECK(login_status(cluster.two->url(), carol) == 200);
  REQUIRE(user_command(cluster.dir, config, {"passwd", "carol@localhost"}, "new\n").code == 0);
  for (const auto& url : {cluster.one->url(), cluster.two->url()}) {
    INFO(url);
    CHECK(e2e::eventually([&] { return login_status(url, carol) == 401; }, 5s));
    CHECK(login_status(url, e2e::basic("carol@localhost", "new")) == 200);
  }

  // Node one dies: node two has everything and goes on.
  cluster.one->kill();
  CHECK(bodies(two.call("GET", "/api/messages", {}, as(alice)).body) ==
        std::vector<std::string>{"across"});
  REQUIRE(two.call("POST", "/api/messages", chat("bob@localhost", "after the fall"), as(alice))
              .status == 200);
  auto after = stream.next();
  REQUIRE(after);
  CHECK(body_of(*after) == "after the fall");
}

TEST_CASE("a stream resumed on node two replays what was sent through node one", "[postgresql]") {
  if (!mimrest::test::sql::pg_server_url()) {
    return;
  }
  Cluster cluster(R"(, "sse": {"resume": true})");
  e2e::Client one(cluster.one->url());
  REQUIRE(one.call("PUT", "/api/rooms/r", R"({"name": "n", "subject": "s"})", as(alice)).status ==
          201);
  REQUIRE(
      one.call("POST", "/api/rooms/r/users", R"({"user": "bob@localhost"})", as(alice)).status ==
      204);

  std::string last_id;
  {
    EventStream stream(cluster.two->port(), "/api/sse", bob);
    REQUIRE(stream.status() == 200);
    REQUIRE(one.call("POST", "/api/messages", chat("bob@localhost", "seen"), as(alice)).status ==
            200);
    // The notice of bob's joining the room may reach node two only after
    // this stream opened: it comes first then.
    std::optional<e2e::SseEvent> event;
    do {
      event = stream.next();
    } while (event && event->event == "room.message" && body_of(*event).empty());
    REQUIRE(event);
    CHECK(body_of(*event) == "seen");
    last_id = event->id;
  }
  REQUIRE(one.call("POST", "/api/messages", chat("bob@localhost", "missed 1"), as(alice)).status ==
          200);
  REQUIRE(one.call("POST", "/api/rooms/r/messages", R"({"body": "missed 2"})", as(alice)).status ==
          200);
  REQUIRE(one.call("POST", "/api/messages", chat("bob@localhost", "missed 3"), as(alice)).status ==
          200);

  EventStream stream(cluster.two->port(), "/api/sse", bob, "Last-Event-ID: " + last_id + "\r\n");
  REQUIRE(stream.status() == 200);
  auto events = stream.take(3);
  REQUIRE(events.size() == 3);
  CHECK(body_of(events[0]) == "missed 1");
  CHECK(events[1].event == "room.message");
  CHECK(body_of(events[1]) == "missed 2");
  CHECK(body_of(events[2]) == "missed 3");
  REQUIRE(one.call("POST", "/api/messages", chat("bob@localhost", "live"), as(alice)).status ==
          200);
  auto live = stream.next();
  REQUIRE(live);
  CHECK(body_of(*live) == "live");
  CHECK_FALSE(stream.next(300ms));
}
