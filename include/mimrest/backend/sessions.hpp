// Live sessions: how an open GET /sse connection makes the user online and
// receives the stanzas routed to them.
#pragma once

#include <memory>
#include <string_view>

#include "mimrest/jid.hpp"

namespace mimrest {

/// Receives stanzas routed to one session. deliver() may be called from any
/// thread, concurrently with itself: implementations must be thread-safe and
/// must not block for long (no network writes under a backend lock).
class StanzaSink {
 public:
  virtual ~StanzaSink() = default;
  /// One serialized <message/> stanza, `from` and `to` as routed.
  virtual void deliver(std::string_view stanza_xml) = 0;
};

/// An open session. Destroying it closes the session: no more deliveries
/// start after the destructor returns.
class Session {
 public:
  virtual ~Session() = default;
};

/// Opens sessions. Thread-safe.
class SessionManager {
 public:
  virtual ~SessionManager() = default;
  /// Opens a session for `full_jid` (user@domain/sse-<uuid>) that delivers to
  /// `sink` until the returned Session is destroyed.
  virtual std::unique_ptr<Session> open_session(const Jid& full_jid,
                                                std::shared_ptr<StanzaSink> sink) = 0;
};

}  // namespace mimrest
