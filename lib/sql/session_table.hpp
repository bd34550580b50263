// Internal: the sessions open on this process, keyed by bare JID.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "core/detail/test_export.hpp"
#include "mimrest/backend/sessions.hpp"
#include "mimrest/jid.hpp"

namespace mimrest::sql::detail {

/// One open session as deliveries see it; `open` is cleared when its Session
/// is destroyed, so a snapshot taken earlier skips it.
struct SessionEntry {
  std::uint64_t id = 0;
  std::shared_ptr<StanzaSink> sink;
  std::atomic<bool> open{true};
};

/// Told of every session that opens and closes (the Dispatcher follows the
/// streams of the users with sessions here).
class SessionWatcher {
 public:
  virtual ~SessionWatcher() = default;
  /// A session of `user` (bare) is opening; `ready(true)` once deliveries
  /// to it may start, `ready(false)` when it cannot open now. May call back
  /// at once, on this thread.
  virtual void opening(const Jid& user, std::function<void(bool)> ready) = 0;
  /// A session of `user` closed (also one whose opening failed).
  virtual void closed(const Jid& user) = 0;
};

/// Thread-safe. The mutex guards the table only and is never held while a
/// sink runs: a sink may open or close sessions, even its own.
class MIMREST_TEST_EXPORT SessionTable final : public SessionManager {
 public:
  SessionTable();
  ~SessionTable() override;
  SessionTable(const SessionTable&) = delete;
  SessionTable& operator=(const SessionTable&) = delete;

  void async_open_session(const Caller& full_jid, std::shared_ptr<StanzaSink> sink,
                          Completion<OpenSessionResult> done) override;

  /// The open sessions of `user` (bare), appended to `out`.
  void sessions_of(const Jid& user, std::vector<std::shared_ptr<SessionEntry>>& out) const;
  bool has_sessions(const Jid& user) const;
  /// Whether any session is open (a cheap check before fetching rows).
  bool empty() const noexcept { return open_count_->load() == 0; }
  std::size_t session_count(const Jid& user) const;
  /// Tells `watcher` of sessions from now on; nullptr: no more (before the
  /// watcher goes: sessions may close after the table).
  void watch(SessionWatcher* watcher);

 private:
  class Handle;
  struct Table;
  std::shared_ptr<Table> table_;
  std::shared_ptr<std::atomic<std::size_t>> open_count_;
};

}  // namespace mimrest::sql::detail
