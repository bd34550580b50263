// MUC Light rooms of the in-memory backend: creation, configuration,
// affiliations, broadcasts and the room archive.
#include <catch2/catch.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <rapidjson/document.h>
#include <pugixml.hpp>

#include "await.hpp"
#include "mimrest/memory/memory_backend.hpp"
#include "mimrest/stanza_json.hpp"
#include "recording_stanza_sink.hpp"
#include "test_jid.hpp"

using mimrest::Affiliation;
using mimrest::ArchivedMessage;
using mimrest::CreateRoomResult;
using mimrest::Jid;
using mimrest::MucLight;
using mimrest::RoomArchiveQuery;
using mimrest::RoomConfig;
using mimrest::RoomErrorKind;
using mimrest::RoomInfoResult;
using mimrest::RoomMessagesResult;
using mimrest::RoomResult;
using mimrest::RoomSummary;
using mimrest::memory::MemoryBackend;
using mimrest::memory::MemoryBackendConfig;
using mimrest::test::await;
using mimrest::test::jid;
using mimrest::test::RecordingStanzaSink;

namespace {

/// The parts of an affiliation message tests look at.
struct AffiliationMessage {
  std::string from, to, type, id;
  std::vector<std::pair<std::string, std::string>> users;  // (affiliation, jid)
};

AffiliationMessage parse_affiliations(const std::string& xml) {
  pugi::xml_document document;
  REQUIRE(document.load_string(xml.c_str()));
  auto message = document.child("message");
  REQUIRE(message);
  AffiliationMessage result{message.attribute("from").value(),
                            message.attribute("to").value(),
                            message.attribute("type").value(),
                            message.attribute("id").value(),
                            {}};
  auto x = message.child("x");
  REQUIRE(std::string(x.attribute("xmlns").value()) == "urn:xmpp:muclight:0#affiliations");
  for (auto user : x.children("user")) {
    result.users.emplace_back(user.attribute("affiliation").value(), user.text().get());
  }
  return result;
}

using Users = std::vector<std::pair<std::string, std::string>>;

/// The room operations called through await(): the memory backend completes
/// each one inline. Asserts, so call it on the test's thread only.
class Rooms {
 public:
  explicit Rooms(MucLight& muc) : muc_(muc) {}
  std::optional<std::string> service_domain(std::string_view user_domain) const {
    return mimrest::test::service_domain(muc_, user_domain);
  }
  CreateRoomResult create_room(const Jid& owner, const std::optional<Jid>& room,
                               const RoomConfig& config) {
    return await(muc_, &MucLight::async_create_room, owner, room, config);
  }
  /// The rooms of `user`; the listing itself must succeed.
  std::vector<RoomSummary> user_rooms(const Jid& user) {
    auto rooms = await(muc_, &MucLight::async_user_rooms, user);
    REQUIRE(rooms);
    return *rooms;
  }
  RoomInfoResult room_info(const Jid& user, const Jid& room) {
    return await(muc_, &MucLight::async_room_info, user, room);
  }
  RoomResult set_config(const Jid& user, const Jid& room, const RoomConfig& config) {
    return await(muc_, &MucLight::async_set_config, user, room, config);
  }
  RoomResult set_affiliation(const Jid& actor, const Jid& room, const Jid& target,
                             Affiliation affiliation) {
    return await(muc_, &MucLight::async_set_affiliation, actor, room, target, affiliation);
  }
  RoomResult send_message(const Jid& sender, const Jid& room, std::string stanza_xml) {
    return await(muc_, &MucLight::async_send_message, sender, room, std::move(stanza_xml));
  }
  RoomMessagesResult messages(const RoomArchiveQuery& query) {
    return await(muc_, &MucLight::async_messages, query);
  }
  /// The newest `limit` messages strictly before `before`.
  RoomMessagesResult messages_before(const Jid& reader, const Jid& room,
                                     std::optional<std::int64_t> before, std::size_t limit) {
    return messages(RoomArchiveQuery{reader, room, before, std::nullopt, limit});
  }
  /// The interface itself, for threads (which must not assert).
  MucLight& async() { return muc_; }

