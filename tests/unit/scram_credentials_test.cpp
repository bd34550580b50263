#include "mimrest/scram_credentials.hpp"

#include <catch2/catch.hpp>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "await.hpp"
#include "mimrest/crypto.hpp"
#include "test_jid.hpp"

using mimrest::check_scram_password;
using mimrest::Completion;
using mimrest::CredentialsResult;
using mimrest::Failure;
using mimrest::make_scram_credentials;
using mimrest::PasswordVerifier;
using mimrest::ScramCredentials;
using mimrest::ScramPasswordVerifier;
using mimrest::VerifyResult;
using mimrest::test::jid;

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

class MapStore final : public mimrest::SyncScramCredentialStore<> {
 public:
  std::map<std::string, ScramCredentials> users;
  CredentialsResult find(const mimrest::Jid& user) override {
    const auto it = users.find(user.bare_string());
    if (it == users.end()) {
      return std::optional<ScramCredentials>();
    }
    return std::optional<ScramCredentials>(it->second);
  }
};

/// The verifier's answer, which must come inline.
VerifyResult verify(PasswordVerifier& verifier, const mimrest::Jid& user,
                    std::string_view password) {
  return mimrest::test::await(verifier, &PasswordVerifier::async_verify, user, password);
}

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
  CHECK(verify(verifier, *alice, "secret").value());
  CHECK_FALSE(verify(verifier, *alice, "wrong").value());
  CHECK_FALSE(verify(verifier, *bob, "secret").value());
}

TEST_CASE("an unknown user is checked against the dummy credential and refused") {
  MapStore store;
  store.users["alice@localhost"] = make_scram_credentials("secret", 32);
  ScramPasswordVerifier verifier(store, 32);
  CHECK(verifier.dummy_checks() == 0);

  const auto unknown = verify(verifier, jid("bob@localhost"), "secret");
  REQUIRE(unknown);
  CHECK_FALSE(*unknown);
  CHECK(verifier.dummy_checks() == 1);
  const auto other_domain = verify(verifier, jid("alice@elsewhere.org"), "secret");
  REQUIRE(other_domain);
  CHECK_FALSE(*other_domain);
  CHECK(verifier.dummy_checks() == 2);

  // A known user never touches the dummy, whether the password is right or not.
  CHECK(verify(verifier, jid("alice@localhost"), "secret").value());
  CHECK_FALSE(verify(verifier, jid("alice@localhost"), "wrong").value());
  CHECK(verifier.dummy_checks() == 2);
}

namespace {

/// A store that cannot answer.
class FailingStore final : public mimrest::SyncScramCredentialStore<> {
 public:
  explicit FailingStore(Failure failure) : failure_(failure) {}
  CredentialsResult find(const mimrest::Jid&) override { return mimrest::unexpected(failure_); }

 private:
  Failure failure_;
};

/// A store whose lookup throws.
class ThrowingStore final : public mimrest::SyncScramCredentialStore<> {
 public:
  CredentialsResult find(const mimrest::Jid&) override {
    throw std::runtime_error("connection lost");
  }
};

}  // namespace

TEST_CASE("a failure of the store is passed through, not answered as a wrong password") {
  for (const Failure failure : {Failure::unavailable, Failure::internal}) {
    FailingStore store(failure);
    ScramPasswordVerifier verifier(store, 16);
    const auto result = verify(verifier, jid("alice@localhost"), "secret");
    REQUIRE_FALSE(result);
    CHECK(result.error() == failure);
    CHECK(verifier.dummy_checks() == 0);
  }
  ThrowingStore store;
  ScramPasswordVerifier verifier(store, 16);
  const auto result = verify(verifier, jid("alice@localhost"), "secret");
  REQUIRE_FALSE(result);
  CHECK(result.error() == Failure::internal);
}

namespace {

/// A store that answers later, from a thread of its own.
class ThreadedStore final : public mimrest::ScramCredentialStore {
 public:
  ~ThreadedStore() override {
    for (auto& thread : threads_) {
      thread.join();
    }
  }
  void async_find(const mimrest::Jid& user, Completion<CredentialsResult> done) override {
    std::optional<ScramCredentials> found;
    if (user.bare_string() == "alice@localhost") {
      found = credentials;
    }
    std::lock_guard<std::mutex> lock(mutex_);
    threads_.emplace_back([found = std::move(found), done = std::move(done)] { done(found); });
  }
  ScramCredentials credentials = make_scram_credentials("secret", 16);

 private:
  std::mutex mutex_;
  std::vector<std::thread> threads_;
};

}  // namespace

TEST_CASE("the verifier answers when an asynchronous store does") {
  ThreadedStore store;
  ScramPasswordVerifier verifier(store, 16);
  auto check = [&](const char* user, const char* password) {
    const mimrest::Jid who = jid(user);
    return mimrest::test::await_for<VerifyResult>([&](Completion<VerifyResult> done) {
      verifier.async_verify(who, password, std::move(done));
    });
  };
  CHECK(check("alice@localhost", "secret").value());
  CHECK_FALSE(check("alice@localhost", "wrong").value());
  CHECK_FALSE(check("bob@localhost", "secret").value());
  CHECK(verifier.dummy_checks() == 1);
}
