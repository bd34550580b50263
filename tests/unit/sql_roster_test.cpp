// The RFC 6121 roster state machine of the SQL backend, on both sides, on
// SQLite and PostgreSQL (mirrors memory_roster_test.cpp).
#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

#include "sql_test_support.hpp"

using namespace mimrest;
using namespace mimrest::test::sql;

namespace {

struct Fixture {
  explicit Fixture(const std::string& driver) : database(driver) {
    backend = open_backend(database.config());
    roster.api = backend->backend();
    REQUIRE(backend->add_user(alice, "a"));
    REQUIRE(backend->add_user(bob, "b"));
    REQUIRE(backend->add_user(carol, "c"));
  }
  /// "subscription/ask" of `user`'s item for `contact`, or "absent".
  std::string state(const Jid& user, const Jid& contact) {
    for (const auto& item : roster.items(user)) {
      if (item.jid == contact) {
        return std::string(to_string(item.subscription)) + "/" + std::string(to_string(item.ask));
      }
    }
    return "absent";
  }

  TestDatabase database;
  std::unique_ptr<SqlBackend> backend;
  Calls roster;
  Jid alice = jid("alice@localhost");
  Jid bob = jid("bob@localhost");
  Jid carol = jid("carol@localhost");
};

#define ON_EVERY_DRIVER                                       \
  const std::string driver = GENERATE(from_range(drivers())); \
  INFO("driver: " << driver);                                 \
  Fixture f(driver);                                          \
  auto& roster = f.roster;                                    \
  [[maybe_unused]] const Jid& alice = f.alice;                \
  [[maybe_unused]] const Jid& bob = f.bob;                    \
  [[maybe_unused]] const Jid& carol = f.carol

}  // namespace

TEST_CASE("add creates a none/none item once, in stable order") {
  ON_EVERY_DRIVER;
  REQUIRE(roster.add(alice, bob));
  REQUIRE(roster.add(alice, carol));
  REQUIRE(roster.add(alice, jid("dave@elsewhere.org")));  // remote contacts are allowed
  CHECK(f.state(alice, bob) == "none/none");
  CHECK(f.state(bob, alice) == "absent");  // adding is one-sided

  REQUIRE(roster.subscribe(alice, bob));
  REQUIRE(roster.add(alice, bob));  // an existing item is left unchanged
  CHECK(f.state(alice, bob) == "none/out");

  const auto items = roster.items(alice);
  REQUIRE(items.size() == 3);
  CHECK(items[0].jid == bob);
  CHECK(items[1].jid == carol);
  CHECK(items[2].jid == jid("dave@elsewhere.org"));
  CHECK(roster.items(jid("ghost@localhost")).empty());
}

TEST_CASE("add rejects unknown local accounts") {
  ON_EVERY_DRIVER;
  auto result = roster.add(alice, jid("ghost@localhost"));
  REQUIRE_FALSE(result);
  CHECK(result.error() == RosterError::contact_not_found);
  CHECK(roster.items(alice).empty());
}

TEST_CASE("operations on a missing item answer not_in_roster") {
  ON_EVERY_DRIVER;
  auto subscribe = roster.subscribe(alice, bob);
  auto approve = roster.approve(alice, bob);
  auto remove = roster.remove(alice, bob);
  REQUIRE_FALSE(subscribe);
  REQUIRE_FALSE(approve);
  REQUIRE_FALSE(remove);
  CHECK(subscribe.error() == RosterError::not_in_roster);
  CHECK(approve.error() == RosterError::not_in_roster);
  CHECK(remove.error() == RosterError::not_in_roster);
  CHECK(f.state(bob, alice) == "absent");
}

TEST_CASE("A invites B, then B accepts; and the other way round") {
  ON_EVERY_DRIVER;
  REQUIRE(roster.add(alice, bob));
  REQUIRE(roster.subscribe(alice, bob));
  CHECK(f.state(alice, bob) == "none/out");
  CHECK(f.state(bob, alice) == "none/in");  // pending-in is listed

  REQUIRE(roster.approve(bob, alice));
  CHECK(f.state(alice, bob) == "to/none");
  CHECK(f.state(bob, alice) == "from/none");

  REQUIRE(roster.subscribe(alice, bob));  // again once subscribed: nothing changes
  CHECK(f.state(alice, bob) == "to/none");
  CHECK(f.state(bob, alice) == "from/none");

  REQUIRE(roster.add(carol, alice));
  REQUIRE(roster.subscribe(carol, alice));
  REQUIRE(roster.approve(alice, carol));
  CHECK(f.state(carol, alice) == "to/none");
  CHECK(f.state(alice, carol) == "from/none");
}

