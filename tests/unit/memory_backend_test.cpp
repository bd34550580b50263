// Users, authentication, configuration, account administration and the token
// store of the in-memory backend.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "await.hpp"
#include "memory/token_table.hpp"
#include "mimrest/memory/memory_backend.hpp"
#include "test_jid.hpp"

using mimrest::AccountError;
using mimrest::Affiliation;
using mimrest::Jid;
using mimrest::RotateOutcome;
using mimrest::TokenKind;
using mimrest::TokenRecord;
using mimrest::TokenStore;
using mimrest::memory::MemoryBackend;
using mimrest::memory::MemoryBackendConfig;
using mimrest::test::await;
using mimrest::test::jid;
using mimrest::test::service_domain;

namespace {

MemoryBackendConfig fast_config() {
  MemoryBackendConfig config;
  config.domains = {"localhost", "example.com"};
  config.password_iterations = 16;  // keeps PBKDF2 cheap in tests
  return config;
}

/// Whether the account exists; the lookup itself must succeed.
bool exists(MemoryBackend& backend, const Jid& user) {
  auto result = backend.user_exists(user);
  REQUIRE(result);
  return *result;
}

/// Whether the backend's password verifier accepts the password; the check
/// itself must succeed.
bool verify(MemoryBackend& backend, const Jid& user, std::string_view password) {
  auto result =
      await(*backend.backend().passwords, &mimrest::PasswordVerifier::async_verify, user, password);
  REQUIRE(result);
  return *result;
}

}  // namespace

TEST_CASE("add_user accepts bare JIDs on local domains only") {
  MemoryBackend backend(fast_config());
  REQUIRE(backend.add_user(jid("alice@localhost"), "secret"));
  REQUIRE(backend.add_user(jid("bob@example.com"), "secret"));
  CHECK(exists(backend, jid("alice@localhost")));
  CHECK(exists(backend, jid("Alice@LOCALHOST")));
  CHECK(exists(backend, jid("alice@localhost/phone")));  // any resource of the account
  CHECK_FALSE(exists(backend, jid("carol@localhost")));

  auto duplicate = backend.add_user(jid("alice@localhost"), "other");
  REQUIRE_FALSE(duplicate);
  CHECK(duplicate.error() == AccountError::already_exists);

  auto remote = backend.add_user(jid("alice@elsewhere.org"), "secret");
  REQUIRE_FALSE(remote);
  CHECK(remote.error() == AccountError::unknown_domain);

  auto domain_only = backend.add_user(jid("localhost"), "secret");
  REQUIRE_FALSE(domain_only);
  CHECK(domain_only.error() == AccountError::invalid_jid);

  auto full = backend.add_user(jid("dave@localhost/res"), "secret");
  REQUIRE_FALSE(full);
  CHECK(full.error() == AccountError::invalid_jid);
  CHECK_FALSE(exists(backend, jid("dave@localhost")));
}

TEST_CASE("configured domains are compared in prepared form") {
  auto config = fast_config();
  config.domains = {"LocalHost"};
  MemoryBackend backend(config);
  CHECK(backend.add_user(jid("alice@localhost"), "secret"));
  CHECK(verify(backend, jid("alice@localhost"), "secret"));
}

TEST_CASE("the password verifier checks stored credentials") {
  MemoryBackend backend(fast_config());
  REQUIRE(backend.add_user(jid("alice@localhost"), "s3cr:et"));

  CHECK(verify(backend, jid("alice@localhost"), "s3cr:et"));
  CHECK(verify(backend, jid("alice@localhost"), "s3cr:et"));  // cached path
  CHECK_FALSE(verify(backend, jid("alice@localhost"), "s3cr:eT"));
  CHECK_FALSE(verify(backend, jid("alice@localhost"), ""));
  CHECK_FALSE(verify(backend, jid("bob@localhost"), "s3cr:et"));
  CHECK_FALSE(verify(backend, jid("alice@unknown.org"), "s3cr:et"));
}

TEST_CASE("a password change invalidates the old password at once") {
  MemoryBackend backend(fast_config());
  const Jid alice = jid("alice@localhost");
  REQUIRE(backend.add_user(alice, "old"));
  REQUIRE(verify(backend, alice, "old"));  // now cached

  REQUIRE(backend.set_password(alice, "new"));
  CHECK_FALSE(verify(backend, alice, "old"));
  CHECK(verify(backend, alice, "new"));

  REQUIRE(backend.set_password(alice, "old"));
  CHECK(verify(backend, alice, "old"));
  CHECK_FALSE(verify(backend, alice, "new"));
}

