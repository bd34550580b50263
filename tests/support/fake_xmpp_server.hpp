// A scripted XMPP server for the client's tests: an Asio acceptor on a
// loopback ephemeral port, its own thread, and just enough of RFC 6120 to log
// a client in (STARTTLS, SCRAM-SHA-256/SHA-1 or PLAIN, bind, the legacy
// session), answer pings and let a test send anything, stall or drop the
// connection. It reads the client's stream with the client's own stream
// parser; its SCRAM side is written from RFC 5802 here.
//
// Thread-safety: FakeXmppServer and FakeSession members may be called from
// any thread; the server's work runs on its one thread.
#pragma once

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>

#include "mimrest/crypto.hpp"
#include "xmpp/stanza.hpp"
#include "xmpp/stream_parser.hpp"

namespace mimrest::test {

struct FakeXmppOptions {
  std::string domain = "localhost";
  /// localpart -> password
  std::map<std::string, std::string> users = {{"alice", "secret"}};
  /// Offered in this order (PLAIN too, also without TLS: the client decides).
  std::vector<std::string> mechanisms = {"SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"};
  /// Set: STARTTLS is offered with this (server) context.
  std::shared_ptr<boost::asio::ssl::context> tls;
  unsigned scram_iterations = 4096;
  /// <session/> without <optional/> among the features after SASL.
  bool legacy_session = false;
  /// The SASL failure condition sent for wrong credentials.
  std::string sasl_failure = "not-authorized";
  /// Sends a server signature that does not match.
  bool wrong_server_signature = false;
  /// Reads but never writes a byte (a silent server).
  bool silent = false;
  /// Answers the client's pings.
  bool answer_pings = true;
  /// Adds a stanza error to every bind request.
  std::string bind_error;
};

class FakeXmppServer;

/// One accepted connection.
class FakeSession : public std::enable_shared_from_this<FakeSession> {
 public:
  using tcp = boost::asio::ip::tcp;

  FakeSession(FakeXmppServer& server, tcp::socket socket);

  /// Sends bytes as they are (posted to the server's thread).
  void send(std::string bytes);
  /// Closes the TCP connection at once.
  void drop();

  /// The bound full JID (after bind).
  std::string bound() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return bound_;
  }
  /// Everything the client sent after bind, serialized, in order.
  std::vector<std::string> received() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return received_;
  }
  /// Whether the client asked for an RFC 3921 session.
  bool session_requested() const { return session_requested_.load(); }
  /// Whether the client ended its stream with </stream:stream>.
  bool client_closed() const { return client_closed_.load(); }
  /// Whether the connection is closed (by either side).
  bool closed() const { return closed_.load(); }
  /// The mechanism the client chose.
  std::string mechanism() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return mechanism_;
  }

  void start();

 private:
  friend class FakeXmppServer;

  void read();
  void on_event(xmpp::StreamEvent event);
  void on_element(const xmpp::Stanza& element);
  void on_auth(const xmpp::Stanza& auth);
  void on_response(const xmpp::Stanza& response);
  void on_iq(const xmpp::Stanza& iq);
  void write(std::string bytes);
  void flush();
  void close_now();
  void send_header_and_features();

  FakeXmppServer& server_;
  tcp::socket socket_;
  std::unique_ptr<boost::asio::ssl::stream<tcp::socket&>> tls_;
  bool tls_active_ = false;
  bool handshaking_ = false;
  bool authenticated_ = false;
  bool bound_done_ = false;
  xmpp::StreamParser parser_;
  std::array<char, 4096> buffer_{};
  std::string out_;
  std::string in_flight_;
  bool writing_ = false;
  // SCRAM state
  std::string scram_user_;
  std::string scram_auth_first_bare_;
  std::string scram_nonce_;
  std::string scram_salt_;
  bool scram_sha1_ = false;
  std::string stream_user_;

  mutable std::mutex mutex_;
  std::string bound_;
  std::vector<std::string> received_;
  std::string mechanism_;
  std::atomic<bool> client_closed_{false};
  std::atomic<bool> session_requested_{false};
  std::atomic<bool> closed_{false};
};

