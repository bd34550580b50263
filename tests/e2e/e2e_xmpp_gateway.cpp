// The XMPP gateway end to end (docs/api.md, "XMPP gateway"): mimrest-server
// with "xmpp" storage, a child process, in front of a real Prosody or
// ejabberd (the ctest fixtures of tests/xmpp; each test runs once per server
// kind), driven over HTTP, with an ordinary XMPP client (tests/xmpp/peer.py)
// as the other party. The conversation cases follow MongooseIM's
// rest_client_SUITE (messages over XMPP and SSE, Smack properties, roster
// handshakes, rooms); then archive paging on whole-second timestamps,
// STARTTLS, the server failing (on a server of the test's own), stream
// errors and oversized stanzas, Bearer tokens, idle sessions, logins.
//
// The shared servers serve every test of the run in parallel: each test
// registers fresh accounts (unique_user), and pauses or restarts only a
// server of its own.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <rapidjson/document.h>
#include <catch2/catch.hpp>

#include "e2e_support.hpp"
#include "xmpp_peer.hpp"
#include "xmpp_test_server.hpp"

namespace {

using namespace std::chrono_literals;
using mimrest::test::xmpp::Json;
using mimrest::test::xmpp::str;
using mimrest::test::xmpp::unique_user;
using mimrest::test::xmpp::XmppPeer;
using mimrest::test::xmpp::XmppServer;
using Clock = std::chrono::steady_clock;

const std::string server_path = MIMREST_SERVER_PATH;

/// docs/api.md, "XMPP gateway": what a request answers when the XMPP server
/// cannot be reached or does not answer in time (a JSON string).
const std::string unavailable_body = "\"XMPP server unavailable\"";

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

bool starts_with(const std::string& text, const std::string& prefix) {
  return text.rfind(prefix, 0) == 0;
}

std::chrono::milliseconds since(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
}

rapidjson::Document parse(const std::string& text) {
  rapidjson::Document document;
  document.Parse(text.c_str(), text.size());
  INFO("JSON: " << text);
  REQUIRE_FALSE(document.HasParseError());
  return document;
}

/// The server of this run and a peer check, or nullopt (skipped).
std::optional<XmppServer> server_and_peers() {
  auto server = mimrest::test::xmpp::xmpp_server();
  if (!server || !mimrest::test::xmpp::peer_available()) {
    return std::nullopt;
  }
  return server;
}

/// A REST user: a fresh account on the XMPP server.
struct User {
  std::string name;  ///< local part
  std::string jid;   ///< bare JID
  std::string password = "secret";
  std::string auth() const { return e2e::basic(jid, password); }
  std::string auth(const std::string& other_password) const {
    return e2e::basic(jid, other_password);
  }
};

/// Fresh accounts for one test, registered in one call.
std::vector<User> new_users(const XmppServer& server, std::vector<const char*> prefixes) {
  std::vector<User> users;
  std::vector<std::pair<std::string, std::string>> accounts;
  for (const char* prefix : prefixes) {
    User user;
    user.name = unique_user(prefix);
    user.jid = server.jid(user.name);
    accounts.emplace_back(user.name, user.password);
    users.push_back(std::move(user));
  }
  server.register_users(accounts);
  return users;
}

/// A peer logged in as `user` (an ordinary XMPP client), ready.
std::unique_ptr<XmppPeer> peer_for(const XmppServer& server, const User& user,
                                   const std::string& resource = "peer") {
  auto options = server.peer_options(user.name, user.password);
  options.resource = resource;
  auto peer = std::make_unique<XmppPeer>(options);
  peer->wait_ready();
  return peer;
}

/// The gateway's storage keys (docs/api.md, "XMPP gateway").
struct GatewayOptions {
  std::string server;  ///< HOST:PORT of the XMPP server
  std::string tls = "none";
  std::string ca_file;
  int idle_timeout_s = 300;
  std::string extra;  ///< more top-level keys ("tokens": ...), without braces
};

GatewayOptions options_for(const XmppServer& server) {
  GatewayOptions options;
  options.server = server.address();
  return options;
}

/// mimrest-server with "xmpp" storage, a child process on a free port. Its
/// stderr goes to a file, shown on the test's stderr when it ends (ctest
/// prints it when the test fails).
class Gateway {
 public:
  explicit Gateway(GatewayOptions options) : options_(std::move(options)) { start(); }
  ~Gateway() {
    if (process_) {
      process_->signal(SIGTERM);
      process_->wait(15s);
    }
    const std::string text = log();
    if (!text.empty()) {
      std::cerr << "--- mimrest-server (" << url_ << ") stderr:\n" << text << "---\n";
    }
  }
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  void start() {
    // A port picked as free can be taken before the server binds it.
    for (int attempt = 0; attempt < 5; ++attempt) {
      port_ = e2e::free_port();
      url_ = "http://127.0.0.1:" + std::to_string(port_);
      std::string storage = "{\"type\": \"xmpp\", \"server\": \"" + options_.server +
                            "\", \"tls\": \"" + options_.tls +
                            "\", \"idle_timeout_s\": " + std::to_string(options_.idle_timeout_s);
      if (!options_.ca_file.empty()) {
        storage += ", \"ca_file\": \"" + options_.ca_file + "\"";
      }
      storage += "}";
      const std::string config = dir_.write(
          "config.json", "{\"listen\": \"" + url_ + "\", \"storage\": " + storage +
                             (options_.extra.empty() ? "" : ", " + options_.extra) + "}");
      process_ = std::make_unique<e2e::Process>(
          std::vector<std::string>{"/bin/sh", "-c", "exec \"$0\" --config \"$1\" 2>>\"$2\"",
                                   server_path, config, dir_.file("stderr.log")});
      if (auto line = process_->wait_for_line("listening on ", 15s)) {
        REQUIRE(*line == "listening on " + url_);
        return;
      }
      auto result = process_->wait(5s);
      process_.reset();
      INFO("mimrest-server exited with " << result.code << ": " << log());
      REQUIRE(contains(log(), "address"));  // only a taken port is worth a retry
    }
    FAIL("mimrest-server did not start");
  }

  /// SIGTERM, and what the process did.
  e2e::ExitResult stop() {
    process_->signal(SIGTERM);
    auto result = process_->wait(15s);
    process_.reset();
    return result;
  }

  e2e::Reply call(const std::string& method, const std::string& path, const std::string& auth,
                  std::optional<std::string> body = std::nullopt) const {
    e2e::Client client(url_);
    return client.call(method, "/api" + path, std::move(body), {{"Authorization", auth}});
  }
  e2e::Reply get(const std::string& path, const std::string& auth) const {
    return call("GET", path, auth);
  }
  e2e::Reply post(const std::string& path, const std::string& auth, const std::string& body) const {
    return call("POST", path, auth, body);
  }
  e2e::Reply put(const std::string& path, const std::string& auth, const std::string& body) const {
    return call("PUT", path, auth, body);
  }
  e2e::Reply del(const std::string& path, const std::string& auth) const {
    return call("DELETE", path, auth);
  }

  /// GET /sse as `auth`; the stream's answer must be 200.
  std::unique_ptr<e2e::SseReader> sse(const std::string& auth) const {
    auto reader = std::make_unique<e2e::SseReader>(url_, "/api/sse", auth);
    REQUIRE(reader->response().status_code() == 200);
    return reader;
  }