TEST_CASE("mutual subscription ends in both/none") {
  ON_EVERY_DRIVER;
  REQUIRE(roster.add(alice, bob));
  REQUIRE(roster.subscribe(alice, bob));
  REQUIRE(roster.subscribe(bob, alice));  // Bob's item exists (pending in)
  CHECK(f.state(alice, bob) == "none/both");
  CHECK(f.state(bob, alice) == "none/both");

  REQUIRE(roster.approve(bob, alice));
  CHECK(f.state(alice, bob) == "to/in");
  CHECK(f.state(bob, alice) == "from/out");

  REQUIRE(roster.approve(alice, bob));
  CHECK(f.state(alice, bob) == "both/none");
  CHECK(f.state(bob, alice) == "both/none");
}

TEST_CASE("approve without a pending request changes nothing") {
  ON_EVERY_DRIVER;
  REQUIRE(roster.add(alice, bob));
  REQUIRE(roster.add(bob, alice));
  REQUIRE(roster.approve(alice, bob));
  CHECK(f.state(alice, bob) == "none/none");
  CHECK(f.state(bob, alice) == "none/none");

  REQUIRE(roster.subscribe(alice, bob));
  REQUIRE(roster.approve(alice, bob));  // Alice's request is outgoing, not incoming
  CHECK(f.state(alice, bob) == "none/out");
  CHECK(f.state(bob, alice) == "none/in");
}

TEST_CASE("subscribing to a remote contact changes only our side") {
  ON_EVERY_DRIVER;
  const Jid remote = jid("dave@elsewhere.org");
  REQUIRE(roster.add(alice, remote));
  REQUIRE(roster.subscribe(alice, remote));
  CHECK(f.state(alice, remote) == "none/out");
  CHECK(roster.items(remote).empty());
}

TEST_CASE("removal cancels the subscriptions both ways") {
  ON_EVERY_DRIVER;
  REQUIRE(roster.add(alice, bob));
  REQUIRE(roster.subscribe(alice, bob));
  REQUIRE(roster.subscribe(bob, alice));
  REQUIRE(roster.approve(bob, alice));
  REQUIRE(roster.approve(alice, bob));
  REQUIRE(f.state(alice, bob) == "both/none");

  SECTION("the inviter removes") {
    REQUIRE(roster.remove(alice, bob));
    CHECK(f.state(alice, bob) == "absent");
    CHECK(f.state(bob, alice) == "none/none");
    auto again = roster.remove(alice, bob);
    REQUIRE_FALSE(again);
    CHECK(again.error() == RosterError::not_in_roster);
  }
  SECTION("the invitee removes") {
    REQUIRE(roster.remove(bob, alice));
    CHECK(f.state(bob, alice) == "absent");
    CHECK(f.state(alice, bob) == "none/none");
  }
}

TEST_CASE("removal cancels a pending request and keeps the order of the others") {
  ON_EVERY_DRIVER;
  REQUIRE(roster.add(alice, bob));
  REQUIRE(roster.add(alice, carol));
  REQUIRE(roster.subscribe(alice, bob));
  REQUIRE(roster.remove(alice, bob));
  CHECK(f.state(bob, alice) == "none/none");
  REQUIRE(roster.approve(bob, alice));  // nothing left to approve
  CHECK(f.state(bob, alice) == "none/none");
  CHECK(f.state(alice, bob) == "absent");

  REQUIRE(roster.add(alice, bob));
  const auto items = roster.items(alice);
  REQUIRE(items.size() == 2);
  CHECK(items[0].jid == carol);
  CHECK(items[1].jid == bob);
}

TEST_CASE("rosters survive reopening") {
  const std::string driver = GENERATE(from_range(drivers()));
  INFO("driver: " << driver);
  TestDatabase database(driver);
  const Jid alice = jid("alice@localhost");
  const Jid bob = jid("bob@localhost");
  {
    auto backend = open_backend(database.config());
    Calls calls{backend->backend()};
    REQUIRE(backend->add_user(alice, "a"));
    REQUIRE(backend->add_user(bob, "b"));
    REQUIRE(calls.add(alice, bob));
    REQUIRE(calls.subscribe(alice, bob));
  }
  auto backend = open_backend(database.config());
  Calls calls{backend->backend()};
  auto items = calls.items(bob);
  REQUIRE(items.size() == 1);
  CHECK(items[0].jid == alice);
  CHECK(items[0].ask == Ask::in);
}