class FakeXmppServer {
 public:
  using tcp = boost::asio::ip::tcp;

  explicit FakeXmppServer(FakeXmppOptions options = {})
      : options_(std::move(options)),
        acceptor_(io_, tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0)),
        work_(boost::asio::make_work_guard(io_)) {
    accept();
    thread_ = std::thread([this] { io_.run(); });
  }

  ~FakeXmppServer() { stop(); }
  FakeXmppServer(const FakeXmppServer&) = delete;
  FakeXmppServer& operator=(const FakeXmppServer&) = delete;

  void stop() {
    if (!thread_.joinable()) {
      return;
    }
    boost::asio::post(io_, [this] {
      boost::system::error_code ignored;
      acceptor_.close(ignored);
      std::lock_guard<std::mutex> lock(mutex_);
      for (auto& session : sessions_) {
        session->close_now();
      }
    });
    work_.reset();
    thread_.join();
  }

  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  const FakeXmppOptions& options() const { return options_; }

  /// Called on the server's thread for each element a bound client sends
  /// (iqs other than pings too). When it is not set, iq get/set is answered
  /// with an empty result.
  void on_stanza(std::function<void(FakeSession&, const xmpp::Stanza&)> handler) {
    std::lock_guard<std::mutex> lock(mutex_);
    on_stanza_ = std::move(handler);
  }

  /// The sessions that bound a resource, oldest first.
  std::size_t bound_count() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return bound_.size();
  }
  /// The `index`th session that bound a resource; waits for it.
  std::shared_ptr<FakeSession> bound_session(
      std::size_t index = 0, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait_for(lock, timeout, [&] { return bound_.size() > index; });
    return bound_.size() > index ? bound_[index] : nullptr;
  }
  /// Connections accepted so far.
  std::size_t accepted() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return sessions_.size();
  }
  /// The `index`th accepted connection; waits for it.
  std::shared_ptr<FakeSession> session(
      std::size_t index = 0, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait_for(lock, timeout, [&] { return sessions_.size() > index; });
    return sessions_.size() > index ? sessions_[index] : nullptr;
  }

  boost::asio::io_context& io() { return io_; }

 private:
  friend class FakeSession;

  void accept() {
    acceptor_.async_accept([this](const boost::system::error_code& ec, tcp::socket socket) {
      if (ec) {
        return;
      }
      auto session = std::make_shared<FakeSession>(*this, std::move(socket));
      {
        std::lock_guard<std::mutex> lock(mutex_);
        sessions_.push_back(session);
      }
      changed_.notify_all();
      session->start();
      accept();
    });
  }

  void bound(const std::shared_ptr<FakeSession>& session) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      bound_.push_back(session);
    }
    changed_.notify_all();
  }

  std::function<void(FakeSession&, const xmpp::Stanza&)> handler() {
    std::lock_guard<std::mutex> lock(mutex_);
    return on_stanza_;
  }

  FakeXmppOptions options_;
  boost::asio::io_context io_;
  tcp::acceptor acceptor_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::thread thread_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::shared_ptr<FakeSession>> sessions_;
  std::vector<std::shared_ptr<FakeSession>> bound_;
  std::function<void(FakeSession&, const xmpp::Stanza&)> on_stanza_;
};

// -- SCRAM, server side (RFC 5802 section 3) -----------------------------------

namespace fake_scram {

inline std::string hmac(const EVP_MD* md, std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(md, key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &length);
  return std::string(reinterpret_cast<const char*>(out), length);
}

inline std::string hash(const EVP_MD* md, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), out, &length, md, nullptr);
  return std::string(reinterpret_cast<const char*>(out), length);
}