TEST_CASE("set_password reports unknown users and domains") {
  MemoryBackend backend(fast_config());
  auto missing = backend.set_password(jid("ghost@localhost"), "x");
  REQUIRE_FALSE(missing);
  CHECK(missing.error() == AccountError::not_found);
  auto remote = backend.set_password(jid("ghost@elsewhere.org"), "x");
  REQUIRE_FALSE(remote);
  CHECK(remote.error() == AccountError::unknown_domain);
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
    auto& muc = *backend.backend().muc_light;
    CHECK(service_domain(muc, "localhost") == std::optional<std::string>("muclight.localhost"));
    CHECK(service_domain(muc, "example.com") == std::optional<std::string>("muclight.example.com"));
    CHECK_FALSE(service_domain(muc, "elsewhere.org"));
  }
  SECTION("custom pattern") {
    auto config = fast_config();
    config.muc_light_host = "rooms.@HOST@";
    MemoryBackend backend(config);
    CHECK(service_domain(*backend.backend().muc_light, "localhost") ==
          std::optional<std::string>("rooms.localhost"));
  }
  SECTION("disabled") {
    auto config = fast_config();
    config.muc_light_enabled = false;
    MemoryBackend backend(config);
    CHECK_FALSE(service_domain(*backend.backend().muc_light, "localhost"));
  }
}

TEST_CASE("backend() hands out every interface") {
  MemoryBackend backend(fast_config());
  const mimrest::Backend api = backend.backend();
  CHECK(api.passwords != nullptr);
  CHECK(api.router != nullptr);
  CHECK(api.archive != nullptr);
  CHECK(api.roster != nullptr);
  CHECK(api.muc_light != nullptr);
  CHECK(api.sessions != nullptr);
  CHECK(api.tokens != nullptr);
  CHECK(api.events != nullptr);
}

TEST_CASE("list_users lists every account, sorted") {
  MemoryBackend backend(fast_config());
  CHECK(backend.list_users().value().empty());
  std::vector<Jid> users{jid("zed@localhost"), jid("alice@localhost"), jid("bob@example.com"),
                         jid("carol@localhost"), jid("alice@example.com")};
  for (const auto& user : users) {
    REQUIRE(backend.add_user(user, "p"));
  }
  auto listed = backend.list_users();
  REQUIRE(listed);
  std::sort(users.begin(), users.end());
  CHECK(*listed == users);
  CHECK(std::is_sorted(listed->begin(), listed->end()));

  REQUIRE(backend.remove_user(jid("carol@localhost")));
  users.erase(std::find(users.begin(), users.end(), jid("carol@localhost")));
  CHECK(backend.list_users().value() == users);
}

namespace {

/// Records of one POST /tokens: an access and a refresh token.
struct IssuedPair {
  TokenRecord access;
  TokenRecord refresh;
};

TokenRecord record(const std::string& hash, const Jid& user, const std::string& family,
                   TokenKind kind, std::int64_t expires_us) {
  return TokenRecord{hash, user, family, kind, expires_us};
}

IssuedPair pair_of(const std::string& name, const Jid& user, const std::string& family,
                   std::int64_t expires_us) {
  return IssuedPair{record(name + "-access", user, family, TokenKind::access, expires_us),
                    record(name + "-refresh", user, family, TokenKind::refresh, expires_us)};
}

struct TokenFixture {
  TokenFixture() : backend(fast_config()), tokens(*backend.backend().tokens) {
    REQUIRE(backend.add_user(alice, "a"));
    REQUIRE(backend.add_user(bob, "b"));
  }
  void issue(const IssuedPair& pair, std::int64_t now) {
    REQUIRE(await(tokens, &TokenStore::async_issue,
                  std::vector<TokenRecord>{pair.access, pair.refresh}, now));
  }
  std::optional<TokenRecord> find(const std::string& hash, std::int64_t now) {
    auto found = await(tokens, &TokenStore::async_find, hash, now);
    REQUIRE(found);
    return *found;
  }
  bool live(const std::string& hash, std::int64_t now) { return find(hash, now).has_value(); }
  RotateOutcome rotate(const std::string& hash, const IssuedPair& replacements, std::int64_t now) {
    auto outcome = await(tokens, &TokenStore::async_rotate, hash,
                         std::vector<TokenRecord>{replacements.access, replacements.refresh}, now);
    REQUIRE(outcome);
    return *outcome;
  }

