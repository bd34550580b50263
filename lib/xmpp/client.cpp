// The session behind a Client. Everything of it runs on its strand: the
// socket, the resolver and the timers are bound to the strand, and the public
// members post there. It stays alive while an operation of it is pending
// (each handler holds a shared_ptr), so the Client can go at any time.
//
// Login: resolve, connect (TCP_NODELAY: without it, Nagle's algorithm and the
// peer's delayed ACK cost some 40 ms per request and reply), stream header,
// STARTTLS and a new stream, SASL and a new stream, bind, the legacy session
// when the server still requires it (RFC 3921). One timer covers it all.
#include "xmpp/client.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>

#include "mimrest/crypto.hpp"
#include "xmpp/sasl.hpp"
#include "xmpp/stream_parser.hpp"

namespace mimrest::xmpp {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;
using Clock = std::chrono::steady_clock;

namespace {

/// Bytes read from the socket at once. Small: thousands of idle sessions
/// each keep one buffer.
constexpr std::size_t read_buffer_bytes = 4096;
/// How long a closing stream waits for the server's </stream:stream>.
constexpr auto close_grace = std::chrono::seconds(2);
/// A write buffer grown beyond this by a large stanza is given back.
constexpr std::size_t kept_write_buffer_bytes = 64 * 1024;

std::string escape_attribute(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '\'':
        out += "&apos;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

bool is_ip_literal(const std::string& domain) {
  if (!domain.empty() && domain.front() == '[') {
    return true;
  }
  error_code ec;
  net::ip::make_address(domain, ec);
  return !ec;
}

/// The SASL failure conditions that do not mean "wrong credentials".
LoginError sasl_failure_error(std::string_view condition) {
  if (condition == "temporary-auth-failure") {
    return LoginError::unavailable;
  }
  if (condition == "incorrect-encoding" || condition == "invalid-mechanism" ||
      condition == "malformed-request" || condition == "mechanism-too-weak" ||
      condition == "encryption-required") {
    return LoginError::protocol;
  }
  // not-authorized, account-disabled, credentials-expired, invalid-authzid,
  // aborted and anything unknown: the server refuses this login.
  return LoginError::not_authorized;
}

std::string sasl_element(std::string_view name, std::string_view payload,
                         std::string_view mechanism = {}) {
  std::string out = "<";
  out += name;
  out += " xmlns='";
  out += ns::sasl;
  out += "'";
  if (!mechanism.empty()) {
    out += " mechanism='";
    out += mechanism;
    out += "'";
  }
  if (payload.empty()) {
    return out + "/>";
  }
  out += ">";
  out += payload;
  out += "</";
  out += name;
  out += ">";
  return out;
}

/// The text of a stream error: its condition, then its <text/> if any.
std::string stream_error_detail(const Stanza& error) {
  std::string detail = error_condition(error.root(), ns::streams);
  if (detail.empty()) {
    detail = "undefined-condition";
  }
  const pugi::xml_node text = error.child("text", ns::streams);
  if (text) {
    detail += ": " + text_of(text);
  }
  return detail;
}

std::string random_id_prefix() {
  std::string prefix = base64_encode(random_bytes(6));
  for (char& c : prefix) {
    if (c == '+') {
      c = '-';
    } else if (c == '/') {
      c = '_';
    }
  }
  return prefix;
}

}  // namespace

std::string_view to_string(LoginError error) noexcept {
  switch (error) {
    case LoginError::not_authorized:
      return "not authorized";
    case LoginError::unavailable:
      return "XMPP server unavailable";
    case LoginError::protocol:
      return "XMPP protocol error";
  }
  return "login error";
}

std::string_view to_string(CloseReason::Kind kind) noexcept {
  switch (kind) {
    case CloseReason::Kind::closed_by_us:
      return "closed by us";
    case CloseReason::Kind::closed_by_server:
      return "closed by the server";
    case CloseReason::Kind::stream_error:
      return "stream error";
    case CloseReason::Kind::malformed:
      return "malformed XML";
    case CloseReason::Kind::too_large:
      return "element too large";
    case CloseReason::Kind::connection_lost:
      return "connection lost";
    case CloseReason::Kind::timeout:
      return "keepalive timeout";
  }
  return "closed";
}

Expected<std::shared_ptr<ssl::context>, std::string> make_tls_context(const std::string& ca_file) {
  auto context = std::make_shared<ssl::context>(ssl::context::tls_client);
  SSL_CTX* native = context->native_handle();
  if (SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION) != 1) {
    return unexpected(std::string("cannot require TLS 1.2"));
  }
  // Idle sessions give their TLS buffers back (tens of KiB each).
  SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS);
  error_code ec;
  if (ca_file.empty()) {
    context->set_default_verify_paths(ec);
  } else {
    context->load_verify_file(ca_file, ec);
  }
  if (ec) {
    return unexpected(
        (ca_file.empty() ? std::string("default verify paths") : "CA file '" + ca_file + "'") +
        ": " + ec.message());
  }
  context->set_verify_mode(ssl::verify_peer);
  return context;
}