  const std::string& url() const { return url_; }
  std::string log() const {
    std::ifstream in(dir_.file("stderr.log"), std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

 private:
  GatewayOptions options_;
  e2e::TempDir dir_;
  int port_ = 0;
  std::string url_;
  std::unique_ptr<e2e::Process> process_;
};

/// POST /messages; the message's id.
std::string send_chat(const Gateway& gateway, const User& from, const std::string& to,
                      const std::string& body) {
  const auto reply =
      gateway.post("/messages", from.auth(), Json().set("to", to).set("body", body).str());
  INFO(reply.body);
  REQUIRE(reply.status == 200);
  const auto document = parse(reply.body);
  REQUIRE(!str(document, "id").empty());
  return str(document, "id");
}

/// The next SSE event named `name` that `accept` takes (others are
/// skipped), or nullopt when none comes in time.
template <class Accept>
std::optional<rapidjson::Document> next_sse(e2e::SseReader& sse, const std::string& name,
                                            Accept accept,
                                            std::chrono::milliseconds timeout = 10s) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    auto event = sse.next_event(
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()));
    if (!event) {
      return std::nullopt;
    }
    if (event->event != name) {
      continue;
    }
    rapidjson::Document data;
    data.Parse(event->data.c_str());
    if (!data.HasParseError() && data.IsObject() && accept(data)) {
      return data;
    }
  }
  return std::nullopt;
}

std::optional<rapidjson::Document> next_sse(e2e::SseReader& sse, const std::string& name,
                                            std::chrono::milliseconds timeout = 10s) {
  return next_sse(
      sse, name, [](const rapidjson::Value&) { return true; }, timeout);
}

struct Contact {
  std::string jid;
  std::string subscription;
  std::string ask;
  bool operator==(const Contact& other) const {
    return jid == other.jid && subscription == other.subscription && ask == other.ask;
  }
};

std::ostream& operator<<(std::ostream& out, const Contact& contact) {
  return out << "{" << contact.jid << " " << contact.subscription << " " << contact.ask << "}";
}

/// GET /contacts.
std::vector<Contact> contacts(const Gateway& gateway, const User& user) {
  const auto reply = gateway.get("/contacts", user.auth());
  INFO(reply.body);
  REQUIRE(reply.status == 200);
  const auto document = parse(reply.body);
  REQUIRE(document.IsArray());
  std::vector<Contact> items;
  for (const auto& item : document.GetArray()) {
    items.push_back({str(item, "jid"), str(item, "subscription"), str(item, "ask")});
  }
  return items;
}

/// The roster as expected, soon: the gateway's session hears of a change by
/// its own roster push, which may come after the peer's.
void require_contacts(const Gateway& gateway, const User& user, std::vector<Contact> expected) {
  std::vector<Contact> seen;
  e2e::eventually(
      [&] {
        seen = contacts(gateway, user);
        return seen == expected;
      },
      10s);
  CHECK(seen == expected);
}

/// The bodies of a JSON array of messages, in order.
std::vector<std::string> bodies(const rapidjson::Value& messages) {
  std::vector<std::string> result;
  for (const auto& message : messages.GetArray()) {
    result.push_back(str(message, "body"));
  }
  return result;
}

/// The peer becomes a subscriber to the REST user's presence (the user
/// approves over REST); returns once the peer has seen the user's gateway
/// session available, with that session's full JID.
std::string subscribe_to_presence(const Gateway& gateway, const User& user, XmppPeer& peer) {
  const std::string peer_jid = peer.bare_jid();
  REQUIRE(gateway.post("/contacts", user.auth(), Json().set("jid", peer_jid).str()).status == 204);
  peer.call_ok("subscribe", Json().set("to", user.jid));
  require_contacts(gateway, user, {{peer_jid, "none", "in"}});
  REQUIRE(gateway.put("/contacts/" + peer_jid, user.auth(), R"({"action": "accept"})").status ==
          204);
  peer.wait_event("subscribed", {{"from", user.jid}});
  const auto available = peer.wait_for([&](const rapidjson::Value& line) {
    return XmppPeer::is_event(line, "presence") && str(line, "type") == "available" &&
           starts_with(str(line, "from"), user.jid + "/mimrest-");
  });
  return str(available, "from");
}

/// The peer sees `full_jid` go unavailable within `timeout`.
bool sees_unavailable(XmppPeer& peer, const std::string& full_jid,
                      std::chrono::milliseconds timeout) {
  return peer
      .try_wait_for(
          [&](const rapidjson::Value& line) {
            return XmppPeer::is_event(line, "presence") && str(line, "type") == "unavailable" &&
                   str(line, "from") == full_jid;
          },
          timeout)
      .has_value();
}

/// The 401 of docs/api.md ("Authentication"): empty body, Basic challenge.
void check_unauthorized(const e2e::Reply& reply) {
  INFO(reply.body);
  CHECK(reply.status == 401);
  CHECK(reply.body.empty());
  CHECK(reply.header("www-authenticate") == "Basic realm=\"mongooseim\"");
}

/// Nothing crashed on the way: SIGTERM, and mimrest-server exits 0.
void check_clean_stop(Gateway& gateway) {
  const auto result = gateway.stop();
  CHECK_FALSE(result.timed_out);
  CHECK(result.code == 0);
}

void check_unavailable(const e2e::Reply& reply) {
  CHECK(reply.status == 503);
  CHECK(reply.body == unavailable_body);
}

/// SIGKILL to the process of a server of the test's own (OwnXmppServer):
/// nothing listens on its port any more until it is restarted.
void kill_server(const XmppServer& server) {
  const auto env = mimrest::test::xmpp::read_env_file(std::filesystem::path(server.dir) / "env");
  const pid_t pid = static_cast<pid_t>(std::stol(env.at("XMPP_PID")));
  REQUIRE(pid > 1);
  REQUIRE(::kill(pid, SIGKILL) == 0);
  // Gone once the port refuses connections.
  REQUIRE(e2e::eventually(
      [&] {
        try {
          e2e::RawConnection probe(server.port);
          return false;
        } catch (const std::exception&) {
          return true;
        }
      },
      10s));
}