 private:
  MucLight& muc_;
};

struct Fixture {
  Fixture() : Fixture(false) {}
  explicit Fixture(bool all_can_configure)
      : backend(config(all_can_configure)), api(backend.backend()), muc(*api.muc_light) {
    for (const auto* name : {"alice", "bob", "carol", "dave"}) {
      const Jid user = jid(std::string(name) + "@localhost");
      REQUIRE(backend.add_user(user, "p"));
      sinks.push_back(std::make_shared<RecordingStanzaSink>());
      auto session = await(*api.sessions, &mimrest::SessionManager::async_open_session,
                           jid(std::string(name) + "@localhost/sse-1"), sinks.back());
      REQUIRE(session);
      sessions.push_back(std::move(*session));
    }
  }
  static MemoryBackendConfig config(bool all_can_configure) {
    MemoryBackendConfig result;
    result.password_iterations = 16;
    result.all_can_configure = all_can_configure;
    return result;
  }
  RecordingStanzaSink& sink(const Jid& user) {
    return *sinks[user == alice ? 0 : user == bob ? 1 : user == carol ? 2 : 3];
  }
  void clear_sinks() {
    for (auto& s : sinks) {
      s->take();
    }
  }
  /// Alice's room with Bob and then Carol as members; sinks cleared. Its
  /// archive holds the two affiliation messages.
  Jid room_with_members() {
    auto room = muc.create_room(alice, std::nullopt, RoomConfig{"name", "subject"});
    REQUIRE(room);
    REQUIRE(muc.set_affiliation(alice, *room, bob, Affiliation::member));
    REQUIRE(muc.set_affiliation(alice, *room, carol, Affiliation::member));
    clear_sinks();
    return *room;
  }
  std::vector<std::pair<std::string, Affiliation>> occupants(const Jid& room) {
    auto info = muc.room_info(alice, room);
    if (!info) {
      info = muc.room_info(bob, room);
    }
    REQUIRE(info);
    std::vector<std::pair<std::string, Affiliation>> result;
    for (const auto& occupant : info->occupants) {
      result.emplace_back(occupant.user.bare_string(), occupant.affiliation);
    }
    return result;
  }
  std::vector<ArchivedMessage> archive(const Jid& reader, const Jid& room) {
    auto rows = muc.messages_before(reader, room, std::nullopt, 500);
    REQUIRE(rows);
    return *rows;
  }

  MemoryBackend backend;
  mimrest::Backend api;
  Rooms muc;
  std::vector<std::shared_ptr<RecordingStanzaSink>> sinks;
  std::vector<std::unique_ptr<mimrest::Session>> sessions;
  Jid alice = jid("alice@localhost");
  Jid bob = jid("bob@localhost");
  Jid carol = jid("carol@localhost");
  Jid dave = jid("dave@localhost");
};

RoomErrorKind error_of(const mimrest::RoomResult& result) {
  REQUIRE_FALSE(result);
  REQUIRE_FALSE(result.error().is_failure());
  return result.error().domain().kind;
}

}  // namespace

TEST_CASE_METHOD(Fixture, "creating a room with a fresh ID") {
  auto room = muc.create_room(alice, std::nullopt, RoomConfig{"Room", "Topic"});
  REQUIRE(room);
  CHECK(room->domain() == "muclight.localhost");
  CHECK_FALSE(room->local().empty());
  CHECK(room->is_bare());

  auto info = muc.room_info(alice, *room);
  REQUIRE(info);
  CHECK(info->room == *room);
  CHECK(info->config.name == "Room");
  CHECK(info->config.subject == "Topic");
  REQUIRE(info->occupants.size() == 1);
  CHECK(info->occupants[0].user == alice);
  CHECK(info->occupants[0].affiliation == Affiliation::owner);

  // Creation archives nothing; the creator alone learns of the ownership.
  CHECK(archive(alice, *room).empty());
  auto notices = sink(alice).take();
  REQUIRE(notices.size() == 1);
  auto notice = parse_affiliations(notices[0]);
  CHECK(notice.from == room->bare_string());
  // Addressed to the room, like every room stanza a backend routes.
  CHECK(notice.to == room->bare_string());
  CHECK(notice.type == "groupchat");
  CHECK(notice.users == Users{{"owner", "alice@localhost"}});
  CHECK(sink(bob).take().empty());
}

TEST_CASE_METHOD(Fixture, "fresh room IDs are unique") {
  std::set<std::string> nodes;
  for (int i = 0; i < 50; ++i) {
    auto room = muc.create_room(alice, std::nullopt, RoomConfig{"n", "s"});
    REQUIRE(room);
    nodes.insert(room->local());
  }
  CHECK(nodes.size() == 50);
}

