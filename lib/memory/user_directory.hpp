// Internal: the accounts of the in-memory backend and their SCRAM credentials.
#pragma once

#include <cstdint>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "mimrest/backend/reference_backend.hpp"
#include "mimrest/expected.hpp"
#include "mimrest/jid.hpp"
#include "mimrest/scram_credentials.hpp"

namespace mimrest::memory::detail {

/// Accounts on the local domains. Thread-safe: one shared_mutex guards the
/// account table; the slow PBKDF2 derivation always runs outside it.
class UserDirectory final : public SyncScramCredentialStore<NullMutex> {
 public:
  UserDirectory(const std::vector<std::string>& domains, unsigned password_iterations);

  AccountResult add_user(const Jid& user, std::string_view password);
  AccountResult set_password(const Jid& user, std::string_view password);
  bool exists(const Jid& user) const;
  /// Whether `domain` (prepared) is one of the local domains. Lock-free: the
  /// domain list never changes after construction.
  bool is_local_domain(std::string_view domain) const;
  /// Bumped on every password change; 0 for an unknown user.
  std::uint64_t credentials_version(const Jid& user) const;

  AccountResult remove_user(const Jid& user);
  /// Every account, sorted.
  std::vector<Jid> list() const;

  CredentialsResult find(const Jid& user) override;

 private:
  struct Account {
    ScramCredentials credentials;
    std::uint64_t version = 1;
  };

  std::unordered_set<std::string> domains_;
  unsigned iterations_;
  mutable std::shared_mutex mutex_;
  std::unordered_map<Jid, Account> accounts_;  // keys are bare JIDs
};

}  // namespace mimrest::memory::detail
