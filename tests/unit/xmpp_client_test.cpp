#include "xmpp/client.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>

#include <openssl/ssl.h>

#include <stdlib.h>  // mkdtemp

#include "await.hpp"
#include "fake_xmpp_server.hpp"
#include "test_jid.hpp"

using mimrest::test::FakeSession;
using mimrest::test::FakeXmppOptions;
using mimrest::test::FakeXmppServer;
using mimrest::xmpp::Client;
using mimrest::xmpp::ClientOptions;
using mimrest::xmpp::CloseReason;
using mimrest::xmpp::IqFailure;
using mimrest::xmpp::IqResult;
using mimrest::xmpp::LoginError;
using mimrest::xmpp::LoginResult;
using mimrest::xmpp::Stanza;
using namespace std::chrono_literals;
namespace net = boost::asio;
namespace ns = mimrest::xmpp::ns;
using Clock = std::chrono::steady_clock;

namespace {

/// Threads running the clients' io_context; stopped (pending work dropped)
/// when it goes, so declare clients after it.
class Runner {
 public:
  explicit Runner(int threads = 1) : work_(net::make_work_guard(io_)) {
    for (int i = 0; i < threads; ++i) {
      threads_.emplace_back([this] { io_.run(); });
    }
  }
  ~Runner() {
    work_.reset();
    io_.stop();
    for (auto& thread : threads_) {
      thread.join();
    }
  }
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;
  net::any_io_executor executor() { return io_.get_executor(); }

 private:
  net::io_context io_;
  net::executor_work_guard<net::io_context::executor_type> work_;
  std::vector<std::thread> threads_;
};

/// A folder of its own under the temporary folder, removed at the end.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "mimrest-xmpp-XXXXXX").string();
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

/// Two self-signed certificates for localhost, made once with the openssl
/// program: server.pem/server.key (the server's, its own CA) and other.pem (a
/// CA that did not sign it).
const TempDir& certificates() {
  static const TempDir dir;
  static const bool made = [] {
    for (const std::string name : {"server", "other"}) {
      const std::string command =
          "openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost "
          "-addext subjectAltName=DNS:localhost -days 1 -keyout '" +
          dir.file(name + ".key") + "' -out '" + dir.file(name + ".pem") + "' >/dev/null 2>&1";
      if (std::system(command.c_str()) != 0) {
        return false;
      }
    }
    return true;
  }();
  REQUIRE(made);
  return dir;
}

/// The server names (SNI) the fake server's TLS contexts were asked for.
struct ServerNames {
  std::mutex mutex;
  std::vector<std::string> names;
};

int record_server_name(SSL* ssl, int*, void* arg) {
  auto* seen = static_cast<ServerNames*>(arg);
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  std::lock_guard<std::mutex> lock(seen->mutex);
  seen->names.emplace_back(name == nullptr ? "" : name);
  return SSL_TLSEXT_ERR_OK;
}

std::shared_ptr<net::ssl::context> server_tls(ServerNames* names = nullptr) {
  auto context = std::make_shared<net::ssl::context>(net::ssl::context::tls_server);
  context->use_certificate_chain_file(certificates().file("server.pem"));
  context->use_private_key_file(certificates().file("server.key"), net::ssl::context::pem);
  if (names != nullptr) {
    SSL_CTX_set_tlsext_servername_callback(context->native_handle(), &record_server_name);
    SSL_CTX_set_tlsext_servername_arg(context->native_handle(), names);
  }
  return context;
}

ClientOptions options_for(const FakeXmppServer& server) {
  ClientOptions options;
  options.host = "127.0.0.1";
  options.port = server.port();
  options.tls = ClientOptions::Tls::none;
  options.login_timeout = 5s;
  options.iq_timeout = 2s;
  return options;
}

/// What a client's handlers saw, for the test thread to wait on.
struct Seen {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<std::string> stanzas;
  std::vector<CloseReason> closes;
  std::vector<std::string> iq_requests;
  std::vector<std::string> login_failures;

