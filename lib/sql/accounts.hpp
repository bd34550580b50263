// Internal: accounts and their SCRAM credentials.
#pragma once

#include <string_view>
#include <vector>

#include "mimrest/backend/reference_backend.hpp"
#include "mimrest/password_verifier.hpp"
#include "mimrest/scram_credentials.hpp"
#include "mimrest/verification_cache.hpp"
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

/// The password check of a store that other processes change too (SQLite:
/// mimrest-server's user commands run beside the server, with no way to tell
/// it): the stored credentials are read on every check (one indexed read),
/// so a changed password or a removed account takes effect at the next
/// request; the slow PBKDF2 is paid once per user, password and stored
/// credentials (a CachingPasswordVerifier whose key covers all three). An
/// unknown user costs the same work as a wrong password.
class CurrentCredentialsVerifier final : public PasswordVerifier {
 public:
  CurrentCredentialsVerifier(ScramCredentialStore& store, unsigned dummy_iterations);
  void async_verify(const Jid& user, std::string_view password,
                    Completion<VerifyResult> done) override;

 private:
  /// Checks a password given together with the credentials it is checked
  /// against (so that the cache's key covers them).
  class Check final : public SyncPasswordVerifier<NullMutex> {
   public:
    VerifyResult verify(const Jid& user, std::string_view credentials_and_password) override;
  };

  ScramCredentialStore& store_;
  ScramCredentials dummy_;
  Check check_;
  CachingPasswordVerifier cache_;
};

/// Account administration (ReferenceBackend), blocking until committed.
/// `forget_logins` runs after a committed password change or deletion.
class AccountTable {
 public:
  AccountTable(Store& store, const Hosting& hosting, std::function<void(const Jid&)> forget_logins)
      : store_(store), hosting_(hosting), forget_logins_(std::move(forget_logins)) {}

  AccountResult add_user(const Jid& user, std::string_view password);
  AccountResult set_password(const Jid& user, std::string_view password);
  AccountResult remove_user(const Jid& user);
  Expected<std::vector<Jid>, Error<AccountError>> list_users();
  Expected<bool, Error<AccountError>> user_exists(const Jid& user);

 private:
  /// invalid_jid or unknown_domain for a JID that cannot be an account.
  std::optional<AccountError> check(const Jid& user) const;

  Store& store_;
  const Hosting& hosting_;
  std::function<void(const Jid&)> forget_logins_;
};

}  // namespace mimrest::sql::detail
