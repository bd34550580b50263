// Internal: the open sessions of the in-memory backend, keyed by bare JID.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "mimrest/backend/sessions.hpp"
#include "mimrest/jid.hpp"

namespace mimrest::memory::detail {

/// One open session as the delivery side sees it. `open` is cleared when the
/// Session is destroyed, so a delivery snapshot taken earlier skips it.
struct SessionEntry {
  std::uint64_t id = 0;
  std::shared_ptr<StanzaSink> sink;
  std::atomic<bool> open{true};
};

/// The sinks of one user at one moment, delivered to with no lock held.
class DeliveryList {
 public:
  void add(std::shared_ptr<SessionEntry> entry) { entries_.push_back(std::move(entry)); }
  bool empty() const noexcept { return entries_.empty(); }
  /// Calls deliver() on every session still open. Call with no backend lock.
  void deliver(const RoutedStanzaPtr& stanza) const;

 private:
  std::vector<std::shared_ptr<SessionEntry>> entries_;
};

/// Registry of sessions. Thread-safe: one mutex guards the table and is never
/// held while a sink runs, so a sink may open or close sessions (even its own)
/// and a Session may be destroyed while a delivery to it is in progress. A
/// delivery that had already passed the `open` check when the Session was
/// destroyed may still complete; none starts later than that.
class SessionRegistry final : public SyncSessionManager<NullMutex> {
 public:
  SessionRegistry();
  ~SessionRegistry() override;

  OpenSessionResult open_session(const Caller& full_jid, std::shared_ptr<StanzaSink> sink) override;
  /// The open sessions of `user` (any resource).
  DeliveryList sessions_of(const Jid& user) const;
  std::size_t session_count(const Jid& user) const;

 private:
  class SessionHandle;
  struct Table;

  // Shared with every handle, so that a Session outliving the registry is
  // still safe to destroy.
  std::shared_ptr<Table> table_;
};

}  // namespace mimrest::memory::detail
