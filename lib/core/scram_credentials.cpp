#include "mimrest/scram_credentials.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <climits>

#include "mimrest/crypto.hpp"

namespace mimrest {
namespace {

constexpr std::size_t key_bytes = SHA256_DIGEST_LENGTH;

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), out,
           &length) == nullptr) {
    return {};
  }
  return std::string(reinterpret_cast<const char*>(out), length);
}

std::string sha256(std::string_view data) {
  unsigned char out[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), out);
  return std::string(reinterpret_cast<const char*>(out), sizeof out);
}

// SaltedPassword = Hi(password, salt, i) of RFC 5802, i.e. PBKDF2-HMAC-SHA256.
// Empty on failure (lengths beyond what OpenSSL takes, zero iterations).
std::string salted_password(std::string_view password, std::string_view salt, unsigned iterations) {
  if (iterations == 0 || iterations > static_cast<unsigned>(INT_MAX) ||
      password.size() > static_cast<std::size_t>(INT_MAX) ||
      salt.size() > static_cast<std::size_t>(INT_MAX)) {
    return {};
  }
  std::string out(key_bytes, '\0');
  if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                        reinterpret_cast<const unsigned char*>(salt.data()),
                        static_cast<int>(salt.size()), static_cast<int>(iterations), EVP_sha256(),
                        static_cast<int>(out.size()),
                        reinterpret_cast<unsigned char*>(out.data())) != 1) {
    return {};
  }
  return out;
}

std::string stored_key_of(std::string_view salted) {
  return sha256(hmac_sha256(salted, "Client Key"));
}

}  // namespace

ScramCredentials make_scram_credentials(std::string_view password, unsigned iterations) {
  return make_scram_credentials(password, random_bytes(16), iterations);
}

ScramCredentials make_scram_credentials(std::string_view password, std::string_view salt,
                                        unsigned iterations) {
  ScramCredentials credentials;
  credentials.salt = std::string(salt);
  // Zero iterations is not a valid PBKDF2 count; one is the least that is.
  credentials.iterations = iterations == 0 ? 1 : iterations;
  const std::string salted = salted_password(password, salt, credentials.iterations);
  if (salted.empty()) {
    // Leaves the keys empty: check_scram_password never accepts such credentials.
    return credentials;
  }
  credentials.stored_key = stored_key_of(salted);
  credentials.server_key = hmac_sha256(salted, "Server Key");
  return credentials;
}

bool check_scram_password(const ScramCredentials& credentials, std::string_view password) {
  if (credentials.stored_key.size() != key_bytes) {
    return false;
  }
  const std::string salted = salted_password(password, credentials.salt, credentials.iterations);
  if (salted.empty()) {
    return false;
  }
  return constant_time_equal(stored_key_of(salted), credentials.stored_key);
}

ScramPasswordVerifier::ScramPasswordVerifier(ScramCredentialStore& store, unsigned dummy_iterations)
    : store_(store),
      // A random password nobody knows: checking against it always fails,
      // after the same PBKDF2 work as a real credential.
      dummy_(make_scram_credentials(random_bytes(16), dummy_iterations)),
      dummy_checks_(std::make_shared<std::atomic<std::uint64_t>>(0)) {}

void ScramPasswordVerifier::async_verify(const Jid& user, std::string_view password,
                                         Completion<VerifyResult> done) {
  store_.async_find(user, [dummy = dummy_, dummy_checks = dummy_checks_,
                           password = std::string(password), done](CredentialsResult found) {
    if (!found) {
      done(unexpected(found.error()));
      return;
    }
    if (!found->has_value()) {
      dummy_checks->fetch_add(1, std::memory_order_relaxed);
      check_scram_password(dummy, password);
      done(false);
      return;
    }
    done(check_scram_password(**found, password));
  });
}

std::uint64_t ScramPasswordVerifier::dummy_checks() const noexcept {
  return dummy_checks_->load(std::memory_order_relaxed);
}

}  // namespace mimrest
