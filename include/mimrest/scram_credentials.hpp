// Passwords stored as SCRAM-SHA-256 credentials (RFC 5802 / RFC 7677), the
// way XMPP servers keep them, and a verifier that checks against them.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "mimrest/backend/error.hpp"
#include "mimrest/backend/sync.hpp"
#include "mimrest/completion.hpp"
#include "mimrest/expected.hpp"
#include "mimrest/export.hpp"
#include "mimrest/jid.hpp"
#include "mimrest/password_verifier.hpp"

namespace mimrest {

/// What a server stores instead of the password. Byte strings, not base64.
struct MIMREST_EXPORT ScramCredentials {
  std::string salt;
  unsigned iterations = 0;
  std::string stored_key;  ///< SHA-256(HMAC(SaltedPassword, "Client Key"))
  std::string server_key;  ///< HMAC(SaltedPassword, "Server Key")
};

/// Derives credentials with PBKDF2-HMAC-SHA256 and a fresh random 16-byte salt.
MIMREST_EXPORT ScramCredentials make_scram_credentials(std::string_view password,
                                                       unsigned iterations = 4096);
/// The same with a given salt (tests, migrations).
MIMREST_EXPORT ScramCredentials make_scram_credentials(std::string_view password,
                                                       std::string_view salt, unsigned iterations);

/// Whether `password` matches; the final comparison is constant-time.
MIMREST_EXPORT bool check_scram_password(const ScramCredentials& credentials,
                                         std::string_view password);

using CredentialsResult = Expected<std::optional<ScramCredentials>, Failure>;

/// Where the host keeps stored credentials: nullopt for an unknown user or
/// domain. The lookup finishes through its Completion (completion.hpp):
/// exactly once, inline or later, from any thread; the JID is valid only
/// during the call. Called concurrently from many threads.
class MIMREST_EXPORT ScramCredentialStore {
 public:
  virtual ~ScramCredentialStore() = default;
  virtual void async_find(const Jid& user, Completion<CredentialsResult> done) = 0;
};

/// For a store that answers at once: override find(). Calls are serialised
/// by `Mutex` (NullMutex when find() is thread-safe itself); an exception it
/// throws is answered as Failure::internal.
template <class Mutex = std::mutex>
class SyncScramCredentialStore : public ScramCredentialStore, protected SyncCalls<Mutex> {
 public:
  virtual CredentialsResult find(const Jid& user) = 0;
  void async_find(const Jid& user, Completion<CredentialsResult> done) final {
    this->complete(done, [&] { return find(user); });
  }
};

/// A PasswordVerifier over stored SCRAM credentials. An unknown user is
/// checked against a dummy credential with `dummy_iterations` PBKDF2
/// iterations (use the iteration count the store uses), so that it costs the
/// same time as a wrong password and the answer cannot tell them apart. The
/// hashing runs on the thread that completes the store's lookup.
class MIMREST_EXPORT ScramPasswordVerifier final : public PasswordVerifier {
 public:
  explicit ScramPasswordVerifier(ScramCredentialStore& store, unsigned dummy_iterations = 4096);
  void async_verify(const Jid& user, std::string_view password,
                    Completion<VerifyResult> done) override;
  /// How many checks ran against the dummy credential (unknown users): for
  /// tests and monitoring.
  std::uint64_t dummy_checks() const noexcept;

 private:
  ScramCredentialStore& store_;
  ScramCredentials dummy_;
  std::shared_ptr<std::atomic<std::uint64_t>> dummy_checks_;
};

}  // namespace mimrest