TEST_CASE_METHOD(Fixture, "creating a room with a given ID") {
  const Jid wanted = jid("656c6f656c6f@muclight.localhost");
  auto room = muc.create_room(alice, wanted, RoomConfig{"n", "s"});
  REQUIRE(room);
  CHECK(*room == wanted);

  auto taken = muc.create_room(bob, wanted, RoomConfig{"other", "other"});
  REQUIRE_FALSE(taken);
  CHECK(taken.error() == RoomErrorKind::already_exists);
  CHECK(muc.room_info(alice, wanted)->config.name == "n");

  auto foreign = muc.create_room(alice, jid("x@muclight.example.com"), RoomConfig{"n", "s"});
  REQUIRE_FALSE(foreign);
  CHECK(foreign.error() == RoomErrorKind::not_allowed);
}

TEST_CASE("no rooms where MUC Light is disabled") {
  MemoryBackendConfig config;
  config.password_iterations = 16;
  config.muc_light_enabled = false;
  MemoryBackend backend(config);
  Rooms muc(*backend.backend().muc_light);
  auto room = muc.create_room(jid("alice@localhost"), std::nullopt, RoomConfig{"n", "s"});
  REQUIRE_FALSE(room);
  CHECK(room.error() == RoomErrorKind::room_not_found);
}

TEST_CASE_METHOD(Fixture, "user_rooms lists the rooms of a user in creation order") {
  auto first = muc.create_room(alice, std::nullopt, RoomConfig{"first", "1"});
  auto second = muc.create_room(bob, std::nullopt, RoomConfig{"second", "2"});
  auto third = muc.create_room(alice, std::nullopt, RoomConfig{"third", "3"});
  REQUIRE(first);
  REQUIRE(second);
  REQUIRE(third);
  REQUIRE(muc.set_affiliation(bob, *second, alice, Affiliation::member));

  const auto rooms = muc.user_rooms(alice);
  REQUIRE(rooms.size() == 3);
  CHECK(rooms[0].room == *first);
  CHECK(rooms[0].config.name == "first");
  CHECK(rooms[1].room == *second);
  CHECK(rooms[2].room == *third);
  REQUIRE(muc.user_rooms(bob).size() == 1);
  CHECK(muc.user_rooms(carol).empty());
}

TEST_CASE_METHOD(Fixture, "room_info needs an existing room and an occupant") {
  const Jid room = room_with_members();
  auto missing = muc.room_info(alice, jid("nope@muclight.localhost"));
  REQUIRE_FALSE(missing);
  CHECK(missing.error() == RoomErrorKind::room_not_found);
  auto outsider = muc.room_info(dave, room);
  REQUIRE_FALSE(outsider);
  CHECK(outsider.error() == RoomErrorKind::not_occupant);
  CHECK(muc.room_info(carol, room));
  CHECK(occupants(room) ==
        std::vector<std::pair<std::string, Affiliation>>{{"alice@localhost", Affiliation::owner},
                                                         {"bob@localhost", Affiliation::member},
                                                         {"carol@localhost", Affiliation::member}});
}

TEST_CASE_METHOD(Fixture, "only the owner changes the config by default") {
  const Jid room = room_with_members();
  CHECK(muc.set_config(alice, room, RoomConfig{"new", "topic"}));
  CHECK(muc.room_info(bob, room)->config.name == "new");
  CHECK(muc.room_info(bob, room)->config.subject == "topic");

  CHECK(error_of(muc.set_config(bob, room, RoomConfig{"bob's", "x"})) ==
        RoomErrorKind::not_allowed);
  CHECK(error_of(muc.set_config(dave, room, RoomConfig{"dave's", "x"})) ==
        RoomErrorKind::not_occupant);
  CHECK(error_of(muc.set_config(alice, jid("nope@muclight.localhost"), RoomConfig{})) ==
        RoomErrorKind::room_not_found);
  CHECK(muc.room_info(alice, room)->config.name == "new");
}

TEST_CASE("all_can_configure lets members change the config") {
  Fixture f(true);
  const Jid room = f.room_with_members();
  CHECK(f.muc.set_config(f.bob, room, RoomConfig{"bob's", "x"}));
  CHECK(f.muc.room_info(f.alice, room)->config.name == "bob's");
  CHECK(error_of(f.muc.set_config(f.dave, room, RoomConfig{"dave's", "x"})) ==
        RoomErrorKind::not_occupant);
}

