// Account administration: creating users, changing passwords, deleting them.
// Not a capability of the Api (clients never manage accounts through it):
// the ready-made backends offer it to the reference server's user commands
// and to tests. Synchronous, because it runs from a command line or a test,
// never on a request path. Thread-safe.
#pragma once

#include <string_view>
#include <vector>

#include "mimrest/backend/error.hpp"
#include "mimrest/expected.hpp"
#include "mimrest/export.hpp"
#include "mimrest/jid.hpp"

namespace mimrest {

/// Account administration's own ways to fail (besides a Failure).
enum class AccountError {
  invalid_jid,     ///< not a bare user JID (user@domain)
  unknown_domain,  ///< the domain is not one the backend hosts
  already_exists,
  not_found,
};

MIMREST_EXPORT std::string_view to_string(AccountError error) noexcept;
/// A short English description of any account error, Failures included.
MIMREST_EXPORT std::string_view to_string(const Error<AccountError>& error) noexcept;

using AccountResult = Expected<void, Error<AccountError>>;

class MIMREST_EXPORT Accounts {
 public:
  virtual ~Accounts() = default;

  /// Registers a user; the password is stored as SCRAM credentials only.
  virtual AccountResult add_user(const Jid& user, std::string_view password) = 0;
  /// Changes a password; also revokes the user's tokens and cached logins.
  virtual AccountResult set_password(const Jid& user, std::string_view password) = 0;
  /// Deletes an account with its credentials, tokens, roster and archive;
  /// it leaves its rooms as a user leaving would.
  virtual AccountResult remove_user(const Jid& user) = 0;
  /// Every account, sorted.
  virtual Expected<std::vector<Jid>, Error<AccountError>> list_users() = 0;
  virtual Expected<bool, Error<AccountError>> user_exists(const Jid& user) = 0;
};

}  // namespace mimrest