  Client::Handlers handlers(bool answer_iqs = true) {
    Client::Handlers handlers;
    handlers.on_stanza = [this](Stanza stanza) {
      std::lock_guard<std::mutex> lock(mutex);
      stanzas.push_back(stanza.xml());
      changed.notify_all();
    };
    if (answer_iqs) {
      handlers.on_iq_request = [this](const Stanza& request) -> std::optional<Stanza> {
        {
          std::lock_guard<std::mutex> lock(mutex);
          iq_requests.push_back(request.xml());
          changed.notify_all();
        }
        return Stanza("iq");
      };
    }
    handlers.on_login_failed = [this](const std::string& detail) {
      std::lock_guard<std::mutex> lock(mutex);
      login_failures.push_back(detail);
    };
    handlers.on_closed = [this](const CloseReason& reason) {
      std::lock_guard<std::mutex> lock(mutex);
      closes.push_back(reason);
      changed.notify_all();
    };
    return handlers;
  }

  template <class Predicate>
  bool wait(Predicate predicate, std::chrono::milliseconds timeout = 10s) {
    std::unique_lock<std::mutex> lock(mutex);
    return changed.wait_for(lock, timeout, [&] { return predicate(*this); });
  }
};

LoginResult login(Client& client, std::string_view user = "alice@localhost",
                  std::string password = "secret", std::string resource = "res") {
  const mimrest::Jid jid = mimrest::test::jid(user);
  return mimrest::test::await_for<LoginResult>(
      [&](mimrest::Completion<LoginResult> done) {
        client.async_login(jid, password, resource, done);
      },
      20s);
}

IqResult iq(Client& client, Stanza stanza) {
  return mimrest::test::await_for<IqResult>(
      [&](mimrest::Completion<IqResult> done) { client.async_iq(std::move(stanza), done); }, 20s);
}

Stanza query(const std::string& to, const std::string& xmlns = "urn:test") {
  Stanza stanza("iq");
  stanza.set_attribute("type", "get");
  if (!to.empty()) {
    stanza.set_attribute("to", to);
  }
  stanza.append_child("query", xmlns);
  return stanza;
}

/// Waits until `condition` holds (polling), at most `timeout`.
template <class Condition>
bool eventually(Condition condition, std::chrono::milliseconds timeout = 10s) {
  const auto deadline = Clock::now() + timeout;
  while (!condition()) {
    if (Clock::now() > deadline) {
      return false;
    }
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

std::uint16_t closed_port() {
  net::io_context io;
  net::ip::tcp::acceptor acceptor(io, {net::ip::make_address("127.0.0.1"), 0});
  return acceptor.local_endpoint().port();  // closed again when acceptor goes
}

}  // namespace

TEST_CASE("Login over plain TCP with SCRAM-SHA-256 binds the resource") {
  FakeXmppServer server;
  Runner runner;
  Seen seen;
  auto client = Client::create(runner.executor(), options_for(server), seen.handlers());
  CHECK_FALSE(client->is_open());
  const LoginResult result = login(*client);
  REQUIRE(result);
  CHECK(result->to_string() == "alice@localhost/res");
  CHECK(client->is_open());
  const auto session = server.bound_session();
  REQUIRE(session);
  CHECK(session->mechanism() == "SCRAM-SHA-256");
  CHECK(session->bound() == "alice@localhost/res");
  CHECK_FALSE(session->session_requested());  // offered as optional
}

TEST_CASE("SCRAM-SHA-1 when the server offers no SCRAM-SHA-256; a server-chosen resource") {
  FakeXmppOptions options;
  options.mechanisms = {"PLAIN", "SCRAM-SHA-1"};
  options.legacy_session = true;  // the session request is answered, then the login completes
  FakeXmppServer server(options);
  Runner runner;
  Seen seen;
  auto client = Client::create(runner.executor(), options_for(server), seen.handlers());
  const LoginResult result = login(*client, "Alice@LOCALHOST", "secret", "");
  REQUIRE(result);
  CHECK(result->to_string() == "alice@localhost/generated");
  CHECK(server.bound_session()->mechanism() == "SCRAM-SHA-1");
  CHECK(server.bound_session()->session_requested());
}

TEST_CASE("Refused credentials: not_authorized; a temporary failure: unavailable") {
  FakeXmppOptions options;
  SECTION("wrong password") {}
  SECTION("account disabled") {
    options.sasl_failure = "account-disabled";
  }
  FakeXmppServer server(options);
  Runner runner;
  Seen seen;
  {
    auto client = Client::create(runner.executor(), options_for(server), seen.handlers());
    const LoginResult result = login(*client, "alice@localhost", "wrong");
    REQUIRE_FALSE(result);
    CHECK(result.error() == LoginError::not_authorized);
    CHECK_FALSE(client->is_open());
    std::lock_guard<std::mutex> lock(seen.mutex);
    REQUIRE(seen.login_failures.size() == 1);
    CHECK(seen.login_failures[0] == "SASL failure: " + options.sasl_failure);
  }
  {
    auto client = Client::create(runner.executor(), options_for(server), seen.handlers());
    const LoginResult result = login(*client, "nobody@localhost", "secret");
    REQUIRE_FALSE(result);
    CHECK(result.error() == LoginError::not_authorized);
  }
  CHECK(seen.closes.empty());  // on_closed only after a login
}

TEST_CASE("temporary-auth-failure is unavailable") {
  FakeXmppOptions options;
  options.sasl_failure = "temporary-auth-failure";
  FakeXmppServer server(options);
  Runner runner;
  auto client = Client::create(runner.executor(), options_for(server), {});
  const LoginResult result = login(*client, "alice@localhost", "wrong");
  REQUIRE_FALSE(result);
  CHECK(result.error() == LoginError::unavailable);
}

TEST_CASE("A server that cannot prove it knows the key is refused") {
  FakeXmppOptions options;
  options.wrong_server_signature = true;
  FakeXmppServer server(options);
  Runner runner;
  auto client = Client::create(runner.executor(), options_for(server), {});
  const LoginResult result = login(*client);
  REQUIRE_FALSE(result);
  CHECK(result.error() == LoginError::protocol);
}

TEST_CASE("A bind error fails the login") {
  FakeXmppOptions options;
  options.bind_error = "not-allowed";
  FakeXmppServer server(options);
  Runner runner;
  auto client = Client::create(runner.executor(), options_for(server), {});
  const LoginResult result = login(*client);
  REQUIRE_FALSE(result);
  CHECK(result.error() == LoginError::protocol);
}

TEST_CASE("Server down: connection refused is unavailable at once") {
  Runner runner;
  ClientOptions options;
  options.host = "127.0.0.1";
  options.port = closed_port();
  options.tls = ClientOptions::Tls::none;
  options.login_timeout = 10s;
  auto client = Client::create(runner.executor(), options, {});
  const auto start = Clock::now();
  const LoginResult result = login(*client);
  REQUIRE_FALSE(result);
  CHECK(result.error() == LoginError::unavailable);
  CHECK(Clock::now() - start < 2s);
}

TEST_CASE("A silent server: unavailable at the login deadline") {
  FakeXmppOptions server_options;
  server_options.silent = true;
  FakeXmppServer server(server_options);
  Runner runner;
  ClientOptions options = options_for(server);
  options.login_timeout = 300ms;
  auto client = Client::create(runner.executor(), options, {});
  const auto start = Clock::now();
  const LoginResult result = login(*client);
  const auto elapsed = Clock::now() - start;
  REQUIRE_FALSE(result);
  CHECK(result.error() == LoginError::unavailable);
  CHECK(elapsed >= 300ms);
  CHECK(elapsed < 3s);
}

TEST_CASE("PLAIN is never used without TLS") {
  FakeXmppOptions server_options;
  server_options.mechanisms = {"PLAIN"};
  FakeXmppServer server(server_options);
  Runner runner;
  auto client = Client::create(runner.executor(), options_for(server), {});
  const LoginResult result = login(*client);
  REQUIRE_FALSE(result);
  CHECK(result.error() == LoginError::unavailable);
  const auto session = server.session();
  REQUIRE(session);
  CHECK(session->mechanism().empty());  // no <auth/> was sent
}

TEST_CASE("STARTTLS: the certificate is verified for the user's domain") {
  ServerNames names;
  FakeXmppOptions server_options;
  server_options.tls = server_tls(&names);
  SECTION("SCRAM-SHA-256") {}
  SECTION("PLAIN over TLS") {
    server_options.mechanisms = {"PLAIN"};
  }
  FakeXmppServer server(server_options);
  Runner runner;
  ClientOptions options = options_for(server);
  options.tls = ClientOptions::Tls::required;
  options.ca_file = certificates().file("server.pem");
  auto client = Client::create(runner.executor(), options, {});
  const LoginResult result = login(*client);
  REQUIRE(result);
  CHECK(result->to_string() == "alice@localhost/res");
  CHECK(server.bound_session()->mechanism() == server_options.mechanisms.front());
  // And the stream works through TLS.
  CHECK(iq(*client, query("")));
  std::lock_guard<std::mutex> lock(names.mutex);
  CHECK(names.names == std::vector<std::string>{"localhost"});  // SNI
}

TEST_CASE("STARTTLS: a certificate from another CA, or for another name, is refused") {
  FakeXmppOptions server_options;
  server_options.tls = server_tls();
  server_options.domain = "example.com";
  FakeXmppServer server(server_options);
  Runner runner;
  ClientOptions options = options_for(server);
  options.tls = ClientOptions::Tls::required;
  SECTION("wrong CA") {
    options.ca_file = certificates().file("other.pem");
    auto client = Client::create(runner.executor(), options, {});
    const LoginResult result = login(*client, "alice@localhost");
    REQUIRE_FALSE(result);
    CHECK(result.error() == LoginError::unavailable);
  }
  SECTION("the certificate names localhost, the user is on example.com") {
    options.ca_file = certificates().file("server.pem");
    auto client = Client::create(runner.executor(), options, {});
    const LoginResult result = login(*client, "alice@example.com");
    REQUIRE_FALSE(result);
    CHECK(result.error() == LoginError::unavailable);
  }
  SECTION("a CA file that does not exist") {
    options.ca_file = certificates().file("missing.pem");
    auto client = Client::create(runner.executor(), options, {});
    const LoginResult result = login(*client, "alice@localhost");
    REQUIRE_FALSE(result);
    CHECK(result.error() == LoginError::unavailable);
  }
}

TEST_CASE("TLS required but not offered: unavailable") {
  FakeXmppServer server;
  Runner runner;
  ClientOptions options = options_for(server);
  options.tls = ClientOptions::Tls::required;
  auto client = Client::create(runner.executor(), options, {});
  const LoginResult result = login(*client);
  REQUIRE_FALSE(result);
  CHECK(result.error() == LoginError::unavailable);
  CHECK(server.session()->mechanism().empty());
}

TEST_CASE("Tls::none stays on plain TCP when STARTTLS is offered") {
  FakeXmppOptions server_options;
  server_options.tls = server_tls();
  FakeXmppServer server(server_options);
  Runner runner;
  auto client = Client::create(runner.executor(), options_for(server), {});
  REQUIRE(login(*client));
  CHECK(server.bound_session()->mechanism() == "SCRAM-SHA-256");
}

TEST_CASE("A shared TLS context from make_tls_context") {
  FakeXmppOptions server_options;
  server_options.tls = server_tls();
  FakeXmppServer server(server_options);
  Runner runner;
  auto context = mimrest::xmpp::make_tls_context(certificates().file("server.pem"));
  REQUIRE(context);
  CHECK_FALSE(mimrest::xmpp::make_tls_context(certificates().file("missing.pem")));
  ClientOptions options = options_for(server);
  options.tls = ClientOptions::Tls::required;
  options.tls_context = *context;
  auto first = Client::create(runner.executor(), options, {});
  auto second = Client::create(runner.executor(), options, {});
  CHECK(login(*first));
  CHECK(login(*second, "alice@localhost", "secret", "other"));
}

TEST_CASE("IQ replies are matched by id and by sender") {
  FakeXmppServer server;
  // Answers urn:test queries twice: first from a sender the request did not
  // go to (ignored), then from the right one; urn:error with an error.
  server.on_stanza([](FakeSession& session, const Stanza& request) {
    const std::string id(request.attribute("id"));
    const std::string to(request.attribute("to"));
    if (request.child("query", "urn:test")) {
      session.send("<iq type='result' id='" + id + "' from='mallory@localhost'><wrong/></iq>");
      session.send("<iq type='result' id='other-id'/>");
      session.send("<iq type='result' id='" + id + "'" +
                   (to.empty() ? std::string() : " from='" + to + "'") + "><right/></iq>");
    } else if (request.child("query", "urn:error")) {
      session.send("<iq type='error' id='" + id + "' from='" + to +
                   "'><error type='cancel'><item-not-found "
                   "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>");
    } else if (request.child("query", "urn:from-domain")) {
      session.send("<iq type='result' id='" + id + "' from='localhost'/>");
    }
    // urn:silent: no answer
  });
  Runner runner;
  Seen seen;
  ClientOptions options = options_for(server);
  options.iq_timeout = 300ms;
  auto client = Client::create(runner.executor(), options, seen.handlers());
  REQUIRE(login(*client));

  SECTION("to another entity") {
    const IqResult result = iq(*client, query("bob@localhost/phone"));
    REQUIRE(result);
    CHECK(result->child("right", ns::client));
    CHECK(result->attribute("from") == "bob@localhost/phone");
  }
  SECTION("to the account: no from") {
    const IqResult result = iq(*client, query(""));
    REQUIRE(result);
    CHECK(result->child("right", ns::client));
  }
  SECTION("to the account: from the server's domain") {
    CHECK(iq(*client, query("", "urn:from-domain")));
  }
  SECTION("to another entity: an answer from the server's domain is not it") {
    const IqResult result = iq(*client, query("bob@localhost", "urn:from-domain"));
    REQUIRE_FALSE(result);
    CHECK(result.error().kind == IqFailure::Kind::timeout);
  }
  SECTION("an error reply") {
    const IqResult result = iq(*client, query("room@muc.localhost", "urn:error"));
    REQUIRE_FALSE(result);
    CHECK(result.error().kind == IqFailure::Kind::error_reply);
    CHECK(result.error().condition == "item-not-found");
    CHECK(result.error().reply.attribute("type") == "error");
  }
  SECTION("no answer: timeout") {
    const auto start = Clock::now();
    const IqResult result = iq(*client, query("bob@localhost", "urn:silent"));
    REQUIRE_FALSE(result);
    CHECK(result.error().kind == IqFailure::Kind::timeout);
    CHECK(Clock::now() - start >= 300ms);
  }
  SECTION("many at once, each with its own id") {
    std::vector<std::string> ids;
    for (int i = 0; i < 20; ++i) {
      const IqResult result = iq(*client, query("bob@localhost/x"));
      REQUIRE(result);
    }
    for (const auto& request : server.bound_session()->received()) {
      ids.push_back(request);
    }
    CHECK(std::set<std::string>(ids.begin(), ids.end()).size() == ids.size());
  }
  CHECK(client->is_open());
}

TEST_CASE("An IQ before login or after close fails with closed") {
  FakeXmppServer server;
  Runner runner;
  auto client = Client::create(runner.executor(), options_for(server), {});
  IqResult before = iq(*client, query(""));
  REQUIRE_FALSE(before);
  CHECK(before.error().kind == IqFailure::Kind::closed);
  REQUIRE(login(*client));
  client->close();
  IqResult after = iq(*client, query(""));
  REQUIRE_FALSE(after);
  CHECK(after.error().kind == IqFailure::Kind::closed);
}

TEST_CASE("Stanzas both ways; the server's pings and iq requests are answered") {
  FakeXmppServer server;
  Runner runner;
  Seen seen;
  SECTION("with an iq handler") {
    auto client = Client::create(runner.executor(), options_for(server), seen.handlers());
    REQUIRE(login(*client));
    const auto session = server.bound_session();
    REQUIRE(session);

    Stanza message("message");
    message.set_attribute("to", "bob@localhost");
    message.append_child("body").text().set("hello <you>");
    client->send(std::move(message));
    client->send_xml("<presence/>");
    REQUIRE(eventually([&] { return session->received().size() == 2; }));
    CHECK(session->received()[0] ==
          "<message to=\"bob@localhost\"><body>hello &lt;you&gt;</body></message>");
    CHECK(session->received()[1] == "<presence/>");

    session->send("<message from='bob@localhost/x' type='chat'><body>hi</body></message>");
    session->send("<presence from='bob@localhost/x'/>");
    REQUIRE(seen.wait([](Seen& s) { return s.stanzas.size() == 2; }));
    CHECK(seen.stanzas[0] ==
          "<message from=\"bob@localhost/x\" type=\"chat\"><body>hi</body></message>");

    session->send("<iq type='get' id='ping1' from='localhost'><ping xmlns='urn:xmpp:ping'/></iq>");
    session->send(
        "<iq type='set' id='push1'><query xmlns='jabber:iq:roster'><item "
        "jid='bob@localhost'/></query></iq>");
    REQUIRE(eventually([&] { return session->received().size() == 4; }));
    CHECK(session->received()[2] == "<iq type=\"result\" id=\"ping1\" to=\"localhost\"/>");
    CHECK(session->received()[3] == "<iq type=\"result\" id=\"push1\"/>");
    CHECK(seen.iq_requests.size() == 1);  // the ping never reaches the handler
  }
  SECTION("without") {
    auto client = Client::create(runner.executor(), options_for(server), seen.handlers(false));
    REQUIRE(login(*client));
    const auto session = server.bound_session();
    session->send(
        "<iq type='get' id='v1' from='bob@localhost/x'><query "
        "xmlns='jabber:iq:version'/></iq>");
    REQUIRE(eventually([&] { return session->received().size() == 1; }));
    CHECK(session->received()[0] ==
          "<iq type=\"error\" id=\"v1\" to=\"bob@localhost/x\"><error "
          "type=\"cancel\"><service-unavailable "
          "xmlns=\"urn:ietf:params:xml:ns:xmpp-stanzas\"/></error></iq>");
  }
}

TEST_CASE("Each way a stream ends calls on_closed once and fails the pending IQs") {
  FakeXmppOptions server_options;
  CloseReason::Kind expected = CloseReason::Kind::closed_by_us;
  std::string detail;
  ClientOptions tweaks;
  SECTION("closed by us") {}
  SECTION("closed by the server") {
    expected = CloseReason::Kind::closed_by_server;
  }
  SECTION("stream error") {
    expected = CloseReason::Kind::stream_error;
    detail = "system-shutdown: bye";
  }
  SECTION("malformed") {
    expected = CloseReason::Kind::malformed;
  }
  SECTION("too large") {
    expected = CloseReason::Kind::too_large;
  }
  SECTION("connection lost") {
    expected = CloseReason::Kind::connection_lost;
  }
  SECTION("unanswered keepalive ping") {
    expected = CloseReason::Kind::timeout;
    server_options.answer_pings = false;
  }
  FakeXmppServer server(server_options);
  server.on_stanza([](FakeSession&, const Stanza&) {});  // never answers
  Runner runner;
  Seen seen;
  ClientOptions options = options_for(server);
  options.max_stanza_bytes = 4096;
  if (expected == CloseReason::Kind::timeout) {
    options.ping_interval = 200ms;
    options.iq_timeout = 200ms;
  }
  auto client = Client::create(runner.executor(), options, seen.handlers());
  REQUIRE(login(*client));
  const auto session = server.bound_session();
  REQUIRE(session);

  std::optional<IqResult> pending;
  std::mutex pending_mutex;
  client->async_iq(query("bob@localhost"), [&](IqResult result) {
    std::lock_guard<std::mutex> lock(pending_mutex);
    pending.emplace(std::move(result));
  });
  REQUIRE(eventually([&] { return session->received().size() == 1; }));

  switch (expected) {
    case CloseReason::Kind::closed_by_us:
      client->close();
      break;
    case CloseReason::Kind::closed_by_server:
      session->send("</stream:stream>");
      break;
    case CloseReason::Kind::stream_error:
      session->send(
          "<stream:error><system-shutdown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><text "
          "xmlns='urn:ietf:params:xml:ns:xmpp-streams'>bye</text></stream:error>"
          "</stream:stream>");
      break;
    case CloseReason::Kind::malformed:
      session->send("<message><</message>");
      break;
    case CloseReason::Kind::too_large:
      session->send("<message><body>" + std::string(5000, 'x') + "</body></message>");
      break;
    case CloseReason::Kind::connection_lost:
      session->drop();
      break;
    case CloseReason::Kind::timeout:
      break;  // the client pings after 200 ms of silence; nobody answers
  }
  REQUIRE(seen.wait([](Seen& s) { return !s.closes.empty(); }));
  CHECK(seen.closes.front().kind == expected);
  if (!detail.empty()) {
    CHECK(seen.closes.front().detail == detail);
  }
  CHECK_FALSE(client->is_open());
  REQUIRE(eventually([&] {
    std::lock_guard<std::mutex> lock(pending_mutex);
    return pending.has_value();
  }));
  REQUIRE_FALSE(*pending);
  // With the keepalive test's short iq_timeout, the IQ times out first.
  CHECK(pending->error().kind == (expected == CloseReason::Kind::timeout
                                      ? IqFailure::Kind::timeout
                                      : IqFailure::Kind::closed));
  // The connection goes, and nothing more is reported.
  CHECK(eventually([&] { return session->closed() || session->client_closed(); }));
  client->close();
  std::this_thread::sleep_for(50ms);
  std::lock_guard<std::mutex> lock(seen.mutex);
  CHECK(seen.closes.size() == 1);
  if (expected == CloseReason::Kind::closed_by_us) {
    CHECK(eventually([&] { return session->client_closed(); }));
  }
}

TEST_CASE("Close during login completes the login with unavailable") {
  FakeXmppOptions server_options;
  server_options.silent = true;
  FakeXmppServer server(server_options);
  Runner runner;
  Seen seen;
  ClientOptions options = options_for(server);
  options.login_timeout = 10s;
  auto client = Client::create(runner.executor(), options, seen.handlers());
  const auto start = Clock::now();
  const LoginResult result =
      mimrest::test::await_for<LoginResult>([&](mimrest::Completion<LoginResult> done) {
        client->async_login(mimrest::test::jid("alice@localhost"), "secret", "res", done);
        REQUIRE(server.session());  // connected, waiting for the server's header
        client->close();
      });
  REQUIRE_FALSE(result);
  CHECK(result.error() == LoginError::unavailable);
  CHECK(Clock::now() - start < 5s);
  CHECK(seen.closes.empty());
  // A second login on the same client is refused.
  CHECK(login(*client).error() == LoginError::unavailable);
}

TEST_CASE("Dropping the client while operations are pending") {
  SECTION("during login: the login completes with unavailable") {
    FakeXmppOptions server_options;
    server_options.silent = true;
    FakeXmppServer server(server_options);
    Runner runner;
    auto client = Client::create(runner.executor(), options_for(server), {});
    const LoginResult result =
        mimrest::test::await_for<LoginResult>([&](mimrest::Completion<LoginResult> done) {
          client->async_login(mimrest::test::jid("alice@localhost"), "secret", "res", done);
          REQUIRE(server.session());
          client.reset();
        });
    REQUIRE_FALSE(result);
    CHECK(result.error() == LoginError::unavailable);
  }
  SECTION("while open: the IQ fails with closed, no handler is called") {
    FakeXmppServer server;
    server.on_stanza([](FakeSession&, const Stanza&) {});
    Runner runner;
    Seen seen;
    auto client = Client::create(runner.executor(), options_for(server), seen.handlers());
    REQUIRE(login(*client));
    const auto session = server.bound_session();
    const IqResult result =
        mimrest::test::await_for<IqResult>([&](mimrest::Completion<IqResult> done) {
          client->async_iq(query("bob@localhost"), done);
          REQUIRE(eventually([&] { return session->received().size() == 1; }));
          client.reset();
        });
    REQUIRE_FALSE(result);
    CHECK(result.error().kind == IqFailure::Kind::closed);
    CHECK(eventually([&] { return session->client_closed(); }));
    std::lock_guard<std::mutex> lock(seen.mutex);
    CHECK(seen.closes.empty());
  }
}

TEST_CASE("1000 clients log in at once on two threads") {
  constexpr int count = 1000;
  FakeXmppOptions server_options;
  // The exchange, not the hashing, is under test (and each PBKDF2 round
  // allocates inside OpenSSL, which ASan with slow unwinding makes costly).
  server_options.scram_iterations = 16;
  FakeXmppServer server(server_options);
  Runner runner(2);
  ClientOptions options = options_for(server);
  options.login_timeout = 60s;

  std::mutex mutex;
  std::condition_variable done_changed;
  int done = 0;
  std::vector<std::string> bound;
  std::vector<std::shared_ptr<Client>> clients;
  const mimrest::Jid alice = mimrest::test::jid("alice@localhost");
  const auto start = Clock::now();
  for (int i = 0; i < count; ++i) {
    clients.push_back(Client::create(runner.executor(), options, {}));
    clients.back()->async_login(alice, "secret", "r" + std::to_string(i), [&](LoginResult result) {
      std::lock_guard<std::mutex> lock(mutex);
      if (result) {
        bound.push_back(result->to_string());
      }
      ++done;
      done_changed.notify_all();
    });
  }
  {
    std::unique_lock<std::mutex> lock(mutex);
    REQUIRE(done_changed.wait_for(lock, 120s, [&] { return done == count; }));
  }
  const auto elapsed = Clock::now() - start;
  WARN("1000 logins in " << std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count()
                         << " ms");
  CHECK(bound.size() == static_cast<std::size_t>(count));
  CHECK(std::set<std::string>(bound.begin(), bound.end()).size() == bound.size());
  CHECK(server.bound_count() == static_cast<std::size_t>(count));
  for (auto& client : clients) {
    CHECK(client->is_open());
    client->close();
  }
  clients.clear();
}
