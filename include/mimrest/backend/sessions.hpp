// Live sessions: how an open GET /sse connection makes the user online and
// receives the stanzas routed to them. The asynchronous interface and its
// synchronous base.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "mimrest/backend/caller.hpp"
#include "mimrest/backend/error.hpp"
#include "mimrest/backend/sync.hpp"
#include "mimrest/completion.hpp"
#include "mimrest/expected.hpp"
#include "mimrest/export.hpp"
#include "mimrest/jid.hpp"

namespace mimrest {

/// One stanza as routed to sessions. Immutable once made, so a backend that
/// broadcasts (a room message to every occupant) makes ONE and delivers the
/// same object to every sink; sinks may then share the work of converting it
/// (the SSE streams convert it to JSON once for all of them).
class MIMREST_EXPORT RoutedStanza {
 public:
  /// `sequence`: where the stanza stands in the backend's archive order
  /// (0 when it was not archived); resumable event streams use it.
  static std::shared_ptr<const RoutedStanza> make(std::string xml, std::uint64_t sequence = 0);

  RoutedStanza(std::string xml, std::uint64_t sequence);
  ~RoutedStanza();
  RoutedStanza(const RoutedStanza&) = delete;
  RoutedStanza& operator=(const RoutedStanza&) = delete;

  /// One serialized <message/>. For a room broadcast it may be addressed to
  /// the room rather than to each occupant: sinks must not rely on `to`.
  const std::string& xml() const noexcept { return xml_; }
  std::uint64_t sequence() const noexcept { return sequence_; }

  /// Storage for what sinks derive from the stanza, computed once (used by
  /// the core's SSE streams; opaque to backends).
  struct Derived;
  Derived& derived() const noexcept { return *derived_; }

 private:
  std::string xml_;
  std::uint64_t sequence_;
  std::unique_ptr<Derived> derived_;
};

using RoutedStanzaPtr = std::shared_ptr<const RoutedStanza>;

/// Receives stanzas routed to one session. deliver() may be called from any
/// thread, concurrently with itself; implementations are thread-safe and
/// return quickly (the core's SSE stream only appends to a queue), so a
/// backend may call it for thousands of sinks in a row. Call it with no
/// backend lock held that the sink's owner could need.
class MIMREST_EXPORT StanzaSink {
 public:
  virtual ~StanzaSink() = default;
  virtual void deliver(const RoutedStanzaPtr& stanza) = 0;
  /// The session ended on the backend's side (a connection to another
  /// server lost): nothing more will be delivered, and the stream that
  /// receives should end so that its client reconnects. Called at most once,
  /// from any thread; the default does nothing.
  virtual void end() {}
};

/// An open session. Destroying it closes the session: no more deliveries
/// start after the destructor returns (one already under way may finish).
/// It may be destroyed from any thread, also after the SessionManager.
class MIMREST_EXPORT Session {
 public:
  virtual ~Session() = default;
};

using OpenSessionResult = Expected<std::unique_ptr<Session>, Failure>;

/// Opens sessions. The operation finishes through its Completion
/// (completion.hpp): exactly once, inline or later, from any thread. The JIDs
/// are valid only during the call; the sink is the implementation's to keep.
/// Called concurrently from many threads.
class MIMREST_EXPORT SessionManager {
 public:
  virtual ~SessionManager() = default;
  /// Opens a session for `full_jid` (the caller's bare JID with the resource
  /// sse-<uuid>, and what the caller's login established) that delivers to
  /// `sink` until the returned Session is destroyed.
  virtual void async_open_session(const Caller& full_jid, std::shared_ptr<StanzaSink> sink,
                                  Completion<OpenSessionResult> done) = 0;
};

/// For a session manager that answers at once: override open_session(). Calls
/// are serialised by `Mutex` (NullMutex when the function is thread-safe
/// itself); an exception it throws is answered as Failure::internal.
template <class Mutex = std::mutex>
class SyncSessionManager : public SessionManager, protected SyncCalls<Mutex> {
 public:
  virtual OpenSessionResult open_session(const Caller& full_jid,
                                         std::shared_ptr<StanzaSink> sink) = 0;
  void async_open_session(const Caller& full_jid, std::shared_ptr<StanzaSink> sink,
                          Completion<OpenSessionResult> done) final {
    this->complete(done, [&] { return open_session(full_jid, std::move(sink)); });
  }
};

}  // namespace mimrest