inline std::string salted(const EVP_MD* md, std::string_view password, std::string_view salt,
                          unsigned iterations) {
  std::string out(static_cast<std::size_t>(EVP_MD_size(md)), '\0');
  PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                    reinterpret_cast<const unsigned char*>(salt.data()),
                    static_cast<int>(salt.size()), static_cast<int>(iterations), md,
                    static_cast<int>(out.size()), reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

/// The value of attribute `name` in "a=...,b=..." (empty if missing).
inline std::string attribute(std::string_view message, char name) {
  std::size_t at = 0;
  while (at <= message.size()) {
    const std::size_t comma = message.find(',', at);
    const std::string_view item =
        message.substr(at, comma == std::string_view::npos ? std::string_view::npos : comma - at);
    if (item.size() >= 2 && item[0] == name && item[1] == '=') {
      return std::string(item.substr(2));
    }
    if (comma == std::string_view::npos) {
      break;
    }
    at = comma + 1;
  }
  return {};
}

}  // namespace fake_scram

// -- FakeSession ------------------------------------------------------------------

inline FakeSession::FakeSession(FakeXmppServer& server, tcp::socket socket)
    : server_(server), socket_(std::move(socket)) {}

inline void FakeSession::start() {
  read();
}

inline void FakeSession::send(std::string bytes) {
  boost::asio::post(server_.io_, [self = shared_from_this(), bytes = std::move(bytes)]() mutable {
    self->write(std::move(bytes));
  });
}

inline void FakeSession::drop() {
  boost::asio::post(server_.io_, [self = shared_from_this()] { self->close_now(); });
}

inline void FakeSession::close_now() {
  closed_ = true;
  boost::system::error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
}

inline void FakeSession::read() {
  if (closed_ || handshaking_) {
    return;
  }
  auto handler = [self = shared_from_this()](const boost::system::error_code& ec,
                                             std::size_t bytes) {
    if (ec) {
      self->closed_ = true;
      return;
    }
    if (self->server_.options_.silent) {
      self->read();
      return;
    }
    self->parser_.append(std::string_view(self->buffer_.data(), bytes));
    for (;;) {
      xmpp::StreamEvent event = self->parser_.next();
      if (event.kind == xmpp::StreamEvent::Kind::need_more) {
        break;
      }
      const bool stop = event.kind == xmpp::StreamEvent::Kind::error;
      self->on_event(std::move(event));
      if (stop || self->handshaking_ || self->closed_) {
        break;
      }
    }
    self->read();
  };
  if (tls_) {
    tls_->async_read_some(boost::asio::buffer(buffer_), std::move(handler));
  } else {
    socket_.async_read_some(boost::asio::buffer(buffer_), std::move(handler));
  }
}

inline void FakeSession::write(std::string bytes) {
  if (closed_) {
    return;
  }
  out_ += bytes;
  flush();
}

inline void FakeSession::flush() {
  if (writing_ || handshaking_ || out_.empty() || closed_) {
    return;
  }
  writing_ = true;
  in_flight_.swap(out_);
  auto handler = [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
    self->writing_ = false;
    self->in_flight_.clear();
    if (ec) {
      self->close_now();
      return;
    }
    self->flush();
  };
  if (tls_) {
    boost::asio::async_write(*tls_, boost::asio::buffer(in_flight_), std::move(handler));
  } else {
    boost::asio::async_write(socket_, boost::asio::buffer(in_flight_), std::move(handler));
  }
}

inline void FakeSession::send_header_and_features() {
  const FakeXmppOptions& options = server_.options_;
  std::string out =
      "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
      "xmlns:stream='http://etherx.jabber.org/streams' id='" +
      base64_encode(random_bytes(6)) + "' from='" + options.domain +
      "' version='1.0' xml:lang='en'><stream:features>";
  if (!tls_active_ && options.tls) {
    out += "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>";
  }
  if (!authenticated_) {
    out += "<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>";
    for (const auto& mechanism : options.mechanisms) {
      out += "<mechanism>" + mechanism + "</mechanism>";
    }
    out += "</mechanisms>";
  } else {
    out += "<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>";
    out += options.legacy_session
               ? "<session xmlns='urn:ietf:params:xml:ns:xmpp-session'/>"
               : "<session xmlns='urn:ietf:params:xml:ns:xmpp-session'><optional/></session>";
  }
  out += "</stream:features>";
  write(std::move(out));
}