class Client::Session : public std::enable_shared_from_this<Session> {
 public:
  Session(net::any_io_executor executor, ClientOptions options, Handlers handlers)
      : strand_(net::make_strand(std::move(executor))),
        options_(std::move(options)),
        handlers_(std::move(handlers)),
        resolver_(strand_),
        socket_(strand_),
        login_timer_(strand_),
        ping_timer_(strand_),
        close_timer_(strand_),
        parser_(StreamLimits{options_.max_stanza_bytes, 64}),
        id_prefix_(random_id_prefix()) {}

  template <class F>
  void post(F&& f) {
    net::post(strand_, std::forward<F>(f));
  }

  // -- Public operations, on the strand ------------------------------------

  void login(const Jid& user, std::string password, std::string resource,
             Completion<LoginResult> done) {
    if (phase_ != Phase::idle) {
      done(unexpected(LoginError::unavailable));
      return;
    }
    user_ = user.bare();
    password_ = std::move(password);
    resource_ = std::move(resource);
    login_done_ = std::move(done);
    phase_ = Phase::connecting;
    login_timer_.expires_after(options_.login_timeout);
    login_timer_.async_wait([self = shared_from_this()](const error_code& ec) {
      if (!ec) {
        self->fail_login(LoginError::unavailable, "login timeout");
      }
    });
    resolver_.async_resolve(
        options_.host, std::to_string(options_.port), tcp::resolver::numeric_service,
        [self = shared_from_this()](const error_code& ec, tcp::resolver::results_type results) {
          self->on_resolved(ec, std::move(results));
        });
  }

  void send(std::string xml) {
    if (phase_ == Phase::open) {
      write(std::move(xml));
    }
  }

  void iq(Stanza stanza, Completion<IqResult> done) {
    if (phase_ != Phase::open || stanza.empty()) {
      done(unexpected(IqFailure{IqFailure::Kind::closed, {}, {}}));
      return;
    }
    start_iq(std::move(stanza), std::move(done));
  }

  void close() {
    switch (phase_) {
      case Phase::idle:
        phase_ = Phase::closed;
        return;
      case Phase::closing:
      case Phase::closed:
        return;
      case Phase::open:
        finish(CloseReason{CloseReason::Kind::closed_by_us, {}}, "</stream:stream>");
        return;
      default:
        fail_login(LoginError::unavailable, "closed during login");
        return;
    }
  }

  /// The Client is gone: no handler is called any more.
  void detach() {
    detached_ = true;
    handlers_ = Handlers{};
    close();
  }

  bool is_open() const noexcept { return open_.load(std::memory_order_acquire); }

 private:
  enum class Phase { idle, connecting, negotiating, handshaking, open, closing, closed };
  /// What the negotiation waits for.
  enum class Step { features, proceed, sasl, bind, session };

  // -- Transport ------------------------------------------------------------

  void on_resolved(const error_code& ec, tcp::resolver::results_type results) {
    if (phase_ != Phase::connecting) {
      return;
    }
    if (ec) {
      fail_login(LoginError::unavailable, "cannot resolve " + options_.host + ": " + ec.message());
      return;
    }
    net::async_connect(socket_, results,
                       [self = shared_from_this()](const error_code& error, const tcp::endpoint&) {
                         self->on_connected(error);
                       });
  }

  void on_connected(const error_code& ec) {
    if (phase_ != Phase::connecting) {
      return;
    }
    if (ec) {
      fail_login(LoginError::unavailable, "cannot connect: " + ec.message());
      return;
    }
    error_code ignored;
    socket_.set_option(tcp::no_delay(true), ignored);
    phase_ = Phase::negotiating;
    open_stream();
    read();
  }

