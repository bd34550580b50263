// The reference in-memory backend: users, routing, archive (MAM semantics),
// rosters (RFC 6121), MUC Light rooms, live sessions, Bearer tokens and the
// event log of resumable streams, all thread-safe. Used by the tests and as
// the simplest model of a backend: every part derives from a synchronous
// base (SyncRoster, SyncMucLight, ...), so each operation completes inline.
//
// Thread-safety: every member function and every interface handed out by
// backend() may be called concurrently. Each part has its own mutex
// (accounts, sessions, one-to-one archives, rosters, rooms, tokens);
// stanzas are delivered to StanzaSinks after those mutexes are released, so
// a sink may call back into the backend, and a Session may be destroyed
// while a delivery to it runs on another thread (a delivery already under
// way may complete).
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>
#include <vector>

#include "mimrest/backend/backend.hpp"
#include "mimrest/backend/reference_backend.hpp"
#include "mimrest/expected.hpp"
#include "mimrest/export.hpp"
#include "mimrest/jid.hpp"

namespace mimrest::memory {

using MemoryBackendConfig = HostingConfig;

class MIMREST_EXPORT MemoryBackend final : public ReferenceBackend {
 public:
  explicit MemoryBackend(MemoryBackendConfig config = {});
  ~MemoryBackend() override;
  MemoryBackend(const MemoryBackend&) = delete;
  MemoryBackend& operator=(const MemoryBackend&) = delete;

  /// The interfaces, for Api. Valid as long as this object.
  Backend backend() override;

  AccountResult add_user(const Jid& user, std::string_view password) override;
  AccountResult set_password(const Jid& user, std::string_view password) override;
  AccountResult remove_user(const Jid& user) override;
  Expected<std::vector<Jid>, Error<AccountError>> list_users() override;
  Expected<bool, Error<AccountError>> user_exists(const Jid& user) override;
  std::size_t session_count(const Jid& user) const override;

  const MemoryBackendConfig& config() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mimrest::memory