TEST_CASE_METHOD(Fixture, "adding a member is broadcast and archived") {
  auto created = muc.create_room(alice, std::nullopt, RoomConfig{"n", "s"});
  REQUIRE(created);
  const Jid room = *created;
  clear_sinks();

  REQUIRE(muc.set_affiliation(alice, room, bob, Affiliation::member));
  // ONE stanza, addressed to the room, for every occupant, with the
  // sequence of the room's archive row.
  const auto delivered_to_alice = sink(alice).routed();
  const auto delivered_to_bob = sink(bob).routed();
  REQUIRE(delivered_to_alice.size() == 1);
  REQUIRE(delivered_to_bob.size() == 1);
  CHECK(delivered_to_alice[0] == delivered_to_bob[0]);
  CHECK(delivered_to_alice[0]->sequence() != 0);
  auto last = await(*api.events, &mimrest::EventLog::async_last_sequence);
  REQUIRE(last);
  CHECK(delivered_to_alice[0]->sequence() == *last);
  for (const Jid& user : {alice, bob}) {
    auto got = sink(user).take();
    REQUIRE(got.size() == 1);
    auto message = parse_affiliations(got[0]);
    CHECK(message.from == room.bare_string());
    CHECK(message.to == room.bare_string());
    CHECK(message.type == "groupchat");
    CHECK(message.id.size() == 36);  // a UUID
    CHECK(message.users == Users{{"member", "bob@localhost"}});
  }
  CHECK(sink(carol).take().empty());

  auto rows = archive(alice, room);
  REQUIRE(rows.size() == 1);
  CHECK(parse_affiliations(rows[0].stanza_xml).users == Users{{"member", "bob@localhost"}});
  CHECK(archive(bob, room).size() == 1);  // new members read the room history too
}

TEST_CASE_METHOD(Fixture, "affiliation permissions") {
  const Jid room = room_with_members();
  const Jid nowhere = jid("nope@muclight.localhost");

  CHECK(error_of(muc.set_affiliation(bob, room, dave, Affiliation::member)) ==
        RoomErrorKind::not_allowed);
  CHECK(error_of(muc.set_affiliation(bob, room, carol, Affiliation::none)) ==
        RoomErrorKind::not_allowed);
  CHECK(error_of(muc.set_affiliation(dave, room, dave, Affiliation::member)) ==
        RoomErrorKind::not_occupant);
  CHECK(error_of(muc.set_affiliation(dave, room, dave, Affiliation::none)) ==
        RoomErrorKind::not_occupant);
  CHECK(error_of(muc.set_affiliation(alice, nowhere, bob, Affiliation::member)) ==
        RoomErrorKind::room_not_found);
  CHECK(error_of(muc.set_affiliation(alice, room, bob, Affiliation::owner)) ==
        RoomErrorKind::not_allowed);

  // No-ops: adding an occupant again, removing a non-occupant.
  CHECK(muc.set_affiliation(alice, room, bob, Affiliation::member));
  CHECK(muc.set_affiliation(alice, room, dave, Affiliation::none));
  CHECK(occupants(room).size() == 3);
  CHECK(archive(alice, room).size() == 2);
  for (auto& s : sinks) {
    CHECK(s->take().empty());
  }
}

TEST_CASE_METHOD(Fixture, "a member leaves, the owner removes another") {
  const Jid room = room_with_members();

  REQUIRE(muc.set_affiliation(bob, room, bob, Affiliation::none));
  CHECK(occupants(room) ==
        std::vector<std::pair<std::string, Affiliation>>{{"alice@localhost", Affiliation::owner},
                                                         {"carol@localhost", Affiliation::member}});
  for (const Jid& user : {alice, bob, carol}) {
    auto got = sink(user).take();
    REQUIRE(got.size() == 1);
    CHECK(parse_affiliations(got[0]).users == Users{{"none", "bob@localhost"}});
  }
  CHECK(muc.user_rooms(bob).empty());
  CHECK(error_of(muc.set_affiliation(bob, room, bob, Affiliation::none)) ==
        RoomErrorKind::not_occupant);

  REQUIRE(muc.set_affiliation(alice, room, carol, Affiliation::none));
  CHECK(sink(carol).take().size() == 1);  // the removed user is told
  CHECK(sink(bob).take().empty());        // a former occupant is not
  CHECK(archive(alice, room).size() == 4);
}

