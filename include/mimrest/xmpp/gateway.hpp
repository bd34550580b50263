// The XMPP gateway: every backend interface over client-to-server XMPP
// sessions to an existing, unmodified server (Prosody, ejabberd, any RFC
// 6120/6121 server with MAM and MUC), so that the client REST API fronts it
// and a MongooseIM frontend talks to people on ordinary XMPP clients.
//
//   mimrest::xmpp::GatewayConfig config;
//   config.host = "127.0.0.1";  config.port = 5222;  config.domains = {"example.com"};
//   auto gateway = mimrest::xmpp::Gateway::open(config);   // or a message why not
//   mimrest::Api api(api_config, (*gateway)->backend());
//
// A REST user's Basic credentials are checked by logging in to the server as
// that user; the session is kept (one XMPP stream per active user, whatever
// the number of REST clients) and reused by later requests with the same
// credentials, and closed after `idle_timeout` without a request or an open
// event stream. The password is never stored: only a keyed hash of the
// credentials, to recognise them. Operations complete on the gateway's own
// threads. docs/api.md ("XMPP gateway") is the behaviour; lib/xmpp/README.md
// maps every operation and lists what differs from MongooseIM.
//
// Thread-safety: every member and every interface of backend() may be
// called concurrently from any thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "mimrest/backend/backend.hpp"
#include "mimrest/backend/session_monitor.hpp"
#include "mimrest/expected.hpp"
#include "mimrest/export.hpp"
#include "mimrest/jid.hpp"

namespace mimrest::xmpp {

struct MIMREST_EXPORT GatewayConfig {
  /// The XMPP server's client (c2s) listener.
  std::string host = "127.0.0.1";
  std::uint16_t port = 5222;
  /// required: STARTTLS with the certificate verified for the user's domain
  /// (against `ca_file`, or the system's store when empty); none: plain TCP.
  enum class Tls { required, none } tls = Tls::required;
  std::string ca_file;
  /// The server's domains (users live there). Others are refused as unknown.
  std::vector<std::string> domains = {"localhost"};
  /// The room service of a user's domain; "@HOST@" stands for the domain.
  /// Empty: no rooms (the room routes answer "MUC Light server not found").
  std::string muc_service = "conference.@HOST@";
  /// A session with no request and no open event stream for this long is
  /// closed.
  std::chrono::seconds idle_timeout{300};
  /// At most this many XMPP sessions at once; beyond, the least recently used
  /// idle one is closed, or the login answers unavailable.
  std::size_t max_sessions = 10000;
  /// A login (connect to bound resource) and any request to the server must
  /// finish within these, or the request answers 503.
  std::chrono::milliseconds login_timeout{8000};
  std::chrono::milliseconds request_timeout{8000};
  /// A session the server sends nothing on is pinged after this long (a
  /// silent server is found out within it plus request_timeout).
  std::chrono::milliseconds keepalive{60000};
  /// The largest stanza accepted from the server; a bigger one ends that
  /// session only.
  std::size_t max_stanza_bytes = 1 << 20;
  /// Cap on the messages of one archive read.
  std::size_t max_result_limit = 50;
  /// Threads running every session's I/O (no thread per session).
  unsigned threads = 2;
  /// One line per event worth an operator's attention (a server's error
  /// condition, a lost stream); stderr when empty. Never a password.
  std::function<void(std::string_view)> log;
};

class MIMREST_EXPORT Gateway final : public SessionMonitor {
 public:
  /// Checks the configuration (and loads the CA file) and starts the
  /// threads; a message saying why when it cannot. Connects to nothing yet.
  static Expected<std::unique_ptr<Gateway>, std::string> open(GatewayConfig config);
  /// stop(), then waits for the threads.
  ~Gateway() override;
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  /// The interfaces, for an Api: passwords, router, archive, roster, rooms
  /// (muc_light), sessions (event streams) and tokens. Valid as long as this
  /// object.
  Backend backend();

  /// Closes every XMPP stream (their event streams end); later logins fail.
  void stop();

  /// The event streams open for `user` (each one is, for the API, a session
  /// of its own, as MongooseIM counts them); they share the user's one XMPP
  /// session.
  std::size_t session_count(const Jid& user) const override;
  /// XMPP sessions open now.
  std::size_t open_sessions() const;

  struct Impl;

 private:
  explicit Gateway(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace mimrest::xmpp