  void open_stream() {
    step_ = Step::features;
    header_seen_ = false;
    std::string header =
        "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
        "xmlns:stream='http://etherx.jabber.org/streams' to='" +
        escape_attribute(user_.domain()) + "'";
    if (tls_active_) {
      // RFC 6120 section 4.7.1: the from of an initiating entity, only over
      // an encrypted stream.
      header += " from='" + escape_attribute(user_.bare_string()) + "'";
    }
    header += " version='1.0' xml:lang='en'>";
    write(std::move(header));
  }

  void read() {
    if (reading_ || phase_ == Phase::closed || phase_ == Phase::handshaking || !socket_.is_open()) {
      return;
    }
    reading_ = true;
    quick_ack();
    auto handler = [self = shared_from_this()](const error_code& ec, std::size_t bytes) {
      self->reading_ = false;
      self->on_read(ec, bytes);
    };
    if (tls_) {
      tls_->async_read_some(net::buffer(read_buffer_), std::move(handler));
    } else {
      socket_.async_read_some(net::buffer(read_buffer_), std::move(handler));
    }
  }

  /// Acknowledges what arrives at once instead of after the delayed-ACK
  /// timer (40 ms on Linux). A server that writes twice in a row without
  /// TCP_NODELAY (Prosody after a TLS 1.3 handshake: the session tickets,
  /// then the stream header) holds the second write back until the first is
  /// acknowledged, so each such pair cost a login or a reply 40 ms. Linux
  /// leaves quick-ACK mode by itself, hence before every read.
  void quick_ack() {
#if defined(TCP_QUICKACK)
    error_code ignored;
    socket_.set_option(net::detail::socket_option::boolean<IPPROTO_TCP, TCP_QUICKACK>(true),
                       ignored);
#endif
  }

  void on_read(const error_code& ec, std::size_t bytes) {
    if (phase_ == Phase::closed) {
      return;
    }
    if (ec) {
      transport_failed(ec == net::error::eof ? std::string("the server closed the connection")
                                             : "read: " + ec.message());
      return;
    }
    last_received_ = Clock::now();
    parser_.append(std::string_view(read_buffer_.data(), bytes));
    while (phase_ == Phase::negotiating || phase_ == Phase::open || phase_ == Phase::closing) {
      StreamEvent event = parser_.next();
      if (event.kind == StreamEvent::Kind::need_more) {
        break;
      }
      handle(std::move(event));
    }
    read();
  }

  void write(std::string data) {
    if (phase_ == Phase::closed || !socket_.is_open() || farewell_sent_) {
      return;
    }
    out_ += data;
    flush();
  }

  void flush() {
    if (writing_ || phase_ == Phase::handshaking || out_.empty()) {
      return;
    }
    writing_ = true;
    in_flight_.swap(out_);
    auto handler = [self = shared_from_this()](const error_code& ec, std::size_t) {
      self->on_written(ec);
    };
    if (tls_) {
      net::async_write(*tls_, net::buffer(in_flight_), std::move(handler));
    } else {
      net::async_write(socket_, net::buffer(in_flight_), std::move(handler));
    }
  }

  void on_written(const error_code& ec) {
    writing_ = false;
    in_flight_.clear();
    if (in_flight_.capacity() > kept_write_buffer_bytes) {
      std::string().swap(in_flight_);
    }
    if (phase_ == Phase::closed) {
      return;
    }
    if (ec) {
      transport_failed("write: " + ec.message());
      return;
    }
    if (!out_.empty()) {
      flush();
    } else if (close_after_write_) {
      close_socket();
    }
  }

  void transport_failed(const std::string& detail) {
    if (phase_ == Phase::open) {
      finish(CloseReason{CloseReason::Kind::connection_lost, detail}, {});
    } else if (phase_ == Phase::closing) {
      close_socket();
    } else {
      fail_login(LoginError::unavailable, detail);
    }
  }

  /// Ends everything at once: no more reads or writes, timers off.
  void close_socket() {
    phase_ = Phase::closed;
    open_.store(false, std::memory_order_release);
    error_code ignored;
    resolver_.cancel();
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    login_timer_.cancel();
    ping_timer_.cancel();
    close_timer_.cancel();
    for (auto& [id, pending] : iqs_) {
      pending.timer->cancel();
    }
  }

  // -- Stream events -----------------------------------------------------------