TEST_CASE_METHOD(Fixture, "the owner leaving hands the room to the longest-standing member") {
  const Jid room = room_with_members();
  REQUIRE(muc.set_affiliation(alice, room, alice, Affiliation::none));

  CHECK(occupants(room) ==
        std::vector<std::pair<std::string, Affiliation>>{{"bob@localhost", Affiliation::owner},
                                                         {"carol@localhost", Affiliation::member}});
  const Users expected{{"none", "alice@localhost"}, {"owner", "bob@localhost"}};
  for (const Jid& user : {alice, bob, carol}) {
    auto got = sink(user).take();
    REQUIRE(got.size() == 1);
    CHECK(parse_affiliations(got[0]).users == expected);
  }
  auto rows = archive(bob, room);
  REQUIRE(rows.size() == 3);
  CHECK(parse_affiliations(rows.back().stanza_xml).users == expected);

  // The new owner has the owner's rights; the old one none at all.
  CHECK(muc.set_affiliation(bob, room, dave, Affiliation::member));
  CHECK(muc.set_config(bob, room, RoomConfig{"bob's", "s"}));
  CHECK(error_of(muc.set_config(alice, room, RoomConfig{})) == RoomErrorKind::not_occupant);
}

TEST_CASE_METHOD(Fixture, "the owner handover skips members who already left") {
  const Jid room = room_with_members();
  REQUIRE(muc.set_affiliation(alice, room, dave, Affiliation::member));
  REQUIRE(muc.set_affiliation(bob, room, bob, Affiliation::none));
  REQUIRE(muc.set_affiliation(alice, room, bob, Affiliation::member));  // bob rejoins last
  REQUIRE(muc.set_affiliation(alice, room, alice, Affiliation::none));
  CHECK(occupants(room) ==
        std::vector<std::pair<std::string, Affiliation>>{{"carol@localhost", Affiliation::owner},
                                                         {"dave@localhost", Affiliation::member},
                                                         {"bob@localhost", Affiliation::member}});
}

TEST_CASE_METHOD(Fixture, "the last occupant leaving destroys the room and its archive") {
  const Jid room = room_with_members();
  REQUIRE(muc.send_message(bob, room, "<message type=\"groupchat\"><body>hi</body></message>"));
  REQUIRE(muc.set_affiliation(bob, room, bob, Affiliation::none));
  REQUIRE(muc.set_affiliation(carol, room, carol, Affiliation::none));
  clear_sinks();
  REQUIRE(muc.set_affiliation(alice, room, alice, Affiliation::none));

  auto got = sink(alice).take();
  REQUIRE(got.size() == 1);  // the leaver is still told
  CHECK(parse_affiliations(got[0]).users == Users{{"none", "alice@localhost"}});
  auto info = muc.room_info(alice, room);
  REQUIRE_FALSE(info);
  CHECK(info.error() == RoomErrorKind::room_not_found);
  CHECK(muc.user_rooms(alice).empty());

  // The same ID starts afresh.
  REQUIRE(muc.create_room(dave, room, RoomConfig{"again", "s"}));
  CHECK(archive(dave, room).empty());
}

TEST_CASE_METHOD(Fixture,
                 "room messages are rewritten, delivered to every occupant, archived once") {
  const Jid room = room_with_members();
  const std::string sent =
      "<message type=\"groupchat\" from=\"bob@localhost\" to=\"" + room.bare_string() +
      "\" id=\"m1\"><body>a &amp; b</body><markable xmlns=\"urn:xmpp:chat-markers:0\"/></message>";
  REQUIRE(muc.send_message(bob, room, sent));

  const std::string from = room.bare_string() + "/bob@localhost";
  const std::string expected_archived =
      "<message type=\"groupchat\" from=\"" + from + "\" to=\"" + room.bare_string() +
      "\" id=\"m1\"><body>a &amp; b</body><markable xmlns=\"urn:xmpp:chat-markers:0\"/></message>";
  auto rows = archive(carol, room);
  REQUIRE(rows.size() == 3);
  CHECK(rows.back().stanza_xml == expected_archived);

  // ONE stanza for every occupant, addressed to the room, carrying the
  // sequence of the room's row.
  const auto first = sink(alice).routed();
  REQUIRE(first.size() == 1);
  CHECK(first[0]->xml() == expected_archived);
  CHECK(first[0]->sequence() != 0);
  for (const Jid& user : {bob, carol}) {
    const auto routed = sink(user).routed();
    REQUIRE(routed.size() == 1);
    CHECK(routed[0] == first[0]);
  }
  auto last = await(*api.events, &mimrest::EventLog::async_last_sequence);
  REQUIRE(last);
  CHECK(first[0]->sequence() == *last);

  for (const Jid& user : {alice, bob, carol}) {
    auto got = sink(user).take();
    REQUIRE(got.size() == 1);
    pugi::xml_document document;
    REQUIRE(document.load_string(got[0].c_str()));
    auto message = document.child("message");
    CHECK(std::string(message.attribute("from").value()) == from);
    CHECK(std::string(message.attribute("to").value()) == room.bare_string());
    CHECK(std::string(message.attribute("id").value()) == "m1");
    CHECK(std::string(message.child("body").text().get()) == "a & b");
    CHECK(message.child("markable"));
  }
  CHECK(sink(dave).take().empty());
}

