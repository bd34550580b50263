// A client-to-server XMPP session (RFC 6120) on Boost.Asio: connect, STARTTLS,
// SASL, resource binding, then stanzas both ways, IQ requests matched to
// their replies, keepalive pings and a graceful close. One Client per logged
// in user; many thousands share a few threads, each Client on a strand of its
// own over a shared executor. No call blocks.
//
// Thread-safety: every public member may be called from any thread at any
// time. Work is posted to the client's strand, so calls from one thread take
// effect in the order they were made.
//
// Callbacks: handlers and completions run on the client's strand (never
// inside a public member's call), one at a time: they must not block. They
// may call any member of the client. Each Completion is called exactly once.
//
// Lifetime: create() returns the only owner. Pending operations keep the
// session's state alive, not the Client: when the last shared_ptr to the
// Client goes, the session is closed as by close(), pending completions are
// called (login: unavailable, IQs: closed), and no handler is called any
// more (on_closed neither). So a handler may hold a weak_ptr to its Client,
// never a shared_ptr (that would keep the session open until the server ends
// it).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/any_io_executor.hpp>

#include "core/detail/test_export.hpp"
#include "mimrest/completion.hpp"
#include "mimrest/expected.hpp"
#include "mimrest/jid.hpp"
#include "xmpp/stanza.hpp"

namespace boost::asio::ssl {
class context;
}

namespace mimrest::xmpp {

struct MIMREST_TEST_EXPORT ClientOptions {
  /// TCP host (IP literal or name) of the server's c2s listener.
  std::string host;
  std::uint16_t port = 5222;
  /// required: STARTTLS, the certificate verified for the user's domain
  /// (RFC 6125 DNS-ID, SNI sent); none: plain TCP (loopback test servers).
  enum class Tls { required, none } tls = Tls::required;
  /// PEM bundle of trusted CAs; empty: OpenSSL's default verify paths.
  /// Ignored when tls_context is set.
  std::string ca_file;
  /// A context made by make_tls_context(), shared by many clients (loading a
  /// CA bundle per login costs time and memory). Null: the client makes one
  /// from ca_file at each login.
  std::shared_ptr<boost::asio::ssl::context> tls_context;
  /// From connecting to the bound resource, as a whole.
  std::chrono::milliseconds login_timeout{10000};
  std::chrono::milliseconds iq_timeout{10000};
  /// After this long without a byte from the server, a XEP-0199 ping is sent
  /// to it; no answer within iq_timeout ends the stream (CloseReason::timeout).
  /// Zero: no keepalive.
  std::chrono::milliseconds ping_interval{60000};
  /// Cap of one element from the server (bigger: CloseReason::too_large).
  std::size_t max_stanza_bytes = 1 << 20;
};

/// A TLS client context for ClientOptions::tls_context: TLS 1.2 at least,
/// peer verification against `ca_file` (empty: OpenSSL's default paths).
/// The error names the file when it cannot be loaded.
MIMREST_TEST_EXPORT Expected<std::shared_ptr<boost::asio::ssl::context>, std::string>
make_tls_context(const std::string& ca_file);

enum class LoginError {
  not_authorized,  ///< the server refused the credentials (SASL failure)
  unavailable,     ///< unreachable, timeout, TLS or certificate failure, stream error, temporary
                   ///< auth failure, closed meanwhile
  protocol,        ///< the server said something that makes no sense here
};

MIMREST_TEST_EXPORT std::string_view to_string(LoginError error) noexcept;

/// The bound full JID.
using LoginResult = Expected<Jid, LoginError>;

struct MIMREST_TEST_EXPORT IqFailure {
  enum class Kind {
    error_reply,  ///< the reply is type="error"; `condition` is its defined condition
    timeout,      ///< no reply within ClientOptions::iq_timeout
    closed,       ///< the stream is closed (or was never open)
  } kind = Kind::closed;
  std::string condition;  ///< e.g. "item-not-found"; empty unless error_reply
  Stanza reply;           ///< the error reply, for error_reply

  /// For logs: the condition, or what happened instead of a reply.
  std::string what() const {
    switch (kind) {
      case Kind::error_reply:
        return condition.empty() ? "error reply" : condition;
      case Kind::timeout:
        return "no reply in time";
      case Kind::closed:
        break;
    }
    return "stream closed";
  }
};

/// The type="result" reply.
using IqResult = Expected<Stanza, IqFailure>;

struct MIMREST_TEST_EXPORT CloseReason {
  enum class Kind {
    closed_by_us,      ///< close()
    closed_by_server,  ///< the server ended the stream (</stream:stream>)
    stream_error,      ///< <stream:error/>; detail: its condition, then its text if any
    malformed,         ///< the server's XML broke the rules (not-well-formed, restricted...)
    too_large,         ///< an element beyond max_stanza_bytes (or nested too deep)
    connection_lost,   ///< the TCP connection or TLS failed, or the server went away
    timeout,           ///< the keepalive ping was not answered
  } kind = Kind::closed_by_us;
  std::string detail;
};

MIMREST_TEST_EXPORT std::string_view to_string(CloseReason::Kind kind) noexcept;

class MIMREST_TEST_EXPORT Client : public std::enable_shared_from_this<Client> {
 public:
  struct Handlers {
    /// Each <message/> and <presence/> the server sends after login.
    std::function<void(Stanza)> on_stanza;
    /// An iq of type get or set from the server (a roster push, ...) other
    /// than a ping, which the client answers itself. Returns the reply: its
    /// id, to and type (result) are filled in when missing. nullopt (or no
    /// handler): the client answers service-unavailable.
    std::function<std::optional<Stanza>(const Stanza&)> on_iq_request;
    /// Once, when a stream that logged in ends, whatever ends it.
    std::function<void(const CloseReason&)> on_closed;
    /// Once, when a login fails, just before its completion: what went
    /// wrong in a few English words with the XMPP condition if there was one
    /// ("SASL failure: not-authorized", "TLS handshake: ..."), for logs. Never
    /// holds the password.
    std::function<void(const std::string&)> on_login_failed;
  };

  static std::shared_ptr<Client> create(boost::asio::any_io_executor executor,
                                        ClientOptions options, Handlers handlers);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  /// Connects and logs in as `bare_user` (its domain is the XMPP domain, the
  /// name the certificate must carry), binding `resource` (empty: the server
  /// picks one). Once per Client: a second call completes with unavailable.
  /// The password is kept only until the SASL exchange has used it.
  void async_login(const Jid& bare_user, std::string password, std::string resource,
                   Completion<LoginResult> done);

  /// Sends a stanza once logged in (dropped otherwise).
  void send(Stanza stanza);
  /// Sends text as it is: trusted, well-formed XML built elsewhere (dropped
  /// too unless logged in).
  void send_xml(std::string trusted_xml);

  /// Sends an iq (type get or set) under a fresh id and completes with its
  /// reply: the result, an error reply, a timeout or the stream's end. The
  /// reply must come from the iq's `to` (compared as JIDs) or, when it has
  /// none, from the user's account (no from, the bare or full JID) or the
  /// user's server; a reply from anyone else is ignored.
  void async_iq(Stanza iq, Completion<IqResult> done);

  /// Graceful close: </stream:stream>, then the connection closes when the
  /// server answers in kind or after a short grace. During a login, the login
  /// completes with unavailable.
  void close();

  /// Logged in and not closed (nor closing).
  bool is_open() const;

 private:
  class Session;
  explicit Client(std::shared_ptr<Session> session);
  std::shared_ptr<Session> session_;
};

}  // namespace mimrest::xmpp
