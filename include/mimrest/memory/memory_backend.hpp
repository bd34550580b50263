// The reference in-memory backend: users, routing, archive (MAM semantics),
// rosters (RFC 6121), MUC Light rooms and live sessions, all thread-safe.
// Used by the reference server and the tests, and a model for hosts writing
// their own backend.
//
// Thread-safety: every member function and every interface handed out by
// backend() may be called concurrently. Each part has its own mutex
// (accounts, sessions, one-to-one archives, rosters, rooms); stanzas are
// delivered to StanzaSinks after those mutexes are released, so a sink may
// call back into the backend, and a Session may be destroyed while a delivery
// to it runs on another thread (a delivery already under way may complete).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "mimrest/backend/backend.hpp"
#include "mimrest/expected.hpp"
#include "mimrest/jid.hpp"

namespace mimrest::memory {

struct MemoryBackendConfig {
  /// Local domains; users may only live here.
  std::vector<std::string> domains = {"localhost"};
  bool muc_light_enabled = true;
  /// MUC Light service per user domain, "@HOST@" replaced by the domain.
  std::string muc_light_host = "muclight.@HOST@";
  bool all_can_configure = false;
  /// Cap on the number of archived messages one read returns.
  std::size_t max_result_limit = 50;
  /// PBKDF2 iterations for stored passwords.
  unsigned password_iterations = 4096;
  /// Current time in microseconds since the epoch; replaceable for tests.
  std::function<std::int64_t()> now_us;
};

enum class UserError { invalid_jid, unknown_domain, already_exists, not_found };

class MemoryBackend {
 public:
  explicit MemoryBackend(MemoryBackendConfig config = {});
  ~MemoryBackend();
  MemoryBackend(const MemoryBackend&) = delete;
  MemoryBackend& operator=(const MemoryBackend&) = delete;

  /// Registers a user on a local domain; the password is stored as SCRAM
  /// credentials, never in plain text.
  Expected<void, UserError> add_user(const Jid& user, std::string_view password);
  Expected<void, UserError> set_password(const Jid& user, std::string_view password);
  bool user_exists(const Jid& user) const;

  /// The interfaces, for Api. Valid as long as this object.
  Backend backend();

  /// Number of open sessions of a user (all resources), for monitoring and tests.
  std::size_t session_count(const Jid& user) const;

  const MemoryBackendConfig& config() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mimrest::memory