TEST_CASE_METHOD(Fixture, "room message text keeps whitespace and carriage returns") {
  const Jid room = room_with_members();
  // (the stanza's body as sent, the text it carries)
  const std::vector<std::pair<std::string, std::string>> bodies = {
      {"  ", "  "},        {"\t\n ", "\t\n "},
      {"a&#13;b", "a\rb"}, {"x&#13;\ny", "x\r\ny"},
      {"&#xD;", "\r"},     {" a &#13;\n b ", " a \r\n b "},
  };
  const std::string from = room.bare_string() + "/bob@localhost";
  for (const auto& [sent, text] : bodies) {
    INFO("sent: " << sent);
    REQUIRE(muc.send_message(
        bob, room, "<message type=\"groupchat\" id=\"m\"><body>" + sent + "</body></message>"));
    // A carriage return is written as a reference: a raw one would be read
    // back as a line feed.
    std::string body;
    for (char c : text) {
      body += c == '\r' ? std::string("&#13;") : std::string(1, c);
    }
    const std::string expected = "<message type=\"groupchat\" id=\"m\" from=\"" + from +
                                 "\"><body>" + body + "</body></message>";
    CHECK(archive(alice, room).back().stanza_xml == expected);
    for (const Jid& user : {alice, bob, carol}) {
      const auto got = sink(user).take();
      REQUIRE(got.size() == 1);
      CHECK(got[0] == expected);
    }
    const auto json = mimrest::message_to_json(expected, {});
    REQUIRE(json);
    rapidjson::Document document;
    document.Parse(json->c_str(), json->size());
    REQUIRE(document.HasMember("body"));
    CHECK(std::string(document["body"].GetString(), document["body"].GetStringLength()) == text);
  }
}

TEST_CASE_METHOD(Fixture, "sending to a room needs the room and an occupant") {
  const Jid room = room_with_members();
  const std::string stanza = "<message type=\"groupchat\"><body>x</body></message>";
  CHECK(error_of(muc.send_message(dave, room, stanza)) == RoomErrorKind::not_occupant);
  CHECK(error_of(muc.send_message(alice, jid("nope@muclight.localhost"), stanza)) ==
        RoomErrorKind::room_not_found);
  CHECK(error_of(muc.send_message(alice, room, "not xml <")) == RoomErrorKind::validation_failed);
  CHECK(error_of(muc.send_message(alice, room, "<presence/>")) == RoomErrorKind::validation_failed);
  CHECK(archive(alice, room).size() == 2);
}

