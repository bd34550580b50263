// The roster the gateway keeps from the server's roster and pushes.
#include <catch2/catch.hpp>

#include <pugixml.hpp>

#include "xmpp/roster_state.hpp"

using mimrest::Ask;
using mimrest::Jid;
using mimrest::RosterItem;
using mimrest::Subscription;
using mimrest::xmpp::RosterState;

namespace {

Jid jid(const char* text) {
  return Jid::parse(text).value();
}

/// The roster's <query/> from its items' XML.
pugi::xml_document query(const char* items) {
  pugi::xml_document document;
  std::string xml = std::string("<query xmlns='jabber:iq:roster'>") + items + "</query>";
  REQUIRE(document.load_string(xml.c_str()));
  return document;
}

std::string describe(const std::vector<RosterItem>& items) {
  std::string out;
  for (const auto& item : items) {
    out += item.jid.bare_string() + ":" + std::string(mimrest::to_string(item.subscription)) + "/" +
           std::string(mimrest::to_string(item.ask)) + " ";
  }
  return out;
}

}  // namespace

TEST_CASE("the roster's items in the server's order, with their states") {
  RosterState roster;
  auto result = query(
      "<item jid='bob@localhost' subscription='both'/>"
      "<item jid='carol@localhost' subscription='none' ask='subscribe'/>"
      "<item jid='dave@localhost' subscription='from'/>"
      "<item jid='dave@localhost/phone'/>");  // not a bare JID: ignored
  roster.reset(result.first_child());
  CHECK(describe(roster.items()) ==
        "bob@localhost:both/none carol@localhost:none/out dave@localhost:from/none ");
}

TEST_CASE("pushes change, add and remove items") {
  RosterState roster;
  auto result = query("<item jid='bob@localhost' subscription='none'/>");
  roster.reset(result.first_child());
  auto push = query(
      "<item jid='bob@localhost' subscription='to'/>"
      "<item jid='eve@localhost' subscription='none' ask='subscribe'/>");
  for (auto item : push.first_child().children("item")) {
    roster.apply(item);
  }
  CHECK(describe(roster.items()) == "bob@localhost:to/none eve@localhost:none/out ");
  auto removal = query("<item jid='bob@localhost' subscription='remove'/>");
  roster.apply(removal.first_child().first_child());
  CHECK(describe(roster.items()) == "eve@localhost:none/out ");
  CHECK_FALSE(roster.contains(jid("bob@localhost")));
  CHECK(roster.contains(jid("eve@localhost")));
}

TEST_CASE("requests waiting for an answer show as ask in, also without an item") {
  RosterState roster;
  auto result = query("<item jid='bob@localhost' subscription='none' ask='subscribe'/>");
  roster.reset(result.first_child());
  roster.set_pending_in(jid("bob@localhost"), true);
  roster.set_pending_in(jid("carol@localhost"), true);
  CHECK(describe(roster.items()) == "bob@localhost:none/both carol@localhost:none/in ");
  // Approving gives them our presence: the push says so, and the request is gone.
  auto approved = query("<item jid='carol@localhost' subscription='from'/>");
  roster.apply(approved.first_child().first_child());
  CHECK(describe(roster.items()) == "bob@localhost:none/both carol@localhost:from/none ");
  roster.set_pending_in(jid("bob@localhost"), false);
  CHECK(describe(roster.items()) == "bob@localhost:none/out carol@localhost:from/none ");
}
