#include "mimrest/scram_credentials.hpp"

#include <catch2/catch.hpp>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <map>
#include <string>

#include "mimrest/crypto.hpp"

using mimrest::check_scram_password;
using mimrest::make_scram_credentials;
using mimrest::ScramCredentials;

namespace {

std::string from_hex(std::string_view hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

std::string b64(std::string_view text) {
  const auto decoded = mimrest::base64_decode(text);
  REQUIRE(decoded.has_value());
  return *decoded;
}

std::string hmac(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &length);
  return std::string(reinterpret_cast<const char*>(out), length);
}

std::string sha256(std::string_view data) {
  unsigned char out[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), out);
  return std::string(reinterpret_cast<const char*>(out), sizeof out);
}

// The SCRAM-SHA-256 exchange of RFC 7677 section 3.
constexpr std::string_view rfc_salt = "W22ZaJ0SNY7soEsUEjb6gQ==";
constexpr std::string_view rfc_auth_message =
    "n=user,r=rOprNGfwEbeRWgbNEkqO,"
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,"
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
constexpr std::string_view rfc_client_proof = "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
constexpr std::string_view rfc_server_signature = "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

class MapStore final : public mimrest::ScramCredentialStore {
 public:
  std::map<std::string, ScramCredentials> users;
  std::optional<ScramCredentials> find(const mimrest::Jid& user) const override {
    const auto it = users.find(user.bare_string());
    if (it == users.end()) {
      return std::nullopt;
    }
    return it->second;
  }
};

}  // namespace

TEST_CASE("keys derived from the RFC 7677 example reproduce its proof and signature") {
  const ScramCredentials credentials = make_scram_credentials("pencil", b64(rfc_salt), 4096);
  CHECK(credentials.salt == b64(rfc_salt));
  CHECK(credentials.iterations == 4096);
  REQUIRE(credentials.stored_key.size() == 32);
  REQUIRE(credentials.server_key.size() == 32);

  // ServerSignature = HMAC(ServerKey, AuthMessage) must be the RFC's "v=".
  CHECK(mimrest::base64_encode(hmac(credentials.server_key, rfc_auth_message)) ==
        rfc_server_signature);

  // ClientKey = ClientProof XOR HMAC(StoredKey, AuthMessage); SHA-256 of it is StoredKey.
  const std::string proof = b64(rfc_client_proof);
  const std::string signature = hmac(credentials.stored_key, rfc_auth_message);
  std::string client_key(32, '\0');
  for (std::size_t i = 0; i < 32; ++i) {
    client_key[i] = static_cast<char>(proof[i] ^ signature[i]);
  }
  CHECK(sha256(client_key) == credentials.stored_key);

  // The same values as plain hex (computed independently with PBKDF2-HMAC-SHA256).
  CHECK(credentials.stored_key ==
        from_hex("586e5df283e6dceb5c3e791d8b8528ec191e664045ce971792e2e6b5bb13e2a6"));
  CHECK(credentials.server_key ==
        from_hex("c1f3cbc1c13a9d35a14c0990eed97629ea225863e566a4314ab99f3f00e5d9d5"));
}

TEST_CASE("check_scram_password accepts only the right password") {
  const ScramCredentials credentials = make_scram_credentials("pencil", b64(rfc_salt), 4096);
  CHECK(check_scram_password(credentials, "pencil"));
  CHECK_FALSE(check_scram_password(credentials, "Pencil"));
  CHECK_FALSE(check_scram_password(credentials, "pencil "));
  CHECK_FALSE(check_scram_password(credentials, ""));

  ScramCredentials other_salt = credentials;
  other_salt.salt = "another salt";
  CHECK_FALSE(check_scram_password(other_salt, "pencil"));

  ScramCredentials other_count = credentials;
  other_count.iterations = 4095;
  CHECK_FALSE(check_scram_password(other_count, "pencil"));

  ScramCredentials broken = credentials;
  broken.stored_key.resize(16);
  CHECK_FALSE(check_scram_password(broken, "pencil"));
  broken.stored_key.clear();
  CHECK_FALSE(check_scram_password(broken, "pencil"));

  ScramCredentials zero = credentials;
  zero.iterations = 0;
  CHECK_FALSE(check_scram_password(zero, "pencil"));
}

TEST_CASE("fresh credentials get a random 16-byte salt") {
  const ScramCredentials a = make_scram_credentials("secret", 64);
  const ScramCredentials b = make_scram_credentials("secret", 64);
  CHECK(a.salt.size() == 16);
  CHECK(a.iterations == 64);
  CHECK(a.salt != b.salt);
  CHECK(a.stored_key != b.stored_key);
  CHECK(check_scram_password(a, "secret"));
  CHECK(check_scram_password(b, "secret"));
  CHECK_FALSE(check_scram_password(a, "secreT"));
  CHECK(make_scram_credentials("x").iterations == 4096);
}

TEST_CASE("unicode and binary passwords") {
  const std::string unicode = "p\xC3\xA4ss:w\xC3\xB6rd\xF0\x9F\x94\x91";
  const ScramCredentials credentials = make_scram_credentials(unicode, "salt", 16);
  CHECK(check_scram_password(credentials, unicode));
  CHECK_FALSE(check_scram_password(credentials, "p\xC3\xA4ss:w\xC3\xB6rd"));

  using namespace std::string_literals;
  const ScramCredentials binary = make_scram_credentials("a\0b"s, "salt", 16);
  CHECK(check_scram_password(binary, "a\0b"s));
  CHECK_FALSE(check_scram_password(binary, "a"));
}

TEST_CASE("ScramPasswordVerifier checks against the store") {
  MapStore store;
  store.users["alice@localhost"] = make_scram_credentials("secret", 32);
  mimrest::ScramPasswordVerifier verifier(store);
  const auto alice = mimrest::Jid::parse("alice@localhost");
  const auto bob = mimrest::Jid::parse("bob@localhost");
  REQUIRE(alice.has_value());
  REQUIRE(bob.has_value());
  CHECK(verifier.verify(*alice, "secret"));
  CHECK_FALSE(verifier.verify(*alice, "wrong"));
  CHECK_FALSE(verifier.verify(*bob, "secret"));
}