TEST_CASE("room archive paging") {
  auto clock = std::make_shared<std::atomic<std::int64_t>>(1000);
  MemoryBackendConfig config;
  config.password_iterations = 16;
  config.max_result_limit = 3;
  config.now_us = [clock] { return clock->load(); };
  MemoryBackend backend(config);
  const Jid alice = jid("alice@localhost");
  const Jid dave = jid("dave@localhost");
  REQUIRE(backend.add_user(alice, "p"));
  Rooms muc(*backend.backend().muc_light);
  auto room = muc.create_room(alice, std::nullopt, RoomConfig{"n", "s"});
  REQUIRE(room);
  for (int i = 1; i <= 5; ++i) {
    clock->store(i * 100);
    REQUIRE(muc.send_message(
        alice, *room,
        "<message type=\"groupchat\"><body>" + std::to_string(i) + "</body></message>"));
  }
  auto stamps = [&](std::optional<std::int64_t> before, std::size_t limit) {
    auto rows = muc.messages_before(alice, *room, before, limit);
    REQUIRE(rows);
    std::vector<std::int64_t> result;
    for (const auto& row : *rows) {
      result.push_back(row.timestamp_us);
    }
    return result;
  };
  CHECK(stamps(std::nullopt, 50) == std::vector<std::int64_t>{300, 400, 500});  // capped
  CHECK(stamps(std::nullopt, 2) == std::vector<std::int64_t>{400, 500});
  CHECK(stamps(std::nullopt, 0).empty());
  CHECK(stamps(300, 50) == std::vector<std::int64_t>{100, 200});
  CHECK(stamps(301, 1) == std::vector<std::int64_t>{300});

  // Forward paging: the oldest rows strictly after the cursor, also capped.
  auto stamps_after = [&](std::int64_t after, std::optional<std::int64_t> before,
                          std::size_t limit) {
    auto rows = muc.messages(RoomArchiveQuery{alice, *room, before, after, limit});
    REQUIRE(rows);
    std::vector<std::int64_t> result;
    for (const auto& row : *rows) {
      result.push_back(row.timestamp_us);
    }
    return result;
  };
  CHECK(stamps_after(0, std::nullopt, 50) == std::vector<std::int64_t>{100, 200, 300});  // capped
  CHECK(stamps_after(100, std::nullopt, 2) == std::vector<std::int64_t>{200, 300});
  CHECK(stamps_after(300, std::nullopt, 50) == std::vector<std::int64_t>{400, 500});
  CHECK(stamps_after(500, std::nullopt, 50).empty());
  CHECK(stamps_after(100, std::nullopt, 0).empty());
  CHECK(stamps_after(100, 400, 50) == std::vector<std::int64_t>{200, 300});
  CHECK(stamps_after(100, 500, 1) == std::vector<std::int64_t>{200});
  CHECK(stamps_after(200, 300, 50).empty());

  auto outsider_after = muc.messages(RoomArchiveQuery{dave, *room, std::nullopt, 0, 50});
  REQUIRE_FALSE(outsider_after);
  CHECK(outsider_after.error() == RoomErrorKind::not_occupant);

  auto outsider = muc.messages_before(dave, *room, std::nullopt, 50);
  REQUIRE_FALSE(outsider);
  CHECK(outsider.error() == RoomErrorKind::not_occupant);
  auto missing = muc.messages_before(alice, jid("nope@muclight.localhost"), std::nullopt, 50);
  REQUIRE_FALSE(missing);
  CHECK(missing.error() == RoomErrorKind::room_not_found);
}

TEST_CASE_METHOD(Fixture, "concurrent room messages from several threads are all archived") {
  const Jid room = room_with_members();
  constexpr int per_sender = 200;
  const std::vector<Jid> senders{alice, bob, carol};
  std::vector<std::thread> threads;
  for (const auto& sender : senders) {
    threads.emplace_back([&, sender] {
      // No assertions off the test's thread: the result is dropped.
      for (int n = 0; n < per_sender; ++n) {
        muc.async().async_send_message(sender, room,
                                       "<message type=\"groupchat\"><body>x</body></message>",
                                       [](const RoomResult&) {});
      }
    });
  }
  // Membership changes run alongside the messages.
  std::thread churn([&] {
    for (int n = 0; n < 50; ++n) {
      muc.async().async_set_affiliation(alice, room, dave, Affiliation::member,
                                        [](const RoomResult&) {});
      muc.async().async_set_affiliation(alice, room, dave, Affiliation::none,
                                        [](const RoomResult&) {});
    }
  });
  for (auto& thread : threads) {
    thread.join();
  }
  churn.join();

  // The default cap is 50 rows per read: page backwards through everything.
  std::size_t total = 0;
  std::optional<std::int64_t> before;
  std::set<std::string> ids;
  for (;;) {
    auto page = muc.messages_before(alice, room, before, 50);
    REQUIRE(page);
    if (page->empty()) {
      break;
    }
    total += page->size();
    for (const auto& row : *page) {
      ids.insert(row.archive_id);
    }
    before = page->front().timestamp_us;
  }
  // The messages, the affiliation changes, and the two of the setup.
  CHECK(total == senders.size() * per_sender + 100 + 2);
  CHECK(ids.size() == total);
  CHECK(sink(bob).take().size() == total - 2);
}