inline void FakeSession::on_event(xmpp::StreamEvent event) {
  switch (event.kind) {
    case xmpp::StreamEvent::Kind::header:
      send_header_and_features();
      return;
    case xmpp::StreamEvent::Kind::element:
      on_element(event.element);
      return;
    case xmpp::StreamEvent::Kind::end:
      client_closed_ = true;
      write("</stream:stream>");
      return;
    case xmpp::StreamEvent::Kind::error:
      close_now();
      return;
    case xmpp::StreamEvent::Kind::need_more:
      return;
  }
}

inline void FakeSession::on_element(const xmpp::Stanza& element) {
  if (element.is("starttls", xmpp::ns::tls) && server_.options_.tls && !tls_active_) {
    tls_ = std::make_unique<boost::asio::ssl::stream<tcp::socket&>>(socket_, *server_.options_.tls);
    handshaking_ = true;  // nothing else is written or read until it is done
    auto proceed =
        std::make_shared<std::string>("<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
    boost::asio::async_write(
        socket_, boost::asio::buffer(*proceed),
        [self = shared_from_this(), proceed](const boost::system::error_code& ec, std::size_t) {
          if (ec) {
            self->close_now();
            return;
          }
          self->tls_->async_handshake(boost::asio::ssl::stream_base::server,
                                      [self](const boost::system::error_code& error) {
                                        self->handshaking_ = false;
                                        if (error) {
                                          self->close_now();
                                          return;
                                        }
                                        self->tls_active_ = true;
                                        self->parser_.restart();
                                        self->read();
                                        self->flush();
                                      });
        });
    return;
  }
  if (element.is("auth", xmpp::ns::sasl)) {
    on_auth(element);
    return;
  }
  if (element.is("response", xmpp::ns::sasl)) {
    on_response(element);
    return;
  }
  if (element.is("iq", xmpp::ns::client)) {
    on_iq(element);
    return;
  }
  if (bound_done_) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      received_.push_back(element.xml());
    }
    if (auto handler = server_.handler()) {
      handler(*this, element);
    }
  }
}

inline void FakeSession::on_auth(const xmpp::Stanza& auth) {
  const FakeXmppOptions& options = server_.options_;
  const std::string mechanism(auth.attribute("mechanism"));
  {
    std::lock_guard<std::mutex> lock(mutex_);
    mechanism_ = mechanism;
  }
  const std::string failure =
      "<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><" + options.sasl_failure + "/></failure>";
  const auto data = base64_decode(auth.text());
  if (!data) {
    write("<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><incorrect-encoding/></failure>");
    return;
  }
  if (mechanism == "PLAIN") {
    const std::size_t first = data->find('\0');
    const std::size_t second = data->find('\0', first + 1);
    if (first == std::string::npos || second == std::string::npos) {
      write(failure);
      return;
    }
    const std::string user = data->substr(first + 1, second - first - 1);
    const std::string password = data->substr(second + 1);
    const auto known = options.users.find(user);
    if (known == options.users.end() || known->second != password) {
      write(failure);
      return;
    }
    stream_user_ = user;
    authenticated_ = true;
    parser_.restart();
    write("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>");
    return;
  }
  if (mechanism != "SCRAM-SHA-256" && mechanism != "SCRAM-SHA-1") {
    write("<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><invalid-mechanism/></failure>");
    return;
  }
  scram_sha1_ = mechanism == "SCRAM-SHA-1";
  if (data->rfind("n,,", 0) != 0) {
    write("<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><malformed-request/></failure>");
    return;
  }
  scram_auth_first_bare_ = data->substr(3);
  scram_user_ = fake_scram::attribute(scram_auth_first_bare_, 'n');
  scram_nonce_ =
      fake_scram::attribute(scram_auth_first_bare_, 'r') + base64_encode(random_bytes(12));
  scram_salt_ = random_bytes(16);
  const std::string server_first = "r=" + scram_nonce_ + ",s=" + base64_encode(scram_salt_) +
                                   ",i=" + std::to_string(options.scram_iterations);
  scram_auth_first_bare_ += "," + server_first;  // the AuthMessage so far
  write("<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>" + base64_encode(server_first) +
        "</challenge>");
}