  MemoryBackend backend;
  TokenStore& tokens;
  Jid alice = jid("alice@localhost");
  Jid bob = jid("bob@localhost");
};

}  // namespace

TEST_CASE_METHOD(TokenFixture, "issued tokens are found by hash until they expire") {
  const auto first = pair_of("a1", alice, "family-1", 2'000);
  issue(first, 1'000);

  const auto found = find(first.access.hash, 1'500);
  REQUIRE(found);
  CHECK(found->hash == first.access.hash);
  CHECK(found->user == alice);
  CHECK(found->family == "family-1");
  CHECK(found->kind == TokenKind::access);
  CHECK(found->expires_us == 2'000);
  const auto refresh = find(first.refresh.hash, 1'500);
  REQUIRE(refresh);
  CHECK(refresh->kind == TokenKind::refresh);

  CHECK_FALSE(live("unknown", 1'500));
  CHECK(live(first.access.hash, 1'999));
  CHECK_FALSE(live(first.access.hash, 2'000));  // expired at exactly expires_us
  CHECK_FALSE(live(first.refresh.hash, 3'000));
}

TEST_CASE_METHOD(TokenFixture, "rotation spends the refresh token and stores the new pair") {
  const auto first = pair_of("a1", alice, "family-1", 10'000);
  const auto second = pair_of("a2", alice, "family-1", 20'000);
  issue(first, 1'000);

  CHECK(rotate(first.refresh.hash, second, 2'000) == RotateOutcome::rotated);
  CHECK_FALSE(live(first.refresh.hash, 2'000));  // spent
  CHECK(live(first.access.hash, 2'000));         // an access token lives on until it expires
  CHECK(live(second.access.hash, 2'000));
  CHECK(live(second.refresh.hash, 2'000));

  // The new refresh token rotates in turn.
  const auto third = pair_of("a3", alice, "family-1", 30'000);
  CHECK(rotate(second.refresh.hash, third, 3'000) == RotateOutcome::rotated);
  CHECK(live(third.refresh.hash, 3'000));
}

TEST_CASE_METHOD(TokenFixture, "presenting a spent refresh token revokes its whole family") {
  const auto first = pair_of("a1", alice, "family-1", 10'000);
  const auto second = pair_of("a2", alice, "family-1", 20'000);
  const auto other = pair_of("o1", alice, "family-2", 10'000);
  issue(first, 1'000);
  issue(other, 1'000);
  REQUIRE(rotate(first.refresh.hash, second, 2'000) == RotateOutcome::rotated);

  const auto thief = pair_of("t1", alice, "family-1", 20'000);
  CHECK(rotate(first.refresh.hash, thief, 3'000) == RotateOutcome::replayed);
  CHECK_FALSE(live(first.access.hash, 3'000));
  CHECK_FALSE(live(second.access.hash, 3'000));
  CHECK_FALSE(live(second.refresh.hash, 3'000));
  CHECK_FALSE(live(thief.access.hash, 3'000));  // the replacements were not stored
  CHECK_FALSE(live(thief.refresh.hash, 3'000));
  // Another family of the same user is not touched.
  CHECK(live(other.access.hash, 3'000));
  CHECK(live(other.refresh.hash, 3'000));
  // The legitimate holder's next refresh fails too.
  CHECK(rotate(second.refresh.hash, pair_of("a3", alice, "family-1", 30'000), 4'000) ==
        RotateOutcome::invalid);
}

TEST_CASE_METHOD(TokenFixture, "rotation is invalid for unknown, expired and access tokens") {
  const auto first = pair_of("a1", alice, "family-1", 10'000);
  const auto next = pair_of("a2", alice, "family-1", 20'000);
  issue(first, 1'000);

  CHECK(rotate("unknown", next, 2'000) == RotateOutcome::invalid);
  CHECK(rotate(first.access.hash, next, 2'000) == RotateOutcome::invalid);
  CHECK(rotate(first.refresh.hash, next, 10'000) == RotateOutcome::invalid);  // expired
  // Nothing changed: no replacement stored, the old pair still there before expiry.
  CHECK_FALSE(live(next.access.hash, 2'000));
  CHECK_FALSE(live(next.refresh.hash, 2'000));
  CHECK(live(first.access.hash, 2'000));
  CHECK(rotate(first.refresh.hash, next, 2'000) == RotateOutcome::rotated);
}

TEST_CASE_METHOD(TokenFixture, "revoke_user revokes every token of that user only") {
  const auto a1 = pair_of("a1", alice, "family-1", 10'000);
  const auto a2 = pair_of("a2", alice, "family-2", 10'000);
  const auto b1 = pair_of("b1", bob, "family-3", 10'000);
  issue(a1, 1'000);
  issue(a2, 1'000);
  issue(b1, 1'000);

  REQUIRE(await(tokens, &TokenStore::async_revoke_user, jid("alice@localhost/phone")));
  for (const auto* pair : {&a1, &a2}) {
    CHECK_FALSE(live(pair->access.hash, 2'000));
    CHECK_FALSE(live(pair->refresh.hash, 2'000));
  }
  CHECK(live(b1.access.hash, 2'000));
  CHECK(live(b1.refresh.hash, 2'000));
  CHECK(rotate(a1.refresh.hash, pair_of("a3", alice, "family-1", 20'000), 2'000) ==
        RotateOutcome::invalid);
}

TEST_CASE("the token table purges expired records whenever it issues") {
  mimrest::memory::detail::TokenTable table;
  const Jid alice = jid("alice@localhost");
  const auto short_lived = pair_of("s", alice, "family-1", 2'000);
  const auto long_lived = pair_of("l", alice, "family-2", 9'000);
  REQUIRE(table.issue({short_lived.access, short_lived.refresh}, 1'000));
  REQUIRE(table.issue({long_lived.access, long_lived.refresh}, 1'000));
  CHECK(table.size() == 4);

  // A spent refresh token is kept (to detect a replay) until it expires.
  const auto rotated = pair_of("r", alice, "family-2", 9'000);
  REQUIRE(table.rotate(long_lived.refresh.hash, {rotated.access, rotated.refresh}, 1'500).value() ==
          RotateOutcome::rotated);
  CHECK(table.size() == 6);

  const auto later = pair_of("n", jid("bob@localhost"), "family-3", 20'000);
  REQUIRE(table.issue({later.access, later.refresh}, 2'000));
  CHECK(table.size() == 6);  // the two short-lived records went, the new two came
  CHECK_FALSE(table.find(short_lived.access.hash, 1'000).value());

  REQUIRE(table.issue({}, 9'000));
  CHECK(table.size() == 2);  // only Bob's are left
  CHECK(table.find(later.access.hash, 9'000).value());
}

TEST_CASE_METHOD(TokenFixture, "set_password revokes the user's tokens and cached logins") {
  const auto a1 = pair_of("a1", alice, "family-1", std::int64_t{1} << 62);
  const auto b1 = pair_of("b1", bob, "family-2", std::int64_t{1} << 62);
  issue(a1, 1'000);
  issue(b1, 1'000);
  REQUIRE(verify(backend, alice, "a"));  // now cached
  REQUIRE(verify(backend, bob, "b"));

  REQUIRE(backend.set_password(alice, "new"));
  CHECK_FALSE(live(a1.access.hash, 2'000));
  CHECK_FALSE(live(a1.refresh.hash, 2'000));
  CHECK(live(b1.access.hash, 2'000));
  CHECK_FALSE(verify(backend, alice, "a"));
  CHECK(verify(backend, alice, "new"));
  CHECK(verify(backend, bob, "b"));

  // A failed change leaves tokens alone.
  REQUIRE_FALSE(backend.set_password(jid("ghost@localhost"), "x"));
  CHECK(live(b1.access.hash, 2'000));
}

TEST_CASE("remove_user deletes the account, its data and its room memberships") {
  MemoryBackend backend(fast_config());
  auto api = backend.backend();
  const Jid alice = jid("alice@localhost");
  const Jid bob = jid("bob@localhost");
  const Jid carol = jid("carol@localhost");
  for (const Jid* user : {&alice, &bob, &carol}) {
    REQUIRE(backend.add_user(*user, "p"));
  }
  // Alice's roster, archive, rooms, tokens and a cached login.
  REQUIRE(await(*api.roster, &mimrest::Roster::async_add, alice, bob));
  REQUIRE(await(*api.roster, &mimrest::Roster::async_subscribe, alice, bob));
  REQUIRE(await(*api.router, &mimrest::MessageRouter::async_route_chat_message, alice, bob,
                std::string("<message type=\"chat\"><body>hi</body></message>")));
  auto own_room = await(*api.muc_light, &mimrest::MucLight::async_create_room, alice, std::nullopt,
                        mimrest::RoomConfig{"alice's", "s"});
  REQUIRE(own_room);
  REQUIRE(await(*api.muc_light, &mimrest::MucLight::async_set_affiliation, alice, *own_room, bob,
                Affiliation::member));
  auto carols_room = await(*api.muc_light, &mimrest::MucLight::async_create_room, carol,
                           std::nullopt, mimrest::RoomConfig{"carol's", "s"});
  REQUIRE(carols_room);
  REQUIRE(await(*api.muc_light, &mimrest::MucLight::async_set_affiliation, carol, *carols_room,
                alice, Affiliation::member));
  auto lonely_room = await(*api.muc_light, &mimrest::MucLight::async_create_room, alice,
                           std::nullopt, mimrest::RoomConfig{"alone", "s"});
  REQUIRE(lonely_room);
  const auto tokens = pair_of("a1", alice, "family-1", std::int64_t{1} << 62);
  REQUIRE(await(*api.tokens, &TokenStore::async_issue,
                std::vector<TokenRecord>{tokens.access, tokens.refresh}, 1'000));
  REQUIRE(verify(backend, alice, "p"));

  REQUIRE(backend.remove_user(alice));

  CHECK_FALSE(exists(backend, alice));
  CHECK(backend.list_users().value() == std::vector<Jid>{bob, carol});
  CHECK_FALSE(verify(backend, alice, "p"));
  CHECK_FALSE(await(*api.tokens, &TokenStore::async_find, tokens.access.hash, 2'000).value());
  CHECK(await(*api.roster, &mimrest::Roster::async_items, alice).value().empty());
  CHECK(await(*api.archive, &mimrest::MessageArchive::async_messages,
              mimrest::ArchiveQuery{alice, std::nullopt, std::nullopt, std::nullopt, 50})
            .value()
            .empty());
  // Bob's side of the conversation is his own and stays.
  CHECK(await(*api.archive, &mimrest::MessageArchive::async_messages,
              mimrest::ArchiveQuery{bob, std::nullopt, std::nullopt, std::nullopt, 50})
            .value()
            .size() == 1);
  CHECK(await(*api.muc_light, &mimrest::MucLight::async_user_rooms, alice).value().empty());
  CHECK(await(*api.events, &mimrest::EventLog::async_events_after, alice, std::uint64_t{0},
              std::size_t{100})
            .value()
            .empty());

  // She left her rooms as a leaving user would: ownership passed on, the
  // room she was alone in is gone.
  auto own_info = await(*api.muc_light, &mimrest::MucLight::async_room_info, bob, *own_room);
  REQUIRE(own_info);
  REQUIRE(own_info->occupants.size() == 1);
  CHECK(own_info->occupants[0].user == bob);
  CHECK(own_info->occupants[0].affiliation == Affiliation::owner);
  auto carols_info =
      await(*api.muc_light, &mimrest::MucLight::async_room_info, carol, *carols_room);
  REQUIRE(carols_info);
  REQUIRE(carols_info->occupants.size() == 1);
  CHECK(carols_info->occupants[0].user == carol);
  auto lonely_info = await(*api.muc_light, &mimrest::MucLight::async_room_info, bob, *lonely_room);
  REQUIRE_FALSE(lonely_info);
  CHECK(lonely_info.error() == mimrest::RoomErrorKind::room_not_found);

  // Removing again, or an account that never was, answers not_found.
  auto again = backend.remove_user(alice);
  REQUIRE_FALSE(again);
  CHECK(again.error() == AccountError::not_found);

  // The JID may register afresh, with nothing of the old account.
  REQUIRE(backend.add_user(alice, "q"));
  CHECK(verify(backend, alice, "q"));
  CHECK(await(*api.roster, &mimrest::Roster::async_items, alice).value().empty());
  CHECK(await(*api.muc_light, &mimrest::MucLight::async_user_rooms, alice).value().empty());
}
