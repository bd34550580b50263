// What the ready-made backends (memory, sql) have in common beyond the
// interfaces of Backend: account administration for mimrest-server's user
// commands and for tests. Synchronous, because it runs from a command line
// or a test, never on a request path. Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mimrest/backend/backend.hpp"
#include "mimrest/expected.hpp"
#include "mimrest/jid.hpp"

namespace mimrest {

/// What the ready-made backends host, and how.
struct HostingConfig {
  /// Local domains (prepared); users may only live here.
  std::vector<std::string> domains = {"localhost"};
  bool muc_light_enabled = true;
  /// MUC Light service per user domain; "@HOST@" stands for the domain.
  std::string muc_light_host = "muclight.@HOST@";
  bool all_can_configure = false;
  /// Cap on the number of archived messages one read returns.
  std::size_t max_result_limit = 50;
  /// PBKDF2 iterations for stored passwords.
  unsigned password_iterations = 4096;
  /// Current time in microseconds since the epoch (system clock if empty).
  std::function<std::int64_t()> now_us;
};

/// The MUC Light service of `user_domain` under `pattern` ("@HOST@" replaced
/// by the domain, then prepared as a domain); nullopt when that is not a
/// valid domain.
std::optional<std::string> muc_light_service(std::string_view pattern,
                                             std::string_view user_domain);

enum class AccountError {
  invalid_jid,     ///< not a bare user JID (user@domain)
  unknown_domain,  ///< the domain is not one the backend hosts
  already_exists,
  not_found,
  internal,     ///< a storage fault
  unavailable,  ///< the storage cannot be reached
};

std::string_view to_string(AccountError error) noexcept;

class ReferenceBackend {
 public:
  virtual ~ReferenceBackend() = default;

  /// The interfaces, for an Api. Valid as long as this object.
  virtual Backend backend() = 0;

  /// Registers a user; the password is stored as SCRAM credentials only.
  virtual Expected<void, AccountError> add_user(const Jid& user, std::string_view password) = 0;
  /// Changes a password; also revokes the user's tokens and cached logins.
  virtual Expected<void, AccountError> set_password(const Jid& user, std::string_view password) = 0;
  /// Deletes an account with its credentials, tokens, roster and archive;
  /// it leaves its rooms as a user leaving would.
  virtual Expected<void, AccountError> remove_user(const Jid& user) = 0;
  /// Every account, sorted.
  virtual Expected<std::vector<Jid>, AccountError> list_users() = 0;
  virtual Expected<bool, AccountError> user_exists(const Jid& user) = 0;

  /// Open sessions of a user (every resource) on this process, for
  /// monitoring and tests.
  virtual std::size_t session_count(const Jid& user) const = 0;
};

}  // namespace mimrest