  void handle(StreamEvent event) {
    switch (event.kind) {
      case StreamEvent::Kind::need_more:
        return;
      case StreamEvent::Kind::header:
        on_header(event.header);
        return;
      case StreamEvent::Kind::element:
        if (phase_ == Phase::negotiating) {
          negotiate(std::move(event.element));
        } else if (phase_ == Phase::open) {
          dispatch(std::move(event.element));
        }
        return;
      case StreamEvent::Kind::end:
        if (phase_ == Phase::open) {
          finish(CloseReason{CloseReason::Kind::closed_by_server, {}}, "</stream:stream>", false);
        } else if (phase_ == Phase::closing) {
          close_socket();
        } else {
          fail_login(LoginError::unavailable, "the server closed the stream");
        }
        return;
      case StreamEvent::Kind::error: {
        const std::string detail = std::string(to_string(event.error)) + ": " + event.detail;
        if (phase_ == Phase::open) {
          const bool size =
              event.error == StreamError::too_large || event.error == StreamError::too_deep;
          finish(CloseReason{size ? CloseReason::Kind::too_large : CloseReason::Kind::malformed,
                             detail},
                 "<stream:error><" + std::string(stream_error_condition(event.error)) +
                     " xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>"
                     "</stream:stream>",
                 false);
        } else if (phase_ == Phase::closing) {
          close_socket();
        } else {
          fail_login(LoginError::protocol, detail);
        }
        return;
      }
    }
  }

  void on_header(const StreamHeader& header) {
    if (phase_ != Phase::negotiating) {
      return;
    }
    // A server that does not speak XMPP 1.0 has no features to offer.
    if (header.version.empty() || header.version.front() < '1' ||
        header.version.find('.') == std::string::npos) {
      fail_login(LoginError::protocol, "stream version '" + header.version + "'");
      return;
    }
    header_seen_ = true;
  }

  void negotiate(Stanza element) {
    if (!header_seen_) {
      fail_login(LoginError::protocol, "an element before the stream header");
      return;
    }
    if (element.is("error", ns::stream)) {
      fail_login(LoginError::unavailable, "stream error: " + stream_error_detail(element));
      return;
    }
    switch (step_) {
      case Step::features:
        if (element.is("features", ns::stream)) {
          on_features(element);
        }
        return;
      case Step::proceed:
        if (element.is("proceed", ns::tls)) {
          start_tls();
        } else if (element.is("failure", ns::tls)) {
          fail_login(LoginError::unavailable, "the server refused STARTTLS");
        }
        return;
      case Step::sasl:
        on_sasl(element);
        return;
      case Step::bind:
      case Step::session:
        if (element.is("iq", ns::client) && element.attribute("id") == negotiation_id_) {
          on_negotiation_reply(element);
        }
        return;
    }
  }

