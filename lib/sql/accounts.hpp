// Internal: accounts and their SCRAM credentials.
#pragma once

#include <string_view>
#include <vector>

#include "mimrest/backend/reference_backend.hpp"
#include "mimrest/scram_credentials.hpp"
#include "sql/hosting.hpp"
#include "sql/store.hpp"

namespace mimrest::sql::detail {

/// Looks credentials up on a reader thread; a JID that cannot be a local
/// account is answered at once (nullopt), without a query.
class SqlCredentialStore final : public ScramCredentialStore {
 public:
  SqlCredentialStore(Store& store, const Hosting& hosting) : store_(store), hosting_(hosting) {}
  void async_find(const Jid& user, Completion<CredentialsResult> done) override;

 private:
  Store& store_;
  const Hosting& hosting_;
};

/// Account administration (ReferenceBackend), blocking until committed.
/// `forget_logins` runs after a committed password change or deletion.
class Accounts {
 public:
  Accounts(Store& store, const Hosting& hosting, std::function<void(const Jid&)> forget_logins)
      : store_(store), hosting_(hosting), forget_logins_(std::move(forget_logins)) {}

  Expected<void, AccountError> add_user(const Jid& user, std::string_view password);
  Expected<void, AccountError> set_password(const Jid& user, std::string_view password);
  Expected<void, AccountError> remove_user(const Jid& user);
  Expected<std::vector<Jid>, AccountError> list_users();
  Expected<bool, AccountError> user_exists(const Jid& user);

 private:
  /// invalid_jid or unknown_domain for a JID that cannot be an account.
  std::optional<AccountError> check(const Jid& user) const;

  Store& store_;
  const Hosting& hosting_;
  std::function<void(const Jid&)> forget_logins_;
};

}  // namespace mimrest::sql::detail
