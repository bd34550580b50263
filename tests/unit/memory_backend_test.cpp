// Users, authentication and configuration of the in-memory backend.
#include <catch2/catch.hpp>

#include <optional>
#include <string>

#include "mimrest/memory/memory_backend.hpp"
#include "test_jid.hpp"

using mimrest::Jid;
using mimrest::memory::MemoryBackend;
using mimrest::memory::MemoryBackendConfig;
using mimrest::memory::UserError;
using mimrest::test::jid;

namespace {

MemoryBackendConfig fast_config() {
  MemoryBackendConfig config;
  config.domains = {"localhost", "example.com"};
  config.password_iterations = 16;  // keeps PBKDF2 cheap in tests
  return config;
}

}  // namespace

TEST_CASE("add_user accepts bare JIDs on local domains only") {
  MemoryBackend backend(fast_config());
  REQUIRE(backend.add_user(jid("alice@localhost"), "secret"));
  REQUIRE(backend.add_user(jid("bob@example.com"), "secret"));
  CHECK(backend.user_exists(jid("alice@localhost")));
  CHECK(backend.user_exists(jid("Alice@LOCALHOST")));
  CHECK(backend.user_exists(jid("alice@localhost/phone")));  // any resource of the account
  CHECK_FALSE(backend.user_exists(jid("carol@localhost")));

  auto duplicate = backend.add_user(jid("alice@localhost"), "other");
  REQUIRE_FALSE(duplicate);
  CHECK(duplicate.error() == UserError::already_exists);

  auto remote = backend.add_user(jid("alice@elsewhere.org"), "secret");
  REQUIRE_FALSE(remote);
  CHECK(remote.error() == UserError::unknown_domain);

  auto domain_only = backend.add_user(jid("localhost"), "secret");
  REQUIRE_FALSE(domain_only);
  CHECK(domain_only.error() == UserError::invalid_jid);

  auto full = backend.add_user(jid("dave@localhost/res"), "secret");
  REQUIRE_FALSE(full);
  CHECK(full.error() == UserError::invalid_jid);
  CHECK_FALSE(backend.user_exists(jid("dave@localhost")));
}

TEST_CASE("configured domains are compared in prepared form") {
  auto config = fast_config();
  config.domains = {"LocalHost"};
  MemoryBackend backend(config);
  CHECK(backend.add_user(jid("alice@localhost"), "secret"));
  CHECK(backend.backend().passwords.verify(jid("alice@localhost"), "secret"));
}

TEST_CASE("the password verifier checks stored credentials") {
  MemoryBackend backend(fast_config());
  REQUIRE(backend.add_user(jid("alice@localhost"), "s3cr:et"));
  auto& passwords = backend.backend().passwords;

  CHECK(passwords.verify(jid("alice@localhost"), "s3cr:et"));
  CHECK(passwords.verify(jid("alice@localhost"), "s3cr:et"));  // cached path
  CHECK_FALSE(passwords.verify(jid("alice@localhost"), "s3cr:eT"));
  CHECK_FALSE(passwords.verify(jid("alice@localhost"), ""));
  CHECK_FALSE(passwords.verify(jid("bob@localhost"), "s3cr:et"));
  CHECK_FALSE(passwords.verify(jid("alice@unknown.org"), "s3cr:et"));
}

TEST_CASE("a password change invalidates the old password at once") {
  MemoryBackend backend(fast_config());
  const Jid alice = jid("alice@localhost");
  REQUIRE(backend.add_user(alice, "old"));
  auto& passwords = backend.backend().passwords;
  REQUIRE(passwords.verify(alice, "old"));  // now cached

  REQUIRE(backend.set_password(alice, "new"));
  CHECK_FALSE(passwords.verify(alice, "old"));
  CHECK(passwords.verify(alice, "new"));

  REQUIRE(backend.set_password(alice, "old"));
  CHECK(passwords.verify(alice, "old"));
  CHECK_FALSE(passwords.verify(alice, "new"));
}

TEST_CASE("set_password reports unknown users and domains") {
  MemoryBackend backend(fast_config());
  auto missing = backend.set_password(jid("ghost@localhost"), "x");
  REQUIRE_FALSE(missing);
  CHECK(missing.error() == UserError::not_found);
  auto remote = backend.set_password(jid("ghost@elsewhere.org"), "x");
  REQUIRE_FALSE(remote);
  CHECK(remote.error() == UserError::unknown_domain);
}

TEST_CASE("config keeps the given values and supplies a clock") {
  auto config = fast_config();
  config.max_result_limit = 7;
  MemoryBackend backend(config);
  CHECK(backend.config().max_result_limit == 7);
  REQUIRE(backend.config().now_us);
  CHECK(backend.config().now_us() > 1'500'000'000'000'000);  // after 2017, in microseconds
}

TEST_CASE("the MUC Light service follows the configured pattern") {
  SECTION("default pattern on local domains") {
    MemoryBackend backend(fast_config());
    auto& muc = backend.backend().muc_light;
    CHECK(muc.service_domain("localhost") == std::optional<std::string>("muclight.localhost"));
    CHECK(muc.service_domain("example.com") == std::optional<std::string>("muclight.example.com"));
    CHECK_FALSE(muc.service_domain("elsewhere.org"));
  }
  SECTION("custom pattern") {
    auto config = fast_config();
    config.muc_light_host = "rooms.@HOST@";
    MemoryBackend backend(config);
    CHECK(backend.backend().muc_light.service_domain("localhost") ==
          std::optional<std::string>("rooms.localhost"));
  }
  SECTION("disabled") {
    auto config = fast_config();
    config.muc_light_enabled = false;
    MemoryBackend backend(config);
    CHECK_FALSE(backend.backend().muc_light.service_domain("localhost"));
  }
}