inline void FakeSession::on_response(const xmpp::Stanza& response) {
  const FakeXmppOptions& options = server_.options_;
  const std::string failure =
      "<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><" + options.sasl_failure + "/></failure>";
  const auto data = base64_decode(response.text());
  if (!data) {
    write(failure);
    return;
  }
  const std::size_t proof_at = data->rfind(",p=");
  if (proof_at == std::string::npos || fake_scram::attribute(*data, 'r') != scram_nonce_ ||
      fake_scram::attribute(*data, 'c') != "biws") {
    write(failure);
    return;
  }
  const auto known = options.users.find(scram_user_);
  const EVP_MD* md = scram_sha1_ ? EVP_sha1() : EVP_sha256();
  const std::string auth_message = scram_auth_first_bare_ + "," + data->substr(0, proof_at);
  const std::string password = known == options.users.end() ? std::string() : known->second;
  const std::string salted =
      fake_scram::salted(md, password, scram_salt_, options.scram_iterations);
  const std::string stored_key = fake_scram::hash(md, fake_scram::hmac(md, salted, "Client Key"));
  const std::string signature = fake_scram::hmac(md, stored_key, auth_message);
  const auto proof = base64_decode(data->substr(proof_at + 3));
  if (known == options.users.end() || !proof || proof->size() != signature.size()) {
    write(failure);
    return;
  }
  std::string client_key = *proof;
  for (std::size_t i = 0; i < client_key.size(); ++i) {
    client_key[i] = static_cast<char>(client_key[i] ^ signature[i]);
  }
  if (fake_scram::hash(md, client_key) != stored_key) {
    write(failure);
    return;
  }
  std::string server_signature =
      fake_scram::hmac(md, fake_scram::hmac(md, salted, "Server Key"), auth_message);
  if (options.wrong_server_signature) {
    server_signature[0] = static_cast<char>(server_signature[0] ^ 1);
  }
  stream_user_ = scram_user_;
  authenticated_ = true;
  parser_.restart();
  write("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>" +
        base64_encode("v=" + base64_encode(server_signature)) + "</success>");
}

inline void FakeSession::on_iq(const xmpp::Stanza& iq) {
  const FakeXmppOptions& options = server_.options_;
  const std::string id(iq.attribute("id"));
  if (authenticated_ && iq.child("session", xmpp::ns::session)) {
    session_requested_ = true;  // after bind, as RFC 3921 has it
    write("<iq type='result' id='" + id + "'/>");
    return;
  }
  if (!bound_done_) {
    if (!authenticated_) {
      return;
    }
    const pugi::xml_node bind = iq.child("bind", xmpp::ns::bind);
    if (!bind) {
      return;
    }
    if (!options.bind_error.empty()) {
      write("<iq type='error' id='" + id + "'><error type='cancel'><" + options.bind_error +
            " xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>");
      return;
    }
    std::string resource = xmpp::text_of(bind.child("resource"));
    if (resource.empty()) {
      resource = "generated";
    }
    const std::string jid = stream_user_ + "@" + options.domain + "/" + resource;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      bound_ = jid;
    }
    bound_done_ = true;
    server_.bound(shared_from_this());  // before the client can see the result
    write("<iq type='result' id='" + id + "'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>" +
          jid + "</jid></bind></iq>");
    return;
  }
  if (iq.child("ping", xmpp::ns::ping) && iq.attribute("type") == "get" &&
      (iq.attribute("to").empty() || iq.attribute("to") == options.domain)) {
    if (options.answer_pings) {
      write("<iq type='result' id='" + id + "' from='" + options.domain + "'/>");
    }
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    received_.push_back(iq.xml());
  }
  if (auto handler = server_.handler()) {
    handler(*this, iq);
    return;
  }
  if (iq.attribute("type") == "get" || iq.attribute("type") == "set") {
    write("<iq type='result' id='" + id + "'/>");
  }
}

}  // namespace mimrest::test
