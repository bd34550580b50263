// The RFC 6121 roster state machine of the in-memory backend, on both sides.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "await.hpp"
#include "mimrest/memory/memory_backend.hpp"
#include "test_jid.hpp"

using mimrest::Jid;
using mimrest::Roster;
using mimrest::RosterError;
using mimrest::RosterItem;
using mimrest::RosterResult;
using mimrest::memory::MemoryBackend;
using mimrest::memory::MemoryBackendConfig;
using mimrest::test::await;
using mimrest::test::jid;

namespace {

/// The roster operations called through await(): the memory backend
/// completes each one inline.
class Rosters {
 public:
  explicit Rosters(Roster& roster) : roster_(roster) {}
  /// The items of `user`; the read itself must succeed.
  std::vector<RosterItem> items(const Jid& user) const {
    auto result = await(roster_, &Roster::async_items, user);
    REQUIRE(result);
    return *result;
  }
  RosterResult add(const Jid& user, const Jid& contact) {
    return await(roster_, &Roster::async_add, user, contact);
  }
  RosterResult subscribe(const Jid& user, const Jid& contact) {
    return await(roster_, &Roster::async_subscribe, user, contact);
  }
  RosterResult approve(const Jid& user, const Jid& contact) {
    return await(roster_, &Roster::async_approve, user, contact);
  }
  RosterResult remove(const Jid& user, const Jid& contact) {
    return await(roster_, &Roster::async_remove, user, contact);
  }

 private:
  Roster& roster_;
};

struct Fixture {
  Fixture() : backend(config()), roster(*backend.backend().roster) {
    REQUIRE(backend.add_user(alice, "a"));
    REQUIRE(backend.add_user(bob, "b"));
    REQUIRE(backend.add_user(carol, "c"));
  }
  static MemoryBackendConfig config() {
    MemoryBackendConfig result;
    result.password_iterations = 16;
    return result;
  }
  /// "subscription/ask" of `user`'s item for `contact`, or "absent".
  std::string state(const Jid& user, const Jid& contact) const {
    for (const auto& item : roster.items(user)) {
      if (item.jid == contact) {
        return std::string(to_string(item.subscription)) + "/" + std::string(to_string(item.ask));
      }
    }
    return "absent";
  }

  MemoryBackend backend;
  Rosters roster;
  Jid alice = jid("alice@localhost");
  Jid bob = jid("bob@localhost");
  Jid carol = jid("carol@localhost");
};

}  // namespace

TEST_CASE_METHOD(Fixture, "add creates a none/none item once, in stable order") {
  REQUIRE(roster.add(alice, bob));
  REQUIRE(roster.add(alice, carol));
  REQUIRE(roster.add(alice, jid("dave@elsewhere.org")));  // remote contacts are allowed
  CHECK(state(alice, bob) == "none/none");
  CHECK(state(bob, alice) == "absent");  // adding is one-sided

  REQUIRE(roster.subscribe(alice, bob));
  REQUIRE(roster.add(alice, bob));  // an existing item is left unchanged
  CHECK(state(alice, bob) == "none/out");

  const auto items = roster.items(alice);
  REQUIRE(items.size() == 3);
  CHECK(items[0].jid == bob);
  CHECK(items[1].jid == carol);
  CHECK(items[2].jid == jid("dave@elsewhere.org"));
  CHECK(roster.items(jid("ghost@localhost")).empty());
}

TEST_CASE_METHOD(Fixture, "add rejects unknown local accounts") {
  auto result = roster.add(alice, jid("ghost@localhost"));
  REQUIRE_FALSE(result);
  CHECK(result.error() == RosterError::contact_not_found);
  CHECK(roster.items(alice).empty());
}

TEST_CASE_METHOD(Fixture, "operations on a missing item answer not_in_roster") {
  auto subscribe = roster.subscribe(alice, bob);
  auto approve = roster.approve(alice, bob);
  auto remove = roster.remove(alice, bob);
  REQUIRE_FALSE(subscribe);
  REQUIRE_FALSE(approve);
  REQUIRE_FALSE(remove);
  CHECK(subscribe.error() == RosterError::not_in_roster);
  CHECK(approve.error() == RosterError::not_in_roster);
  CHECK(remove.error() == RosterError::not_in_roster);
  CHECK(state(bob, alice) == "absent");
}