  void on_features(const Stanza& features) {
    if (!tls_active_ && options_.tls == ClientOptions::Tls::required) {
      if (!features.child("starttls", ns::tls)) {
        fail_login(LoginError::unavailable, "the server offers no STARTTLS");
        return;
      }
      step_ = Step::proceed;
      write("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
      return;
    }
    if (!authenticated_) {
      std::vector<std::string> offered;
      const pugi::xml_node mechanisms = features.child("mechanisms", ns::sasl);
      for (pugi::xml_node mechanism = mechanisms.first_child(); mechanism;
           mechanism = mechanism.next_sibling()) {
        if (mechanism.type() == pugi::node_element &&
            std::string_view(mechanism.name()) == "mechanism") {
          offered.push_back(text_of(mechanism));
        }
      }
      const std::optional<SaslMechanism> mechanism = choose_mechanism(offered, tls_active_);
      if (!mechanism) {
        fail_login(LoginError::unavailable, offered.empty()
                                                ? std::string("the server offers no SASL mechanism")
                                                : "no acceptable SASL mechanism (PLAIN needs TLS)");
        return;
      }
      step_ = Step::sasl;
      std::string initial;
      if (*mechanism == SaslMechanism::plain) {
        initial = plain_message(user_.local(), password_);
        password_.clear();
      } else {
        scram_.emplace(ScramClient::make(*mechanism, user_.local(), password_));
        password_.clear();
        initial = scram_->client_first();
      }
      write(sasl_element("auth", base64_encode(initial), to_string(*mechanism)));
      return;
    }
    if (!features.child("bind", ns::bind)) {
      fail_login(LoginError::protocol, "the server offers no resource binding");
      return;
    }
    // RFC 3921 sessions: only where the server says they are not optional
    // (RFC 6121 dropped them; Prosody and ejabberd mark them optional).
    const pugi::xml_node session = features.child("session", ns::session);
    session_required_ = session && !child_element(session, "optional", ns::session);
    step_ = Step::bind;
    negotiation_id_ = next_id();
    Stanza bind("iq");
    bind.set_attribute("type", "set");
    bind.set_attribute("id", negotiation_id_);
    pugi::xml_node request = bind.append_child("bind", ns::bind);
    if (!resource_.empty()) {
      append_element(request, "resource").text().set(resource_.c_str());
    }
    write(bind.xml());
  }

  void start_tls() {
    std::shared_ptr<ssl::context> context = options_.tls_context;
    if (!context) {
      auto made = make_tls_context(options_.ca_file);
      if (!made) {
        fail_login(LoginError::unavailable, "TLS: " + made.error());
        return;
      }
      context = std::move(*made);
    }
    tls_context_ = context;
    tls_ = std::make_unique<ssl::stream<tcp::socket&>>(socket_, *context);
    SSL* native = tls_->native_handle();
    const std::string& domain = user_.domain();
    // The certificate must name the XMPP domain (RFC 6125 DNS-ID; OpenSSL
    // checks it during the handshake), which also goes out as SNI.
    SSL_set_hostflags(native, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (SSL_set1_host(native, domain.c_str()) != 1 ||
        (!is_ip_literal(domain) && SSL_set_tlsext_host_name(native, domain.c_str()) != 1)) {
      fail_login(LoginError::unavailable, "TLS: cannot set the host name");
      return;
    }
    // Whatever came in clear after <proceed/> is dropped, never read as if
    // it had come through TLS.
    parser_.restart();
    phase_ = Phase::handshaking;
    tls_->async_handshake(
        ssl::stream_base::client,
        [self = shared_from_this()](const error_code& ec) { self->on_handshake(ec); });
  }

  void on_handshake(const error_code& ec) {
    if (phase_ != Phase::handshaking) {
      return;
    }
    if (ec) {
      std::string detail = "TLS handshake: " + ec.message();
      const long verify = SSL_get_verify_result(tls_->native_handle());
      if (verify != X509_V_OK) {
        detail += " (" + std::string(X509_verify_cert_error_string(verify)) + ")";
      }
      fail_login(LoginError::unavailable, detail);
      return;
    }
    tls_active_ = true;
    phase_ = Phase::negotiating;
    open_stream();
    read();
  }

  void on_sasl(const Stanza& element) {
    if (element.xmlns() != ns::sasl) {
      return;
    }
    const std::string_view name = element.name();
    if (name == "failure") {
      const std::string condition = error_condition(element.root(), ns::sasl);
      fail_login(sasl_failure_error(condition),
                 "SASL failure: " + (condition.empty() ? std::string("(none)") : condition));
      return;
    }
    if (name != "challenge" && name != "success") {
      return;
    }
    std::string payload = element.text();
    std::optional<std::string> data = payload.empty() || payload == "="
                                          ? std::optional<std::string>(std::string())
                                          : base64_decode(payload);
    if (!data) {
      fail_login(LoginError::protocol, "SASL: bad base64");
      return;
    }
    if (name == "challenge") {
      if (!scram_) {
        fail_login(LoginError::protocol, "SASL: a challenge to PLAIN");
        return;
      }
      if (!client_final_sent_) {
        auto final_message = scram_->client_final(*data);
        if (!final_message) {
          fail_login(LoginError::protocol,
                     "SCRAM: " + std::string(to_string(final_message.error())));
          return;
        }
        client_final_sent_ = true;
        write(sasl_element("response", base64_encode(*final_message)));
        return;
      }
      // Some servers send the server-final message as a challenge, then
      // <success/> with nothing.
      if (!verify_server(*data)) {
        return;
      }
      write(sasl_element("response", {}));
      return;
    }
    // <success/>
    if (scram_ && !server_verified_) {
      if (!client_final_sent_ || data->empty()) {
        fail_login(LoginError::protocol, "SCRAM: success without the server's signature");
        return;
      }
      if (!verify_server(*data)) {
        return;
      }
    }
    scram_.reset();
    authenticated_ = true;
    parser_.restart();
    open_stream();
  }

  bool verify_server(std::string_view server_final) {
    const auto verified = scram_->verify_server_final(server_final);
    if (!verified) {
      fail_login(
          verified.error() == ScramError::server_error ? LoginError::not_authorized
                                                       : LoginError::protocol,
          "SCRAM: " + std::string(to_string(verified.error())) +
              (scram_->server_error_text().empty() ? "" : ": " + scram_->server_error_text()));
      return false;
    }
    server_verified_ = true;
    return true;
  }

  void on_negotiation_reply(const Stanza& reply) {
    const std::string_view type = reply.attribute("type");
    if (type == "error") {
      const std::string condition = error_condition(reply.child("error", ns::client), ns::stanzas);
      const bool temporary =
          condition == "resource-constraint" ||
          reply.child("error", ns::client).attribute("type").value() == std::string_view("wait");
      fail_login(temporary ? LoginError::unavailable : LoginError::protocol,
                 std::string(step_ == Step::bind ? "bind" : "session") + " refused: " + condition);
      return;
    }
    if (type != "result") {
      return;
    }
    if (step_ == Step::bind) {
      const pugi::xml_node jid = child_element(reply.child("bind", ns::bind), "jid", ns::bind);
      auto bound = Jid::parse(text_of(jid));
      if (!bound || bound->is_bare() || bound->bare() != user_) {
        fail_login(LoginError::protocol,
                   "bind: not a full JID of the user: '" + text_of(jid) + "'");
        return;
      }
      bound_.emplace(std::move(*bound));
      if (session_required_) {
        step_ = Step::session;
        negotiation_id_ = next_id();
        Stanza session("iq");
        session.set_attribute("type", "set");
        session.set_attribute("id", negotiation_id_);
        session.append_child("session", ns::session);
        write(session.xml());
        return;
      }
    }
    logged_in();
  }

  void logged_in() {
    phase_ = Phase::open;
    open_.store(true, std::memory_order_release);
    login_timer_.cancel();
    last_received_ = Clock::now();
    arm_ping();
    Completion<LoginResult> done = std::move(login_done_);
    done(*bound_);
  }

  void fail_login(LoginError error, const std::string& detail) {
    if (phase_ == Phase::open || phase_ == Phase::closing || phase_ == Phase::closed) {
      return;
    }
    password_.clear();
    scram_.reset();
    close_socket();
    if (!detached_ && handlers_.on_login_failed) {
      handlers_.on_login_failed(detail);
    }
    Completion<LoginResult> done = std::move(login_done_);
    done(unexpected(error));
  }

  // -- The open stream ---------------------------------------------------------

  void dispatch(Stanza stanza) {
    if (stanza.xmlns() == ns::client) {
      const std::string_view name = stanza.name();
      if (name == "iq") {
        on_iq(std::move(stanza));
      } else if ((name == "message" || name == "presence") && handlers_.on_stanza) {
        handlers_.on_stanza(std::move(stanza));
      }
      return;
    }
    if (stanza.is("error", ns::stream)) {
      finish(CloseReason{CloseReason::Kind::stream_error, stream_error_detail(stanza)},
             "</stream:stream>", false);
    }
    // Anything else (stream management, ...) is not used here.
  }

  void on_iq(Stanza iq) {
    const std::string_view type = iq.attribute("type");
    if (type == "get" || type == "set") {
      answer(iq);
      return;
    }
    if (type != "result" && type != "error") {
      return;
    }
    const auto found = iqs_.find(std::string(iq.attribute("id")));
    if (found == iqs_.end() || !from_expected(iq.attribute("from"), found->second)) {
      return;  // unknown id, or a reply from someone the request did not go to
    }
    PendingIq pending = std::move(found->second);
    iqs_.erase(found);
    pending.timer->cancel();
    if (type == "result") {
      pending.done(std::move(iq));
      return;
    }
    IqFailure failure{IqFailure::Kind::error_reply,
                      error_condition(iq.child("error", ns::client), ns::stanzas),
                      {}};
    failure.reply = std::move(iq);
    pending.done(unexpected(std::move(failure)));
  }

  void answer(const Stanza& request) {
    const std::string_view id = request.attribute("id");
    const std::string_view from = request.attribute("from");
    std::optional<Stanza> reply;
    if (request.child("ping", ns::ping) && request.attribute("type") == "get") {
      reply.emplace("iq");
      reply->set_attribute("type", "result");
    } else if (handlers_.on_iq_request) {
      reply = handlers_.on_iq_request(request);
    }
    if (!reply || reply->empty()) {
      reply.emplace("iq");
      reply->set_attribute("type", "error");
      pugi::xml_node error = reply->append_child("error");
      error.append_attribute("type").set_value("cancel");
      append_element(error, "service-unavailable", ns::stanzas);
    }
    if (!reply->has_attribute("type")) {
      reply->set_attribute("type", "result");
    }
    if (!reply->has_attribute("id")) {
      reply->set_attribute("id", id);
    }
    if (!reply->has_attribute("to") && !from.empty()) {
      reply->set_attribute("to", from);
    }
    if (phase_ == Phase::open) {
      write(reply->xml());
    }
  }

  struct PendingIq {
    Completion<IqResult> done;
    std::string to;             ///< as the request had it; empty: the account itself
    std::optional<Jid> to_jid;  ///< `to` prepared, when it parses
    std::unique_ptr<net::steady_timer> timer;
  };

  std::string next_id() {
    return id_prefix_ + std::to_string(++id_counter_);
  }

  void start_iq(Stanza stanza, Completion<IqResult> done) {
    const std::string id = next_id();
    stanza.set_attribute("id", id);
    PendingIq pending;
    pending.done = std::move(done);
    pending.to = std::string(stanza.attribute("to"));
    if (!pending.to.empty()) {
      if (auto parsed = Jid::parse(pending.to)) {
        pending.to_jid.emplace(std::move(*parsed));
      }
    }
    pending.timer = std::make_unique<net::steady_timer>(strand_, options_.iq_timeout);
    pending.timer->async_wait([self = shared_from_this(), id](const error_code& ec) {
      if (!ec) {
        self->iq_timed_out(id);
      }
    });
    iqs_.emplace(id, std::move(pending));
    write(stanza.xml());
  }

  void iq_timed_out(const std::string& id) {
    const auto found = iqs_.find(id);
    if (found == iqs_.end()) {
      return;
    }
    Completion<IqResult> done = std::move(found->second.done);
    iqs_.erase(found);
    done(unexpected(IqFailure{IqFailure::Kind::timeout, {}, {}}));
  }

  /// Whether a reply from `from` may answer `pending` (RFC 6120 section
  /// 8.1.2.1: the server answers for the account without a from, or with
  /// the bare JID).
  bool from_expected(std::string_view from, const PendingIq& pending) const {
    const bool to_account =
        pending.to.empty() ||
        (pending.to_jid && (*pending.to_jid == user_ || (bound_ && *pending.to_jid == *bound_)));
    if (from.empty()) {
      return to_account;
    }
    const auto sender = Jid::parse(from);
    if (!sender) {
      return false;
    }
    if (pending.to.empty()) {
      return *sender == user_ || (bound_ && *sender == *bound_) ||
             (sender->local().empty() && sender->resource().empty() &&
              sender->domain() == user_.domain());
    }
    if (pending.to_jid) {
      return *sender == *pending.to_jid || (to_account && *sender == user_);
    }
    return from == pending.to;
  }

  void arm_ping() {
    if (options_.ping_interval <= std::chrono::milliseconds::zero()) {
      return;  // no keepalive
    }
    const auto due = last_received_ + options_.ping_interval;
    ping_timer_.expires_at(std::max(due, Clock::now() + std::chrono::milliseconds(1)));
    ping_timer_.async_wait([self = shared_from_this()](const error_code& ec) {
      if (!ec) {
        self->on_ping_timer();
      }
    });
  }

  void on_ping_timer() {
    if (phase_ != Phase::open) {
      return;
    }
    if (!ping_outstanding_ && Clock::now() - last_received_ >= options_.ping_interval) {
      ping_outstanding_ = true;
      Stanza ping("iq");
      ping.set_attribute("type", "get");
      ping.set_attribute("to", user_.domain());
      ping.append_child("ping", ns::ping);
      start_iq(std::move(ping), [weak = weak_from_this()](IqResult result) {
        auto self = weak.lock();
        if (!self) {
          return;
        }
        self->ping_outstanding_ = false;
        // Any answer, an error too, shows that the server is there.
        if (!result && result.error().kind == IqFailure::Kind::timeout) {
          self->finish(CloseReason{CloseReason::Kind::timeout, "no answer to the keepalive ping"},
                       "</stream:stream>", false);
        }
      });
    }
    arm_ping();
  }

  /// Ends an open stream once: on_closed, pending IQs fail, then `farewell`
  /// is written (if any) and the connection closes when the server ends its
  /// side (`wait_for_server`, within a grace) or as soon as it is written.
  void finish(CloseReason reason, std::string farewell, bool wait_for_server = true) {
    if (phase_ != Phase::open) {
      return;
    }
    phase_ = Phase::closing;
    open_.store(false, std::memory_order_release);
    ping_timer_.cancel();
    auto iqs = std::move(iqs_);
    iqs_.clear();
    for (auto& [id, pending] : iqs) {
      pending.timer->cancel();
      pending.done(unexpected(IqFailure{IqFailure::Kind::closed, {}, {}}));
    }
    if (!farewell.empty() && socket_.is_open()) {
      write(std::move(farewell));
      farewell_sent_ = true;
    }
    if (reason.kind == CloseReason::Kind::connection_lost) {
      close_socket();
    } else if (!wait_for_server) {
      close_after_write_ = true;
      if (!writing_) {
        close_socket();
      }
    } else {
      close_timer_.expires_after(close_grace);
      close_timer_.async_wait([self = shared_from_this()](const error_code& ec) {
        if (!ec) {
          self->close_socket();
        }
      });
    }
    if (!detached_ && handlers_.on_closed) {
      auto on_closed = std::move(handlers_.on_closed);
      handlers_.on_closed = nullptr;
      on_closed(reason);
    }
  }

  net::strand<net::any_io_executor> strand_;
  ClientOptions options_;
  Handlers handlers_;
  tcp::resolver resolver_;
  tcp::socket socket_;
  std::shared_ptr<ssl::context> tls_context_;
  std::unique_ptr<ssl::stream<tcp::socket&>> tls_;
  net::steady_timer login_timer_;
  net::steady_timer ping_timer_;
  net::steady_timer close_timer_;
  StreamParser parser_;
  std::array<char, read_buffer_bytes> read_buffer_{};

  Phase phase_ = Phase::idle;
  Step step_ = Step::features;
  std::atomic<bool> open_{false};
  bool detached_ = false;
  bool reading_ = false;
  bool writing_ = false;
  bool close_after_write_ = false;
  bool farewell_sent_ = false;
  std::string out_;        ///< queued, not yet written
  std::string in_flight_;  ///< being written

  Jid user_ = *Jid::parse("localhost");
  std::string password_;
  std::string resource_;
  Completion<LoginResult> login_done_;
  bool header_seen_ = false;
  bool tls_active_ = false;
  bool authenticated_ = false;
  bool session_required_ = false;
  std::optional<ScramClient> scram_;
  bool client_final_sent_ = false;
  bool server_verified_ = false;
  std::string negotiation_id_;
  std::optional<Jid> bound_;

  std::string id_prefix_;
  std::uint64_t id_counter_ = 0;
  std::unordered_map<std::string, PendingIq> iqs_;
  Clock::time_point last_received_{};
  bool ping_outstanding_ = false;
};

std::shared_ptr<Client> Client::create(boost::asio::any_io_executor executor, ClientOptions options,
                                       Handlers handlers) {
  auto session =
      std::make_shared<Session>(std::move(executor), std::move(options), std::move(handlers));
  return std::shared_ptr<Client>(new Client(std::move(session)));
}

Client::Client(std::shared_ptr<Session> session) : session_(std::move(session)) {}

Client::~Client() {
  session_->post([session = session_] { session->detach(); });
}

void Client::async_login(const Jid& bare_user, std::string password, std::string resource,
                         Completion<LoginResult> done) {
  session_->post([session = session_, user = bare_user, password = std::move(password),
                  resource = std::move(resource), done = std::move(done)]() mutable {
    session->login(user, std::move(password), std::move(resource), std::move(done));
  });
}

void Client::send(Stanza stanza) {
  session_->post(
      [session = session_, xml = stanza.xml()]() mutable { session->send(std::move(xml)); });
}

void Client::send_xml(std::string trusted_xml) {
  session_->post([session = session_, xml = std::move(trusted_xml)]() mutable {
    session->send(std::move(xml));
  });
}

void Client::async_iq(Stanza iq, Completion<IqResult> done) {
  // The lambda must be copyable for Asio: the stanza travels in a shared_ptr.
  auto stanza = std::make_shared<Stanza>(std::move(iq));
  session_->post([session = session_, stanza, done = std::move(done)]() mutable {
    session->iq(std::move(*stanza), std::move(done));
  });
}

void Client::close() {
  session_->post([session = session_] { session->close(); });
}

bool Client::is_open() const {
  return session_->is_open();
}

}  // namespace mimrest::xmpp