/// A TCP relay between the gateway and the XMPP server (plain TCP only)
/// that can play a broken server on one user's connection: it learns whose
/// a connection is from the JID the server binds, can hold back what the
/// server sends on it, and can write bytes of its own to the gateway there.
class StreamTap {
 public:
  explicit StreamTap(int upstream_port) : upstream_port_(upstream_port) {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(listener_ >= 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    REQUIRE(::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(::listen(listener_, 16) == 0);
    socklen_t length = sizeof address;
    REQUIRE(::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length) == 0);
    port_ = ntohs(address.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  ~StreamTap() {
    stopping_ = true;
    acceptor_.join();
    ::close(listener_);
    std::vector<std::shared_ptr<Link>> links;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      links = links_;
    }
    for (auto& link : links) {
      ::shutdown(link->client, SHUT_RDWR);
      ::shutdown(link->server, SHUT_RDWR);
      link->pump.join();
      ::close(link->client);
      ::close(link->server);
    }
  }
  StreamTap(const StreamTap&) = delete;
  StreamTap& operator=(const StreamTap&) = delete;

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  /// Whether the newest open connection of `user` (bare JID) is bound.
  bool bound(const std::string& user) const { return find(user) != nullptr; }

  /// From now on, what the server sends on `user`'s connection waits.
  void hold(const std::string& user) {
    auto link = find(user);
    REQUIRE(link);
    link->held = true;
  }

  /// How many bytes the gateway has sent on `user`'s connection.
  std::size_t sent_by_gateway(const std::string& user) const {
    auto link = find(user);
    REQUIRE(link);
    return link->from_client;
  }

  /// Writes `bytes` to the gateway on `user`'s connection, as if the
  /// server had sent them.
  void inject(const std::string& user, const std::string& bytes) {
    auto link = find(user);
    REQUIRE(link);
    std::lock_guard<std::mutex> lock(link->write_mutex);
    REQUIRE(write_all(link->client, bytes.data(), bytes.size()));
  }

 private:
  struct Link {
    int client = -1;  ///< the gateway's side
    int server = -1;  ///< the XMPP server's side
    std::atomic<bool> held{false};
    std::atomic<bool> open{true};
    std::atomic<std::size_t> from_client{0};
    std::mutex write_mutex;  ///< writes to `client`
    std::string user;        ///< bare JID once bound (under StreamTap::mutex_)
    std::string seen;        ///< what the server sent before the bind
    std::thread pump;
  };

  static bool write_all(int fd, const char* data, std::size_t size) {
    while (size > 0) {
      const ssize_t count = ::send(fd, data, size, MSG_NOSIGNAL);
      if (count < 0 && errno == EINTR) {
        continue;
      }
      if (count <= 0) {
        return false;
      }
      data += count;
      size -= static_cast<std::size_t>(count);
    }
    return true;
  }

  std::shared_ptr<Link> find(const std::string& user) const {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto it = links_.rbegin(); it != links_.rend(); ++it) {
      if ((*it)->open && (*it)->user == user) {
        return *it;
      }
    }
    return nullptr;
  }

  void accept_loop() {
    while (!stopping_) {
      pollfd waiting{listener_, POLLIN, 0};
      if (::poll(&waiting, 1, 100) <= 0) {
        continue;
      }
      const int client = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0) {
        continue;
      }
      const int server = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in address{};
      address.sin_family = AF_INET;
      address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      address.sin_port = htons(static_cast<std::uint16_t>(upstream_port_));
      if (server < 0 ||
          ::connect(server, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
        ::close(client);
        if (server >= 0) {
          ::close(server);
        }
        continue;
      }
      auto link = std::make_shared<Link>();
      link->client = client;
      link->server = server;
      std::lock_guard<std::mutex> lock(mutex_);
      links_.push_back(link);
      link->pump = std::thread([this, raw = link.get()] { pump(*raw); });
    }
  }

  void pump(Link& link) {
    char buffer[16384];
    while (true) {
      pollfd fds[2] = {{link.client, POLLIN, 0}, {link.held ? -1 : link.server, POLLIN, 0}};
      const int ready = ::poll(fds, 2, 50);
      if (ready < 0 && errno != EINTR) {
        break;
      }
      if (ready <= 0) {
        continue;
      }
      if ((fds[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
        const ssize_t count = ::recv(link.client, buffer, sizeof buffer, 0);
        if (count <= 0 || !write_all(link.server, buffer, static_cast<std::size_t>(count))) {
          break;
        }
        link.from_client += static_cast<std::size_t>(count);
      }
      if ((fds[1].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
        const ssize_t count = ::recv(link.server, buffer, sizeof buffer, 0);
        if (count <= 0) {
          break;
        }
        learn_user(link, std::string_view(buffer, static_cast<std::size_t>(count)));
        std::lock_guard<std::mutex> lock(link.write_mutex);
        if (!write_all(link.client, buffer, static_cast<std::size_t>(count))) {
          break;
        }
      }
    }
    link.open = false;
    ::shutdown(link.client, SHUT_RDWR);
    ::shutdown(link.server, SHUT_RDWR);
  }

  /// The bind result names the connection's user: <jid>user@domain/res</jid>.
  void learn_user(Link& link, std::string_view bytes) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!link.user.empty()) {
      return;
    }
    link.seen.append(bytes);
    const auto start = link.seen.find("<jid>");
    const auto end = start == std::string::npos ? start : link.seen.find("</jid>", start);
    if (end != std::string::npos) {
      const std::string full = link.seen.substr(start + 5, end - start - 5);
      link.user = full.substr(0, full.find('/'));
      link.seen.clear();
    }
  }

  int upstream_port_;
  int listener_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  mutable std::mutex mutex_;
  std::vector<std::shared_ptr<Link>> links_;
};

/// A self-signed CA that signed nothing the test servers present.
std::string write_other_ca(const e2e::TempDir& dir) {
  const std::string key = dir.file("other-ca.key");
  const std::string cert = dir.file("other-ca.pem");
  const auto result = e2e::run({"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                                "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out",
                                cert, "-days", "2", "-subj", "/CN=Not the test CA"},
                               20s);
  INFO(result.err);
  REQUIRE(result.code == 0);
  return cert;
}

}  // namespace

// --- Messages (rest_client_SUITE: msg_is_sent_and_delivered_over_xmpp,
// msg_is_sent_and_delivered_over_sse, msg_with_props_*) -----------------------

TEST_CASE("gateway: a message sent over REST reaches an XMPP client", "[e2e][xmpp]") {
  auto server = server_and_peers();
  if (!server) {
    return;
  }
  const auto users = new_users(*server, {"alice", "bob"});
  const User &alice = users[0], &bob = users[1];
  auto bob_peer = peer_for(*server, bob);
  Gateway gateway(options_for(*server));

  const std::string body = "hello, " + bob.jid + " it's me";
  const std::string id = send_chat(gateway, alice, bob.jid, body);
  const auto got = bob_peer->wait_event("message", {{"id", id}});
  CHECK(str(got, "body") == body);
  CHECK(str(got, "type") == "chat");
  // From the gateway's session of alice's: a resource of its own.
  CHECK(starts_with(str(got, "from"), alice.jid + "/mimrest-"));

  // And it is in alice's archive (docs/api.md: GET /messages).
  rapidjson::Document archive;
  e2e::eventually(
      [&] {
        archive = parse(gateway.get("/messages", alice.auth()).body);
        return archive.IsArray() && archive.Size() == 1;
      },
      5s);
  REQUIRE(archive.IsArray());
  REQUIRE(archive.Size() == 1);
  const auto& message = archive[0];
  CHECK(str(message, "id") == id);
  CHECK(str(message, "body") == body);
  CHECK(str(message, "to") == bob.jid);
  CHECK(starts_with(str(message, "from"), alice.jid));
  CHECK(message["timestamp"].IsInt64());
}

TEST_CASE("gateway: a message from an XMPP client reaches the REST user's event stream",
          "[e2e][xmpp]") {
  auto server = server_and_peers();
  if (!server) {
    return;
  }
  const auto users = new_users(*server, {"alice", "bob"});
  const User &alice = users[0], &bob = users[1];
  auto bob_peer = peer_for(*server, bob);
  Gateway gateway(options_for(*server));
  auto sse = gateway.sse(alice.auth());

  const std::string body = "hello, " + alice.jid + " it's me";
  bob_peer->call_ok("message",
                    Json().set("to", alice.jid).set("body", body).set("message_id", "m-sse-1"));
  auto event = next_sse(*sse, "message");
  REQUIRE(event);
  const auto& data = *event;
  CHECK(str(data, "id") == "m-sse-1");
  CHECK(str(data, "body") == body);
  CHECK(str(data, "from") == bob.jid + "/peer");
  CHECK(str(data, "to") == alice.jid);
  // Microseconds, the time of the push (docs/api.md, "Server-sent events").
  REQUIRE(data["timestamp"].IsInt64());
  const auto now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  CHECK(std::abs(data["timestamp"].GetInt64() - now_us) < 60 * 1000 * 1000);
}

TEST_CASE("gateway: Smack properties from an XMPP client reach the archive and the stream",
          "[e2e][xmpp]") {
  auto server = server_and_peers();
  if (!server) {
    return;
  }
  const auto users = new_users(*server, {"alice", "bob"});
  const User &alice = users[0], &bob = users[1];
  auto bob_peer = peer_for(*server, bob);
  Gateway gateway(options_for(*server));
  auto sse = gateway.sse(alice.auth());

  // As MongooseIM's rest_helper:make_msg_stanza_with_props: a string and a
  // number; the JSON shows every value as a string (docs/api.md, "Chat
  // message").
  bob_peer->call_ok(
      "message",
      Json()
          .set("to", alice.jid)
          .set("body", "Message with props")
          .set("message_id", "m-props-1")
          .set("properties",
               std::vector<Json>{
                   Json()
                       .set("name", "some_string")
                       .set("type", "string")
                       .set("value", "abcdefghijk"),
                   Json().set("name", "some_number").set("type", "integer").set("value", "1234")}));
  auto check_properties = [](const rapidjson::Value& message) {
    CHECK(str(message, "id") == "m-props-1");
    REQUIRE(message.HasMember("properties"));
    const auto& properties = message["properties"];
    REQUIRE(properties.IsObject());
    CHECK(properties.MemberCount() == 2);
    CHECK(str(properties, "some_string") == "abcdefghijk");
    CHECK(str(properties, "some_number") == "1234");
  };
  auto event = next_sse(*sse, "message");
  REQUIRE(event);
  check_properties(*event);

  // The archive, whole and with bob only (limit 1: the newest).
  for (const std::string& path :
       std::vector<std::string>{"/messages", "/messages/" + bob.jid + "?limit=1"}) {
    INFO(path);
    rapidjson::Document archive;
    e2e::eventually(
        [&] {
          archive = parse(gateway.get(path, alice.auth()).body);
          return archive.IsArray() && archive.Size() == 1;
        },
        5s);
    REQUIRE(archive.IsArray());
    REQUIRE(archive.Size() == 1);
    check_properties(archive[0]);
  }
}

// --- Contacts (rest_client_SUITE: add_contact_and_invite,
// add_contact_and_be_invited, add_and_remove). As there, the REST user also
// has an ordinary XMPP client of its own (bob's "peer" resource) that gets
// the roster pushes of the changes made over REST. -------------------------------

TEST_CASE("gateway: add a contact and invite it", "[e2e][xmpp]") {
  auto server = server_and_peers();
  if (!server) {
    return;
  }
  const auto users = new_users(*server, {"alice", "bob"});
  const User &alice = users[0], &bob = users[1];
  auto alice_peer = peer_for(*server, alice);
  auto bob_own = peer_for(*server, bob);  // bob's other client
  Gateway gateway(options_for(*server));

  CHECK(contacts(gateway, bob).empty());
  REQUIRE(gateway.post("/contacts", bob.auth(), Json().set("jid", alice.jid).str()).status == 204);
  bob_own->wait_event("roster", {{"jid", alice.jid}, {"subscription", "none"}});
  CHECK(contacts(gateway, bob) == std::vector<Contact>{{alice.jid, "none", "none"}});

  REQUIRE(gateway.put("/contacts/" + alice.jid, bob.auth(), R"({"action": "invite"})").status ==
          204);
  bob_own->wait_event("roster", {{"jid", alice.jid}, {"ask", "subscribe"}});
  alice_peer->wait_event("subscribe", {{"from", bob.jid}});
  CHECK(contacts(gateway, bob) == std::vector<Contact>{{alice.jid, "none", "out"}});

  // She adds him and approves.
  alice_peer->call_ok("roster_add", Json().set("jid", bob.jid).set("name", "Bob"));
  alice_peer->call_ok("subscribed", Json().set("to", bob.jid));
  bob_own->wait_event("roster", {{"jid", alice.jid}, {"subscription", "to"}});
  require_contacts(gateway, bob, {{alice.jid, "to", "none"}});
}

TEST_CASE("gateway: add a contact and be invited by it", "[e2e][xmpp]") {
  auto server = server_and_peers();
  if (!server) {
    return;
  }
  const auto users = new_users(*server, {"alice", "bob"});
  const User &alice = users[0], &bob = users[1];
  auto alice_peer = peer_for(*server, alice);
  auto bob_own = peer_for(*server, bob);
  Gateway gateway(options_for(*server));

  CHECK(contacts(gateway, bob).empty());
  REQUIRE(gateway.post("/contacts", bob.auth(), Json().set("jid", alice.jid).str()).status == 204);
  bob_own->wait_event("roster", {{"jid", alice.jid}, {"subscription", "none"}});
  CHECK(contacts(gateway, bob) == std::vector<Contact>{{alice.jid, "none", "none"}});

  // She adds him and asks for his presence.
  alice_peer->call_ok("roster_add", Json().set("jid", bob.jid).set("name", "Bobek"));
  alice_peer->call_ok("subscribe", Json().set("to", bob.jid));
  alice_peer->wait_event("roster", {{"jid", bob.jid}, {"ask", "subscribe"}});
  bob_own->wait_event("subscribe", {{"from", alice.jid}});
  // RFC 6121 hides {none, in}; the REST API shows it (docs/api.md, "Contacts").
  require_contacts(gateway, bob, {{alice.jid, "none", "in"}});

  REQUIRE(gateway.put("/contacts/" + alice.jid, bob.auth(), R"({"action": "accept"})").status ==
          204);
  bob_own->wait_event("roster", {{"jid", alice.jid}, {"subscription", "from"}});
  alice_peer->wait_event("subscribed", {{"from", bob.jid}});
  alice_peer->wait_event("roster", {{"jid", bob.jid}, {"subscription", "to"}});
  // Approved, she gets his presence: his gateway session is one of his
  // available resources.
  alice_peer->wait_for([&](const rapidjson::Value& line) {
    return XmppPeer::is_event(line, "presence") && str(line, "type") == "available" &&
           starts_with(str(line, "from"), bob.jid + "/mimrest-");
  });
  require_contacts(gateway, bob, {{alice.jid, "from", "none"}});
}

TEST_CASE("gateway: add and remove a contact", "[e2e][xmpp]") {
  auto server = server_and_peers();
  if (!server) {
    return;
  }
  const auto users = new_users(*server, {"alice", "bob"});
  const User &alice = users[0], &bob = users[1];
  auto bob_own = peer_for(*server, bob);
  Gateway gateway(options_for(*server));

  REQUIRE(gateway.post("/contacts", bob.auth(), Json().set("jid", alice.jid).str()).status == 204);
  bob_own->wait_event("roster", {{"jid", alice.jid}, {"subscription", "none"}});
  CHECK(contacts(gateway, bob) == std::vector<Contact>{{alice.jid, "none", "none"}});

  REQUIRE(gateway.del("/contacts/" + alice.jid, bob.auth()).status == 204);
  CHECK(contacts(gateway, bob).empty());
  bob_own->wait_event("roster", {{"jid", alice.jid}, {"subscription", "remove"}});
  // Gone: removing it again is the route's 404.
  const auto again = gateway.del("/contacts/" + alice.jid, bob.auth());
  CHECK(again.status == 404);
  CHECK(again.body == "\"Cannot remove " + alice.jid + " contact that does not exist\"");
}

TEST_CASE("gateway: removing a contact ends the subscriptions both ways", "[e2e][xmpp]") {
  auto server = server_and_peers();
  if (!server) {
    return;
  }
  const auto users = new_users(*server, {"alice", "bob"});
  const User &alice = users[0], &bob = users[1];
  auto alice_peer = peer_for(*server, alice);
  Gateway gateway(options_for(*server));

  // Both ways: bob invites, alice approves; alice asks, bob accepts.
  REQUIRE(gateway.post("/contacts", bob.auth(), Json().set("jid", alice.jid).str()).status == 204);
  REQUIRE(gateway.put("/contacts/" + alice.jid, bob.auth(), R"({"action": "invite"})").status ==
          204);
  alice_peer->wait_event("subscribe", {{"from", bob.jid}});
  alice_peer->call_ok("subscribed", Json().set("to", bob.jid));
  alice_peer->call_ok("subscribe", Json().set("to", bob.jid));
  require_contacts(gateway, bob, {{alice.jid, "to", "in"}});
  REQUIRE(gateway.put("/contacts/" + alice.jid, bob.auth(), R"({"action": "accept"})").status ==
          204);
  alice_peer->wait_event("roster", {{"jid", bob.jid}, {"subscription", "both"}});
  require_contacts(gateway, bob, {{alice.jid, "both", "none"}});

  // docs/api.md (DELETE /contacts/{jid}): the subscriptions in both
  // directions go with the item.
  REQUIRE(gateway.del("/contacts/" + alice.jid, bob.auth()).status == 204);
  CHECK(contacts(gateway, bob).empty());
  alice_peer->wait_event("roster", {{"jid", bob.jid}, {"subscription", "none"}});
  const auto roster = alice_peer->call_ok("roster_get");
  REQUIRE(roster["items"].Size() == 1);
  CHECK(str(roster["items"][0], "subscription") == "none");
}

// --- Rooms (rest_client_SUITE: msg_is_sent_and_delivered_in_room,
// room_msg_is_sent_and_delivered_over_sse, config_can_be_changed_by_owner) ---

namespace {

/// POST /rooms as `owner`; the room's ID.
std::string create_room(const Gateway& gateway, const User& owner, const std::string& name,
                        const std::string& subject) {
  const auto reply =
      gateway.post("/rooms", owner.auth(), Json().set("name", name).set("subject", subject).str());
  INFO(reply.body);
  REQUIRE(reply.status == 201);
  const auto id = str(parse(reply.body), "id");
  REQUIRE(!id.empty());
  return id;
}

/// POST /rooms/{id}/users: `member` becomes a member; the peer playing
/// `member` is invited (XEP-0045 mediated invitation).
void add_member(const Gateway& gateway, const User& owner, const std::string& room_id,
                const User& member, XmppPeer& member_peer, const std::string& room_jid) {
  REQUIRE(
      gateway
          .post("/rooms/" + room_id + "/users", owner.auth(), Json().set("user", member.jid).str())
          .status == 204);
  member_peer.wait_event("invite", {{"room", room_jid}});
}

struct RoomInfo {
  std::string name;
  std::string subject;
  std::vector<std::pair<std::string, std::string>> participants;  // user, role (sorted)
};

RoomInfo room_info(const Gateway& gateway, const User& user, const std::string& room_id) {
  const auto reply = gateway.get("/rooms/" + room_id, user.auth());
  INFO(reply.body);
  REQUIRE(reply.status == 200);
  const auto document = parse(reply.body);
  RoomInfo info{str(document, "name"), str(document, "subject"), {}};
  REQUIRE(document["participants"].IsArray());
  for (const auto& participant : document["participants"].GetArray()) {
    info.participants.emplace_back(str(participant, "user"), str(participant, "role"));
  }
  std::sort(info.participants.begin(), info.participants.end());
  return info;
}

}  // namespace

TEST_CASE("gateway: messages in a room between a REST user and an XMPP client", "[e2e][xmpp]") {
  auto server = server_and_peers();
  if (!server) {
    return;
  }
  const auto users = new_users(*server, {"alice", "bob"});
  const User &alice = users[0], &bob = users[1];
  auto bob_peer = peer_for(*server, bob);
  Gateway gateway(options_for(*server));

  const std::string id = create_room(gateway, alice, "new_room_name", "This room subject");
  const std::string room = server->room_jid(id);
  add_member(gateway, alice, id, bob, *bob_peer, room);
  const RoomInfo info = room_info(gateway, alice, id);
  CHECK(info.name == "new_room_name");
  CHECK(info.subject == "This room subject");
  auto expected =
      std::vector<std::pair<std::string, std::string>>{{alice.jid, "owner"}, {bob.jid, "member"}};
  std::sort(expected.begin(), expected.end());
  CHECK(info.participants == expected);

  // A member gets in (the room is members-only), with the room's subject.
  const auto joined = bob_peer->call_ok("join", Json().set("room", room).set("nick", "bob"));
  CHECK(str(joined, "affiliation") == "member");

  const auto sent =
      gateway.post("/rooms/" + id + "/messages", alice.auth(), R"({"body": "Hi all!"})");
  INFO(sent.body);
  REQUIRE(sent.status == 200);
  const std::string message_id = str(parse(sent.body), "id");
  const auto got = bob_peer->wait_event("groupchat", {{"room", room}, {"id", message_id}});
  CHECK(str(got, "body") == "Hi all!");

  bob_peer->call_ok(
      "groupchat",
      Json().set("room", room).set("body", "Hi from XMPP").set("message_id", "g-peer-1"));

  // Both in the room's history, oldest first, each from its sender's bare
  // JID (docs/api.md, "Room message").
  rapidjson::Document history;
  e2e::eventually(
      [&] {
        history = parse(gateway.get("/rooms/" + id + "/messages", alice.auth()).body);
        return history.IsArray() && history.Size() >= 2;
      },
      5s);
  INFO(mimrest::test::xmpp::to_json(history));
  REQUIRE(history.IsArray());
  REQUIRE(history.Size() == 2);
  CHECK(str(history[0], "type") == "message");
  CHECK(str(history[0], "body") == "Hi all!");
  CHECK(str(history[0], "id") == message_id);
  CHECK(str(history[0], "from") == alice.jid);
  CHECK(str(history[1], "body") == "Hi from XMPP");
  CHECK(str(history[1], "id") == "g-peer-1");
  CHECK(str(history[1], "from") == bob.jid);
  // The member reads the same history.
  const auto bobs = gateway.get("/rooms/" + id + "/messages", bob.auth());
  REQUIRE(bobs.status == 200);
  CHECK(bodies(parse(bobs.body)) == std::vector<std::string>{"Hi all!", "Hi from XMPP"});
}

TEST_CASE("gateway: a room message from an XMPP client reaches the REST user's stream",
          "[e2e][xmpp]") {
  auto server = server_and_peers();
  if (!server) {
    return;
  }
  const auto users = new_users(*server, {"alice", "bob"});
  const User &alice = users[0], &bob = users[1];
  auto bob_peer = peer_for(*server, bob);
  Gateway gateway(options_for(*server));

  const std::string id = create_room(gateway, alice, "new_room_name", "This room subject");
  const std::string room = server->room_jid(id);
  add_member(gateway, alice, id, bob, *bob_peer, room);
  bob_peer->call_ok("join", Json().set("room", room).set("nick", "bob"));

  // The stream's session enters the user's rooms (docs/api.md, GET /sse):
  // the occupants see it come in under the user's bare JID.
  auto sse = gateway.sse(alice.auth());
  bob_peer->wait_event("muc_presence",
                       {{"room", room}, {"nick", alice.jid}, {"type", "available"}});

  bob_peer->call_ok("groupchat",
                    Json().set("room", room).set("body", "Hi all!").set("message_id", "g-sse-1"));
  auto event = next_sse(*sse, "room.message");
  REQUIRE(event);
  const auto& data = *event;
  CHECK(str(data, "room") == id);
  CHECK(str(data, "type") == "message");
  CHECK(str(data, "from") == bob.jid);
  CHECK(str(data, "id") == "g-sse-1");
  CHECK(str(data, "body") == "Hi all!");

  // The REST user's own message comes back to its stream too.
  const auto sent =
      gateway.post("/rooms/" + id + "/messages", alice.auth(), R"({"body": "And hi to you"})");
  REQUIRE(sent.status == 200);
  const std::string own_id = str(parse(sent.body), "id");
  event = next_sse(*sse, "room.message");
  REQUIRE(event);
  CHECK(str(*event, "id") == own_id);
  CHECK(str(*event, "from") == alice.jid);
  CHECK(str(*event, "body") == "And hi to you");
  bob_peer->wait_event("groupchat", {{"room", room}, {"id", own_id}});
}

TEST_CASE("gateway: the owner changes a room's configuration", "[e2e][xmpp]") {
  auto server = server_and_peers();
  if (!server) {
    return;
  }
  const auto users = new_users(*server, {"alice", "bob"});
  const User &alice = users[0], &bob = users[1];
  auto bob_peer = peer_for(*server, bob);
  Gateway gateway(options_for(*server));

  // PUT /rooms/{id}: a room with the ID chosen by the client.
  const std::string id = unique_user("room");
  const std::string room = server->room_jid(id);
  const auto created = gateway.put("/rooms/" + id, alice.auth(),
                                   R"({"name": "old_name", "subject": "This room subject"})");
  INFO(created.body);
  REQUIRE(created.status == 201);
  CHECK(str(parse(created.body), "id") == id);
  CHECK(room_info(gateway, alice, id).name == "old_name");
  add_member(gateway, alice, id, bob, *bob_peer, room);
  bob_peer->call_ok("join", Json().set("room", room).set("nick", "bob"));

  const auto changed = gateway.put("/rooms/" + id + "/config", alice.auth(),
                                   R"({"name": "new_name", "subject": "new_subject"})");
  INFO(changed.body);
  REQUIRE(changed.status == 204);
  const RoomInfo info = room_info(gateway, alice, id);
  CHECK(info.name == "new_name");
  CHECK(info.subject == "new_subject");

  // An ordinary client in the room sees the new subject, and the new name
  // in the room's disco#info.
  bob_peer->wait_event("subject", {{"room", room}, {"subject", "new_subject"}});
  const auto disco = bob_peer->call_ok(
      "iq",
      Json().set("to", room).set("xml", "<query xmlns='http://jabber.org/protocol/disco#info'/>"));
  INFO(str(disco, "xml"));
  CHECK(contains(str(disco, "xml"), "new_name"));
  CHECK_FALSE(contains(str(disco, "xml"), "old_name"));

  // GET /rooms lists it with the new values.
  const auto listed = gateway.get("/rooms", alice.auth());
  REQUIRE(listed.status == 200);
  const auto rooms = parse(listed.body);
  REQUIRE(rooms.IsArray());
  REQUIRE(rooms.Size() == 1);
  CHECK(str(rooms[0], "id") == id);
  CHECK(str(rooms[0], "name") == "new_name");
  CHECK(str(rooms[0], "subject") == "new_subject");

  // A member may not (docs/api.md, PUT /rooms/{id}/config).
  const auto refused = gateway.put("/rooms/" + id + "/config", bob.auth(),
                                   R"({"name": "bobs_name", "subject": "bobs_subject"})");
  CHECK(refused.status == 403);
  CHECK(refused.body == "\"Given user does not have permission to change config\"");
  CHECK(room_info(gateway, bob, id).name == "new_name");
}

// --- Archive paging ----------------------------------------------------------

TEST_CASE("gateway: archive pages neither skip nor repeat messages that share a second",
          "[e2e][xmpp]") {
  auto server = server_and_peers();
  if (!server) {
    return;
  }
  const auto users = new_users(*server, {"alice", "bob"});
  const User &alice = users[0], &bob = users[1];
  auto bob_peer = peer_for(*server, bob);
  Gateway gateway(options_for(*server));
  REQUIRE(gateway.get("/contacts", alice.auth()).status == 200);  // online: no offline storage

  // Twelve messages in a moment: Prosody stores whole seconds, so most
  // share their timestamp.
  std::vector<std::string> sent;
  for (int i = 1; i <= 12; ++i) {
    sent.push_back((i < 10 ? "m0" : "m") + std::to_string(i));
    bob_peer->call_ok("message", Json().set("to", alice.jid).set("body", sent.back()));
  }
  rapidjson::Document all;
  e2e::eventually(
      [&] {
        all = parse(gateway.get("/messages?limit=50", alice.auth()).body);
        return all.IsArray() && all.Size() == 12;
      },
      10s);
  REQUIRE(all.IsArray());
  REQUIRE(bodies(all) == sent);
  std::vector<std::int64_t> stamps;
  for (const auto& message : all.GetArray()) {
    stamps.push_back(message["timestamp"].GetInt64());
  }
  CHECK(std::is_sorted(stamps.begin(), stamps.end()));
  stamps.erase(std::unique(stamps.begin(), stamps.end()), stamps.end());
  if (server->kind == "prosody") {
    CHECK(stamps.size() < 12);  // whole seconds: some share one
  }

  auto page_of = [&](const std::string& path) {
    const auto reply = gateway.get(path, alice.auth());
    INFO(path << ": " << reply.body);
    REQUIRE(reply.status == 200);
    auto document = parse(reply.body);
    REQUIRE(document.IsArray());
    return document;
  };
  for (const std::string& base :
       std::vector<std::string>{"/messages?limit=5", "/messages/" + bob.jid + "?limit=5"}) {
    INFO(base);
    // Backwards: each `before` the oldest timestamp of the page just read.
    std::vector<std::string> backwards;
    std::string path = base;
    for (int pages = 0; pages < 10; ++pages) {
      const auto page = page_of(path);
      if (page.Empty()) {
        break;
      }
      CHECK(page.Size() <= 5);
      auto chunk = bodies(page);
      backwards.insert(backwards.begin(), chunk.begin(), chunk.end());
      path = base + "&before=" + std::to_string(page[0]["timestamp"].GetInt64());
    }
    CHECK(backwards == sent);

    // Forwards: each `after` the newest timestamp of the page just read.
    std::vector<std::string> forwards;
    path = base + "&after=0";
    for (int pages = 0; pages < 10; ++pages) {
      const auto page = page_of(path);
      if (page.Empty()) {
        break;
      }
      CHECK(page.Size() <= 5);
      auto chunk = bodies(page);
      forwards.insert(forwards.end(), chunk.begin(), chunk.end());
      path = base + "&after=" + std::to_string(page[page.Size() - 1]["timestamp"].GetInt64());
    }
    CHECK(forwards == sent);
  }
}

// --- STARTTLS ------------------------------------------------------------------

TEST_CASE("gateway: STARTTLS with the server's CA, and another CA is an unavailable server",
          "[e2e][xmpp]") {
  auto server = server_and_peers();
  if (!server) {
    return;
  }
  const auto users = new_users(*server, {"alice", "bob"});
  const User &alice = users[0], &bob = users[1];
  auto bob_peer = peer_for(*server, bob);

  {
    GatewayOptions options = options_for(*server);
    options.tls = "required";
    options.ca_file = server->ca_file;
    Gateway gateway(options);
    CHECK(gateway.get("/contacts", alice.auth()).status == 200);
    const std::string id = send_chat(gateway, alice, bob.jid, "over TLS");
    CHECK(str(bob_peer->wait_event("message", {{"id", id}}), "body") == "over TLS");
    check_unauthorized(gateway.get("/contacts", alice.auth("wrong")));
  }
  {
    e2e::TempDir dir;
    GatewayOptions options = options_for(*server);
    options.tls = "required";
    options.ca_file = write_other_ca(dir);
    Gateway gateway(options);
    const auto started = Clock::now();
    const auto reply = gateway.get("/contacts", alice.auth());
    INFO(reply.body);
    check_unavailable(reply);  // not 401: the password was never asked for
    CHECK(since(started) < 10s);
  }
}

// --- Logins --------------------------------------------------------------------

TEST_CASE("gateway: a wrong password is the ordinary 401, and a changed password ends the old one",
          "[e2e][xmpp]") {
  auto server = server_and_peers();
  if (!server) {
    return;
  }
  const auto users = new_users(*server, {"alice"});
  const User& alice = users[0];
  Gateway gateway(options_for(*server));

  check_unauthorized(gateway.get("/contacts", alice.auth("wrong")));
  check_unauthorized(gateway.get("/contacts", e2e::basic(server->jid(unique_user("nobody")), "x")));
  check_unauthorized(gateway.get("/contacts", e2e::basic(alice.name + "@elsewhere.example", "x")));
  CHECK(gateway.get("/contacts", alice.auth()).status == 200);
  // With a session open, a wrong password is still refused and the
  // session stays.
  check_unauthorized(gateway.get("/contacts", alice.auth("wrong")));
  auto sse = gateway.sse(alice.auth());

  // The password changes on the XMPP server (the account made again): the
  // server ends the session, and with it the event stream.
  server->unregister_user(alice.name);
  server->register_user(alice.name, "changed");
  CHECK(sse->wait_for_end(10s));
  check_unauthorized(gateway.get("/contacts", alice.auth()));
  CHECK(gateway.get("/contacts", alice.auth("changed")).status == 200);
  check_unauthorized(gateway.get("/contacts", alice.auth()));
}

// --- Sessions: idle, Bearer tokens, graceful stop ------------------------------

TEST_CASE("gateway: an idle session closes, and the next request logs in again", "[e2e][xmpp]") {
  auto server = server_and_peers();
  if (!server) {
    return;
  }
  const auto users = new_users(*server, {"alice", "bob"});
  const User &alice = users[0], &bob = users[1];
  auto bob_peer = peer_for(*server, bob);
  GatewayOptions options = options_for(*server);
  options.idle_timeout_s = 2;
  Gateway gateway(options);

  const std::string session = subscribe_to_presence(gateway, alice, *bob_peer);
  // No request, no stream: closed after about two seconds (and a sweep).
  const auto idle_since = Clock::now();
  REQUIRE(sees_unavailable(*bob_peer, session, 8s));
  CHECK(since(idle_since) >= 1500ms);

  // The next request logs in again: a new session, available again.
  CHECK(gateway.get("/contacts", alice.auth()).status == 200);
  const auto available = bob_peer->wait_for([&](const rapidjson::Value& line) {
    return XmppPeer::is_event(line, "presence") && str(line, "type") == "available" &&
           starts_with(str(line, "from"), alice.jid + "/mimrest-") && str(line, "from") != session;
  });
  const std::string second = str(available, "from");

  // An open event stream keeps a session, idle or not: twice the idle time
  // passes and the session stays (Prosody may also send an unavailable
  // presence from the bare JID, which is no session's end).
  auto sse = gateway.sse(alice.auth());
  CHECK_FALSE(sees_unavailable(*bob_peer, second, 4s));
  bob_peer->call_ok("message", Json().set("to", alice.jid).set("body", "still there?"));
  auto event = next_sse(*sse, "message");
  REQUIRE(event);
  CHECK(str(*event, "body") == "still there?");
}

TEST_CASE("gateway: a Bearer token lives as long as the session", "[e2e][xmpp]") {
  auto server = server_and_peers();
  if (!server) {
    return;
  }
  const auto users = new_users(*server, {"alice", "bob"});
  const User &alice = users[0], &bob = users[1];
  auto bob_peer = peer_for(*server, bob);
  GatewayOptions options = options_for(*server);
  options.idle_timeout_s = 2;
  options.extra = R"("tokens": {"enabled": true})";
  Gateway gateway(options);

  const auto issued = gateway.post("/tokens", alice.auth(), "");
  INFO(issued.body);
  REQUIRE(issued.status == 200);
  const auto tokens = parse(issued.body);
  const std::string bearer = "Bearer " + str(tokens, "access_token");
  CHECK(gateway.get("/contacts", bearer).status == 200);
  // Requests with the token are the session's: they keep it.
  const std::string session = subscribe_to_presence(gateway, alice, *bob_peer);
  for (int i = 0; i < 3; ++i) {
    std::this_thread::sleep_for(1s);
    CHECK(gateway.get("/contacts", bearer).status == 200);
  }

  // Idle, the session goes, and the token with it (docs/api.md, "Losing the
  // session"): 401 invalid_token.
  REQUIRE(sees_unavailable(*bob_peer, session, 8s));
  const auto refused = gateway.get("/contacts", bearer);
  CHECK(refused.status == 401);
  CHECK(refused.body.empty());
  CHECK(contains(refused.header("www-authenticate"), "error=\"invalid_token\""));
  // A refresh token of that session is gone as well.
  const auto refresh = gateway.post(
      "/tokens/refresh", "", Json().set("refresh_token", str(tokens, "refresh_token")).str());
  CHECK(refresh.status == 401);

  // Basic credentials log in again; a new token works.
  CHECK(gateway.get("/contacts", alice.auth()).status == 200);
  const auto again = gateway.post("/tokens", alice.auth(), "");
  REQUIRE(again.status == 200);
  CHECK(gateway.get("/contacts", "Bearer " + str(parse(again.body), "access_token")).status == 200);
  CHECK(gateway.get("/contacts", bearer).status == 401);
}

TEST_CASE("gateway: SIGTERM closes every XMPP session", "[e2e][xmpp]") {
  auto server = server_and_peers();
  if (!server) {
    return;
  }
  const auto users = new_users(*server, {"alice", "carol", "bob"});
  const User &alice = users[0], &carol = users[1], &bob = users[2];
  auto bob_peer = peer_for(*server, bob);
  Gateway gateway(options_for(*server));

  const std::string alice_session = subscribe_to_presence(gateway, alice, *bob_peer);
  const std::string carol_session = subscribe_to_presence(gateway, carol, *bob_peer);
  auto sse = gateway.sse(alice.auth());

  const auto result = gateway.stop();
  CHECK_FALSE(result.timed_out);
  CHECK(result.code == 0);
  CHECK(sse->wait_for_end(5s));
  CHECK(sees_unavailable(*bob_peer, alice_session, 5s));
  CHECK(sees_unavailable(*bob_peer, carol_session, 5s));
}

// --- The XMPP server failing ---------------------------------------------------

TEST_CASE("gateway: nothing listening is an unavailable server", "[e2e][xmpp]") {
  auto server = server_and_peers();
  if (!server) {
    return;
  }
  GatewayOptions options = options_for(*server);
  options.server = "127.0.0.1:" + std::to_string(e2e::free_port());
  Gateway gateway(options);
  const auto started = Clock::now();
  const auto reply = gateway.get("/contacts", e2e::basic(server->jid("alice"), "secret"));
  INFO(reply.body);
  check_unavailable(reply);
  CHECK(since(started) < 10s);
}

TEST_CASE("gateway: a silent server answers 503 within 10 s, and service comes back",
          "[e2e][xmpp][own-server]") {
  auto shared = server_and_peers();
  if (!shared) {
    return;
  }
  // A server of the test's own: the fault would disturb the other tests.
  mimrest::test::xmpp::OwnXmppServer own(shared->kind);
  REQUIRE(own.started());
  const XmppServer& server = own.server();
  const auto users = new_users(server, {"alice", "carol", "bob"});
  const User &alice = users[0], &carol = users[1], &bob = users[2];
  Gateway gateway(options_for(server));
  REQUIRE(gateway.get("/contacts", alice.auth()).status == 200);  // alice has a session

  server.pause();
  struct Timed {
    e2e::Reply reply;
    std::chrono::milliseconds took;
  };
  auto timed = [](std::function<e2e::Reply()> request) {
    const auto started = Clock::now();
    auto reply = request();
    return Timed{std::move(reply), since(started)};
  };
  // At once: a request on alice's session, a new login for carol.
  auto on_session = std::async(std::launch::async, [&] {
    return timed([&] {
      return gateway.post("/messages", alice.auth(),
                          Json().set("to", bob.jid).set("body", "anyone?").str());
    });
  });
  auto new_login = std::async(std::launch::async, [&] {
    return timed([&] { return gateway.get("/contacts", carol.auth()); });
  });
  const Timed session_result = on_session.get();
  const Timed login_result = new_login.get();
  server.resume();
  {
    INFO("request on a session: " << session_result.took.count() << " ms");
    check_unavailable(session_result.reply);
    CHECK(session_result.took < 10s);
  }
  {
    INFO("new login: " << login_result.took.count() << " ms");
    check_unavailable(login_result.reply);
    CHECK(login_result.took < 10s);
  }

  // Back, without restarting mimrest-server: the session works again, and
  // new logins too.
  CHECK(gateway.post("/messages", alice.auth(), Json().set("to", bob.jid).set("body", "back").str())
            .status == 200);
  CHECK(gateway.get("/contacts", carol.auth()).status == 200);
  auto bob_peer = peer_for(server, bob);
  const std::string id = send_chat(gateway, carol, bob.jid, "after the pause");
  bob_peer->wait_event("message", {{"id", id}});
  check_clean_stop(gateway);
}

TEST_CASE("gateway: the server lost and restarted: streams end, the next request logs in again",
          "[e2e][xmpp][own-server]") {
  auto shared = server_and_peers();
  if (!shared) {
    return;
  }
  // A server of the test's own: the fault would disturb the other tests.
  mimrest::test::xmpp::OwnXmppServer own(shared->kind);
  REQUIRE(own.started());
  const XmppServer& server = own.server();
  const auto users = new_users(server, {"alice", "bob"});
  const User &alice = users[0], &bob = users[1];
  Gateway gateway(options_for(server));

  // Killed: the event stream ends (its client reconnects), and while
  // nothing listens, requests answer 503 at once.
  auto sse = gateway.sse(alice.auth());
  kill_server(server);
  CHECK(sse->wait_for_end(10s));
  auto started = Clock::now();
  check_unavailable(gateway.get("/contacts", alice.auth()));
  CHECK(since(started) < 10s);

  // Back (same port, same data), without restarting mimrest-server. What
  // the server had not written out when it was killed is lost: ejabberd
  // (Mnesia) may lose accounts registered just before, so they are
  // registered again (the same passwords).
  server.restart();
  server.register_users({{alice.name, alice.password}, {bob.name, bob.password}});
  CHECK(gateway.get("/contacts", alice.auth()).status == 200);
  sse = gateway.sse(alice.auth());

  // Restarted gracefully: the server ends the stream, the next request logs
  // in again.
  started = Clock::now();
  server.restart();
  INFO(server.kind << " restarted in " << since(started).count() << " ms");
  CHECK(sse->wait_for_end(10s));
  // The next request logs in again; the new session delivers.
  CHECK(gateway.get("/contacts", alice.auth()).status == 200);
  sse = gateway.sse(alice.auth());
  auto bob_peer = peer_for(server, bob);
  bob_peer->call_ok("message", Json().set("to", alice.jid).set("body", "welcome back"));
  auto event = next_sse(*sse, "message");
  REQUIRE(event);
  CHECK(str(*event, "body") == "welcome back");
  check_clean_stop(gateway);
}

TEST_CASE("gateway: a stream error from the server ends that user's session only", "[e2e][xmpp]") {
  auto server = server_and_peers();
  if (!server) {
    return;
  }
  const auto users = new_users(*server, {"alice", "carol", "bob"});
  const User &alice = users[0], &carol = users[1], &bob = users[2];
  auto bob_peer = peer_for(*server, bob);
  Gateway gateway(options_for(*server));
  auto alice_sse = gateway.sse(alice.auth());
  auto carol_sse = gateway.sse(carol.auth());

  // The resource of alice's gateway session, from a message it sent.
  const std::string id = send_chat(gateway, alice, bob.jid, "which resource?");
  const std::string from = str(bob_peer->wait_event("message", {{"id", id}}), "from");
  REQUIRE(starts_with(from, alice.jid + "/mimrest-"));
  // Another client binds that very resource: the server ends the gateway's
  // stream with <conflict/> (RFC 6120 7.7.2.2).
  auto intruder = peer_for(*server, alice, from.substr(from.find('/') + 1));
  CHECK(alice_sse->wait_for_end(10s));

  // carol's session is untouched.
  bob_peer->call_ok("message", Json().set("to", carol.jid).set("body", "still here"));
  auto event = next_sse(*carol_sse, "message");
  REQUIRE(event);
  CHECK(str(*event, "body") == "still here");
  // alice's next request logs in again (another resource).
  CHECK(gateway.get("/contacts", alice.auth()).status == 200);
  const std::string again = send_chat(gateway, alice, bob.jid, "back");
  CHECK(str(bob_peer->wait_event("message", {{"id", again}}), "from") != from);
  check_clean_stop(gateway);
}

TEST_CASE("gateway: a stanza over the size limit ends that user's session only", "[e2e][xmpp]") {
  auto server = server_and_peers();
  if (!server) {
    return;
  }
  const auto users = new_users(*server, {"alice", "carol", "bob"});
  const User &alice = users[0], &carol = users[1], &bob = users[2];
  auto bob_peer = peer_for(*server, bob);
  Gateway gateway(options_for(*server));
  auto alice_sse = gateway.sse(alice.auth());
  auto carol_sse = gateway.sse(carol.auth());

  // 400 KB from the peer, under the servers' 1 MiB limit for what a client
  // sends; both servers write each apostrophe back as &apos;, so what they
  // deliver is 2.4 MB: over the gateway's 1 MiB (GatewayConfig).
  const std::string big = "<message to='" + alice.jid + "' type='chat' id='big-1'><body>" +
                          std::string(400000, '\'') + "</body></message>";
  bob_peer->call_ok("send", Json().set("xml", big));
  CHECK(alice_sse->wait_for_end(10s));

  bob_peer->call_ok("message", Json().set("to", carol.jid).set("body", "still here"));
  auto event = next_sse(*carol_sse, "message");
  REQUIRE(event);
  CHECK(str(*event, "body") == "still here");
  // alice logs in again and gets what comes next.
  alice_sse = gateway.sse(alice.auth());
  bob_peer->call_ok("message", Json().set("to", alice.jid).set("body", "a small one"));
  event = next_sse(*alice_sse, "message");
  REQUIRE(event);
  CHECK(str(*event, "body") == "a small one");
  check_clean_stop(gateway);
}

TEST_CASE("gateway: malformed XML from the server ends that user's session only", "[e2e][xmpp]") {
  auto server = server_and_peers();
  if (!server) {
    return;
  }
  const auto users = new_users(*server, {"alice", "carol", "bob"});
  const User &alice = users[0], &carol = users[1], &bob = users[2];
  auto bob_peer = peer_for(*server, bob);
  StreamTap tap(server->port);
  GatewayOptions options = options_for(*server);
  options.server = tap.address();
  Gateway gateway(options);
  auto alice_sse = gateway.sse(alice.auth());
  auto carol_sse = gateway.sse(carol.auth());
  REQUIRE(tap.bound(alice.jid));
  REQUIRE(tap.bound(carol.jid));

  // A request of alice's waits for the server's answer (an archive query,
  // held back) when the server's bytes stop being XML: it answers 503 at
  // once, not after the request timeout.
  tap.hold(alice.jid);
  const std::size_t before = tap.sent_by_gateway(alice.jid);
  auto pending = std::async(std::launch::async, [&] {
    const auto started = Clock::now();
    auto reply = gateway.get("/messages", alice.auth());
    return std::make_pair(std::move(reply), since(started));
  });
  REQUIRE(e2e::eventually([&] { return tap.sent_by_gateway(alice.jid) > before; }, 10s));
  std::this_thread::sleep_for(100ms);  // all of the query
  const auto broken = Clock::now();
  tap.inject(alice.jid, "<message from='" + bob.jid + "'><body>unclosed</message>");
  const auto [reply, took] = pending.get();
  {
    INFO("the pending request took " << took.count() << " ms, " << since(broken).count()
                                     << " ms after the malformed XML");
    check_unavailable(reply);
    CHECK(since(broken) < 3s);
  }
  CHECK(alice_sse->wait_for_end(10s));

  // carol's session is untouched.
  bob_peer->call_ok("message", Json().set("to", carol.jid).set("body", "still here"));
  auto event = next_sse(*carol_sse, "message");
  REQUIRE(event);
  CHECK(str(*event, "body") == "still here");
  // alice's next request logs in again (a new connection), and works.
  alice_sse = gateway.sse(alice.auth());
  bob_peer->call_ok("message", Json().set("to", alice.jid).set("body", "again"));
  event = next_sse(*alice_sse, "message");
  REQUIRE(event);
  CHECK(str(*event, "body") == "again");
  check_clean_stop(gateway);
}