TEST_CASE_METHOD(Fixture, "A invites B, then B accepts") {
  REQUIRE(roster.add(alice, bob));
  REQUIRE(roster.subscribe(alice, bob));
  CHECK(state(alice, bob) == "none/out");
  CHECK(state(bob, alice) == "none/in");  // pending-in is listed

  REQUIRE(roster.approve(bob, alice));
  CHECK(state(alice, bob) == "to/none");
  CHECK(state(bob, alice) == "from/none");

  // Inviting again once subscribed changes nothing.
  REQUIRE(roster.subscribe(alice, bob));
  CHECK(state(alice, bob) == "to/none");
  CHECK(state(bob, alice) == "from/none");
}

TEST_CASE_METHOD(Fixture, "B invites A, then A accepts") {
  REQUIRE(roster.add(bob, alice));
  REQUIRE(roster.subscribe(bob, alice));
  CHECK(state(bob, alice) == "none/out");
  CHECK(state(alice, bob) == "none/in");

  REQUIRE(roster.approve(alice, bob));
  CHECK(state(bob, alice) == "to/none");
  CHECK(state(alice, bob) == "from/none");
}

TEST_CASE_METHOD(Fixture, "mutual subscription ends in both/none") {
  REQUIRE(roster.add(alice, bob));
  REQUIRE(roster.subscribe(alice, bob));
  REQUIRE(roster.subscribe(bob, alice));  // Bob's item exists (pending in)
  CHECK(state(alice, bob) == "none/both");
  CHECK(state(bob, alice) == "none/both");

  REQUIRE(roster.approve(bob, alice));
  CHECK(state(alice, bob) == "to/in");
  CHECK(state(bob, alice) == "from/out");

  REQUIRE(roster.approve(alice, bob));
  CHECK(state(alice, bob) == "both/none");
  CHECK(state(bob, alice) == "both/none");
}

TEST_CASE_METHOD(Fixture, "approve without a pending request changes nothing") {
  REQUIRE(roster.add(alice, bob));
  REQUIRE(roster.add(bob, alice));
  REQUIRE(roster.approve(alice, bob));
  CHECK(state(alice, bob) == "none/none");
  CHECK(state(bob, alice) == "none/none");

  REQUIRE(roster.subscribe(alice, bob));
  REQUIRE(roster.approve(alice, bob));  // Alice's request is outgoing, not incoming
  CHECK(state(alice, bob) == "none/out");
  CHECK(state(bob, alice) == "none/in");
}

TEST_CASE_METHOD(Fixture, "subscribing to a remote contact changes only our side") {
  const Jid remote = jid("dave@elsewhere.org");
  REQUIRE(roster.add(alice, remote));
  REQUIRE(roster.subscribe(alice, remote));
  CHECK(state(alice, remote) == "none/out");
  CHECK(roster.items(remote).empty());
}

TEST_CASE_METHOD(Fixture, "removal cancels the subscriptions both ways") {
  REQUIRE(roster.add(alice, bob));
  REQUIRE(roster.subscribe(alice, bob));
  REQUIRE(roster.subscribe(bob, alice));
  REQUIRE(roster.approve(bob, alice));
  REQUIRE(roster.approve(alice, bob));
  REQUIRE(state(alice, bob) == "both/none");

  SECTION("the inviter removes") {
    REQUIRE(roster.remove(alice, bob));
    CHECK(state(alice, bob) == "absent");
    CHECK(state(bob, alice) == "none/none");
    auto again = roster.remove(alice, bob);
    REQUIRE_FALSE(again);
    CHECK(again.error() == RosterError::not_in_roster);
  }
  SECTION("the invitee removes") {
    REQUIRE(roster.remove(bob, alice));
    CHECK(state(bob, alice) == "absent");
    CHECK(state(alice, bob) == "none/none");
  }
}

TEST_CASE_METHOD(Fixture, "removal cancels a pending request") {
  REQUIRE(roster.add(alice, bob));
  REQUIRE(roster.subscribe(alice, bob));
  REQUIRE(roster.remove(alice, bob));
  CHECK(state(bob, alice) == "none/none");
  REQUIRE(roster.approve(bob, alice));  // nothing left to approve
  CHECK(state(bob, alice) == "none/none");
  CHECK(state(alice, bob) == "absent");
}

TEST_CASE_METHOD(Fixture, "removal keeps the order of the other items") {
  REQUIRE(roster.add(alice, bob));
  REQUIRE(roster.add(alice, carol));
  REQUIRE(roster.remove(alice, bob));
  REQUIRE(roster.add(alice, bob));
  const auto items = roster.items(alice);
  REQUIRE(items.size() == 2);
  CHECK(items[0].jid == carol);
  CHECK(items[1].jid == bob);
}
