// Passwords stored as SCRAM-SHA-256 credentials (RFC 5802 / RFC 7677), the
// way XMPP servers keep them, and a verifier that checks against them.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "mimrest/jid.hpp"
#include "mimrest/password_verifier.hpp"

namespace mimrest {

/// What a server stores instead of the password. Byte strings, not base64.
struct ScramCredentials {
  std::string salt;
  unsigned iterations = 0;
  std::string stored_key;  ///< SHA-256(HMAC(SaltedPassword, "Client Key"))
  std::string server_key;  ///< HMAC(SaltedPassword, "Server Key")
};

/// Derives credentials with PBKDF2-HMAC-SHA256 and a fresh random 16-byte salt.
ScramCredentials make_scram_credentials(std::string_view password, unsigned iterations = 4096);
/// The same with a given salt (tests, migrations).
ScramCredentials make_scram_credentials(std::string_view password, std::string_view salt,
                                        unsigned iterations);

/// Whether `password` matches; the final comparison is constant-time.
bool check_scram_password(const ScramCredentials& credentials, std::string_view password);

/// Where the host keeps stored credentials. Thread-safe.
class ScramCredentialStore {
 public:
  virtual ~ScramCredentialStore() = default;
  /// nullopt for an unknown user or domain.
  virtual std::optional<ScramCredentials> find(const Jid& user) const = 0;
};

/// A PasswordVerifier over stored SCRAM credentials.
class ScramPasswordVerifier final : public PasswordVerifier {
 public:
  explicit ScramPasswordVerifier(const ScramCredentialStore& store) : store_(store) {}
  bool verify(const Jid& user, std::string_view password) override;

 private:
  const ScramCredentialStore& store_;
};

}  // namespace mimrest
