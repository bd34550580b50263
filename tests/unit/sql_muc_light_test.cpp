// MUC Light rooms of the SQL backend on SQLite and PostgreSQL: creation,
// configuration, affiliations, broadcasts and the room archive (mirrors
// memory_muc_light_test.cpp).
#include <catch2/catch.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <rapidjson/document.h>
#include <pugixml.hpp>

#include "mimrest/stanza_json.hpp"
#include "sql_test_support.hpp"

using namespace mimrest;
using namespace mimrest::test::sql;

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
using Occupants = std::vector<std::pair<std::string, Affiliation>>;

struct Fixture {
  explicit Fixture(const std::string& driver, bool all_can_configure = false,
                   std::size_t max_result_limit = 500)
      : database(driver) {
    auto config = database.config();
    config.hosting.all_can_configure = all_can_configure;
    config.hosting.max_result_limit = max_result_limit;
    config.hosting.now_us = [clock = clock] { return clock->load(); };
    backend = open_backend(config);
    muc.api = backend->backend();
    for (const auto* name : {"alice", "bob", "carol", "dave"}) {
      REQUIRE(backend->add_user(jid(std::string(name) + "@localhost"), "p"));
      sinks.push_back(std::make_shared<RecordingSink>());
      sessions.push_back(
          muc.open_session(jid(std::string(name) + "@localhost/sse-1"), sinks.back()));
    }
  }
  RecordingSink& sink(const Jid& user) {
    return *sinks[user == alice ? 0 : user == bob ? 1 : user == carol ? 2 : 3];
  }
  /// Waits for `count` stanzas on `user`'s session and takes them.
  std::vector<RoutedStanzaPtr> take(const Jid& user, std::size_t count) {
    REQUIRE(sink(user).wait_for(count));
    return sink(user).take();
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
  Occupants occupants(const Jid& room) {
    auto info = muc.room_info(alice, room);
    if (!info) {
      info = muc.room_info(bob, room);
    }
    REQUIRE(info);
    Occupants result;
    for (const auto& occupant : info->occupants) {
      result.emplace_back(occupant.user.bare_string(), occupant.affiliation);
    }
    return result;
  }
  std::vector<ArchivedMessage> archive(const Jid& reader, const Jid& room) {
    auto rows = muc.room_messages(RoomArchiveQuery{reader, room, std::nullopt, std::nullopt, 500});
    REQUIRE(rows);
    return *rows;
  }

  std::shared_ptr<std::atomic<std::int64_t>> clock =
      std::make_shared<std::atomic<std::int64_t>>(1000);
  TestDatabase database;
  std::unique_ptr<SqlBackend> backend;
  Calls muc;
  std::vector<std::shared_ptr<RecordingSink>> sinks;
  std::vector<std::unique_ptr<Session>> sessions;
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

#define ON_EVERY_DRIVER                                       \
  const std::string driver = GENERATE(from_range(drivers())); \
  INFO("driver: " << driver);                                 \
  Fixture f(driver);                                          \
  [[maybe_unused]] auto& muc = f.muc

}  // namespace

TEST_CASE("creating a room with a fresh ID") {
  ON_EVERY_DRIVER;
  auto room = muc.create_room(f.alice, std::nullopt, RoomConfig{"Room", "Topic"});
  REQUIRE(room);
  CHECK(room->domain() == "muclight.localhost");
  CHECK_FALSE(room->local().empty());
  CHECK(room->is_bare());

  auto info = muc.room_info(f.alice, *room);
  REQUIRE(info);
  CHECK(info->room == *room);
  CHECK(info->config.name == "Room");
  CHECK(info->config.subject == "Topic");
  REQUIRE(info->occupants.size() == 1);
  CHECK(info->occupants[0].user == f.alice);
  CHECK(info->occupants[0].affiliation == Affiliation::owner);

  // Creation archives nothing; the creator alone learns of the ownership.
  CHECK(f.archive(f.alice, *room).empty());
  auto notices = f.take(f.alice, 1);
  REQUIRE(notices.size() == 1);
  CHECK(notices[0]->sequence() == 0);
  auto notice = parse_affiliations(notices[0]->xml());
  CHECK(notice.from == room->bare_string());
  CHECK(notice.type == "groupchat");
  CHECK(notice.users == Users{{"owner", "alice@localhost"}});
  CHECK(f.sink(f.bob).size() == 0);

  std::set<std::string> nodes;
  for (int i = 0; i < 20; ++i) {
    auto another = muc.create_room(f.alice, std::nullopt, RoomConfig{"n", "s"});
    REQUIRE(another);
    nodes.insert(another->local());
  }
  CHECK(nodes.size() == 20);
}

TEST_CASE("creating a room with a given ID") {
  ON_EVERY_DRIVER;
  const Jid wanted = jid("656c6f656c6f@muclight.localhost");
  auto room = muc.create_room(f.alice, wanted, RoomConfig{"n", "s"});
  REQUIRE(room);
  CHECK(*room == wanted);

  auto taken = muc.create_room(f.bob, wanted, RoomConfig{"other", "other"});
  REQUIRE_FALSE(taken);
  CHECK(taken.error() == RoomErrorKind::already_exists);
  CHECK(muc.room_info(f.alice, wanted)->config.name == "n");

  auto foreign = muc.create_room(f.alice, jid("x@muclight.example.com"), RoomConfig{"n", "s"});
  REQUIRE_FALSE(foreign);
  CHECK(foreign.error() == RoomErrorKind::not_allowed);
}

TEST_CASE("no rooms where MUC Light is disabled") {
  const std::string driver = GENERATE(from_range(drivers()));
  INFO("driver: " << driver);
  TestDatabase database(driver);
  auto config = database.config();
  config.hosting.muc_light_enabled = false;
  auto backend = open_backend(config);
  Calls muc{backend->backend()};
  CHECK_FALSE(muc.service_domain("localhost"));
  auto room = muc.create_room(jid("alice@localhost"), std::nullopt, RoomConfig{"n", "s"});
  REQUIRE_FALSE(room);
  CHECK(room.error() == RoomErrorKind::room_not_found);
}

TEST_CASE("user_rooms lists the rooms of a user in creation order") {
  ON_EVERY_DRIVER;
  auto first = muc.create_room(f.alice, std::nullopt, RoomConfig{"first", "1"});
  auto second = muc.create_room(f.bob, std::nullopt, RoomConfig{"second", "2"});
  auto third = muc.create_room(f.alice, std::nullopt, RoomConfig{"third", "3"});
  REQUIRE(first);
  REQUIRE(second);
  REQUIRE(third);
  REQUIRE(muc.set_affiliation(f.bob, *second, f.alice, Affiliation::member));

  const auto rooms = muc.user_rooms(f.alice);
  REQUIRE(rooms.size() == 3);
  CHECK(rooms[0].room == *first);
  CHECK(rooms[0].config.name == "first");
  CHECK(rooms[1].room == *second);
  CHECK(rooms[2].room == *third);
  REQUIRE(muc.user_rooms(f.bob).size() == 1);
  CHECK(muc.user_rooms(f.carol).empty());
}

TEST_CASE("room_info needs an existing room and an occupant; config permissions") {
  ON_EVERY_DRIVER;
  const Jid room = f.room_with_members();
  auto missing = muc.room_info(f.alice, jid("nope@muclight.localhost"));
  REQUIRE_FALSE(missing);
  CHECK(missing.error() == RoomErrorKind::room_not_found);
  auto outsider = muc.room_info(f.dave, room);
  REQUIRE_FALSE(outsider);
  CHECK(outsider.error() == RoomErrorKind::not_occupant);
  CHECK(f.occupants(room) == Occupants{{"alice@localhost", Affiliation::owner},
                                       {"bob@localhost", Affiliation::member},
                                       {"carol@localhost", Affiliation::member}});

  CHECK(muc.set_config(f.alice, room, RoomConfig{"new", "topic"}));
  CHECK(muc.room_info(f.bob, room)->config.name == "new");
  CHECK(muc.room_info(f.bob, room)->config.subject == "topic");
  CHECK(error_of(muc.set_config(f.bob, room, RoomConfig{"bob's", "x"})) ==
        RoomErrorKind::not_allowed);
  CHECK(error_of(muc.set_config(f.dave, room, RoomConfig{"dave's", "x"})) ==
        RoomErrorKind::not_occupant);
  CHECK(error_of(muc.set_config(f.alice, jid("nope@muclight.localhost"), RoomConfig{})) ==
        RoomErrorKind::room_not_found);
  CHECK(muc.room_info(f.alice, room)->config.name == "new");
}

TEST_CASE("all_can_configure lets members change the config") {
  const std::string driver = GENERATE(from_range(drivers()));
  INFO("driver: " << driver);
  Fixture f(driver, true);
  const Jid room = f.room_with_members();
  CHECK(f.muc.set_config(f.bob, room, RoomConfig{"bob's", "x"}));
  CHECK(f.muc.room_info(f.alice, room)->config.name == "bob's");
  CHECK(error_of(f.muc.set_config(f.dave, room, RoomConfig{"dave's", "x"})) ==
        RoomErrorKind::not_occupant);
}

TEST_CASE("adding a member is broadcast and archived with one sequence") {
  ON_EVERY_DRIVER;
  auto created = muc.create_room(f.alice, std::nullopt, RoomConfig{"n", "s"});
  REQUIRE(created);
  const Jid room = *created;
  f.take(f.alice, 1);

  REQUIRE(muc.set_affiliation(f.alice, room, f.bob, Affiliation::member));
  auto to_alice = f.take(f.alice, 1);
  auto to_bob = f.take(f.bob, 1);
  REQUIRE(to_alice.size() == 1);
  REQUIRE(to_bob.size() == 1);
  CHECK(to_alice[0]->sequence() == to_bob[0]->sequence());
  auto message = parse_affiliations(to_bob[0]->xml());
  CHECK(message.from == room.bare_string());
  CHECK(message.type == "groupchat");
  CHECK(message.id.size() == 36);  // a UUID
  CHECK(message.users == Users{{"member", "bob@localhost"}});
  CHECK(f.sink(f.carol).size() == 0);

  auto rows = f.archive(f.alice, room);
  REQUIRE(rows.size() == 1);
  CHECK(parse_affiliations(rows[0].stanza_xml).users == Users{{"member", "bob@localhost"}});
  CHECK(static_cast<std::uint64_t>(rows[0].timestamp_us) == to_bob[0]->sequence());
  CHECK(f.archive(f.bob, room).size() == 1);  // new members read the room history too
}

TEST_CASE("affiliation permissions and no-ops") {
  ON_EVERY_DRIVER;
  const Jid room = f.room_with_members();
  const Jid nowhere = jid("nope@muclight.localhost");
  CHECK(error_of(muc.set_affiliation(f.bob, room, f.dave, Affiliation::member)) ==
        RoomErrorKind::not_allowed);
  CHECK(error_of(muc.set_affiliation(f.bob, room, f.carol, Affiliation::none)) ==
        RoomErrorKind::not_allowed);
  CHECK(error_of(muc.set_affiliation(f.dave, room, f.dave, Affiliation::member)) ==
        RoomErrorKind::not_occupant);
  CHECK(error_of(muc.set_affiliation(f.dave, room, f.dave, Affiliation::none)) ==
        RoomErrorKind::not_occupant);
  CHECK(error_of(muc.set_affiliation(f.alice, nowhere, f.bob, Affiliation::member)) ==
        RoomErrorKind::room_not_found);
  CHECK(error_of(muc.set_affiliation(f.alice, room, f.bob, Affiliation::owner)) ==
        RoomErrorKind::not_allowed);
  CHECK(muc.set_affiliation(f.alice, room, f.bob, Affiliation::member));
  CHECK(muc.set_affiliation(f.alice, room, f.dave, Affiliation::none));
  CHECK(f.occupants(room).size() == 3);
  CHECK(f.archive(f.alice, room).size() == 2);
  for (auto& s : f.sinks) {
    CHECK(s->size() == 0);
  }
}

TEST_CASE("a member leaves, the owner removes another") {
  ON_EVERY_DRIVER;
  const Jid room = f.room_with_members();
  REQUIRE(muc.set_affiliation(f.bob, room, f.bob, Affiliation::none));
  CHECK(f.occupants(room) == Occupants{{"alice@localhost", Affiliation::owner},
                                       {"carol@localhost", Affiliation::member}});
  for (const Jid& user : {f.alice, f.bob, f.carol}) {
    auto got = f.take(user, 1);
    REQUIRE(got.size() == 1);
    CHECK(parse_affiliations(got[0]->xml()).users == Users{{"none", "bob@localhost"}});
  }
  CHECK(muc.user_rooms(f.bob).empty());
  CHECK(error_of(muc.set_affiliation(f.bob, room, f.bob, Affiliation::none)) ==
        RoomErrorKind::not_occupant);

  REQUIRE(muc.set_affiliation(f.alice, room, f.carol, Affiliation::none));
  CHECK(f.take(f.carol, 1).size() == 1);  // the removed user is told
  CHECK(f.sink(f.bob).size() == 0);       // a former occupant is not
  CHECK(f.archive(f.alice, room).size() == 4);
}

TEST_CASE("the owner leaving hands the room to the longest-standing member") {
  ON_EVERY_DRIVER;
  const Jid room = f.room_with_members();
  REQUIRE(muc.set_affiliation(f.alice, room, f.alice, Affiliation::none));
  CHECK(f.occupants(room) ==
        Occupants{{"bob@localhost", Affiliation::owner}, {"carol@localhost", Affiliation::member}});
  const Users expected{{"none", "alice@localhost"}, {"owner", "bob@localhost"}};
  for (const Jid& user : {f.alice, f.bob, f.carol}) {
    auto got = f.take(user, 1);
    REQUIRE(got.size() == 1);
    CHECK(parse_affiliations(got[0]->xml()).users == expected);
  }
  auto rows = f.archive(f.bob, room);
  REQUIRE(rows.size() == 3);
  CHECK(parse_affiliations(rows.back().stanza_xml).users == expected);
  CHECK(muc.set_affiliation(f.bob, room, f.dave, Affiliation::member));
  CHECK(muc.set_config(f.bob, room, RoomConfig{"bob's", "s"}));
  CHECK(error_of(muc.set_config(f.alice, room, RoomConfig{})) == RoomErrorKind::not_occupant);
}

TEST_CASE("the owner handover skips members who already left") {
  ON_EVERY_DRIVER;
  const Jid room = f.room_with_members();
  REQUIRE(muc.set_affiliation(f.alice, room, f.dave, Affiliation::member));
  REQUIRE(muc.set_affiliation(f.bob, room, f.bob, Affiliation::none));
  REQUIRE(muc.set_affiliation(f.alice, room, f.bob, Affiliation::member));  // bob rejoins last
  REQUIRE(muc.set_affiliation(f.alice, room, f.alice, Affiliation::none));
  CHECK(f.occupants(room) == Occupants{{"carol@localhost", Affiliation::owner},
                                       {"dave@localhost", Affiliation::member},
                                       {"bob@localhost", Affiliation::member}});
}

TEST_CASE("the last occupant leaving destroys the room and its archive") {
  ON_EVERY_DRIVER;
  const Jid room = f.room_with_members();
  REQUIRE(muc.send_message(f.bob, room, "<message type=\"groupchat\"><body>hi</body></message>"));
  REQUIRE(muc.set_affiliation(f.bob, room, f.bob, Affiliation::none));
  REQUIRE(muc.set_affiliation(f.carol, room, f.carol, Affiliation::none));
  f.take(f.alice, 3);
  REQUIRE(muc.set_affiliation(f.alice, room, f.alice, Affiliation::none));

  auto got = f.take(f.alice, 1);
  REQUIRE(got.size() == 1);  // the leaver is still told
  CHECK(parse_affiliations(got[0]->xml()).users == Users{{"none", "alice@localhost"}});
  auto info = muc.room_info(f.alice, room);
  REQUIRE_FALSE(info);
  CHECK(info.error() == RoomErrorKind::room_not_found);
  CHECK(muc.user_rooms(f.alice).empty());

  REQUIRE(muc.create_room(f.dave, room, RoomConfig{"again", "s"}));  // the same ID starts afresh
  CHECK(f.archive(f.dave, room).empty());
}

TEST_CASE("room messages are rewritten, delivered to every occupant, archived once") {
  ON_EVERY_DRIVER;
  const Jid room = f.room_with_members();
  const std::string sent =
      "<message type=\"groupchat\" from=\"bob@localhost\" to=\"" + room.bare_string() +
      "\" id=\"m1\"><body>a &amp; b</body><markable xmlns=\"urn:xmpp:chat-markers:0\"/></message>";
  REQUIRE(muc.send_message(f.bob, room, sent));
  const std::string from = room.bare_string() + "/bob@localhost";
  const std::string expected =
      "<message type=\"groupchat\" from=\"" + from + "\" to=\"" + room.bare_string() +
      "\" id=\"m1\"><body>a &amp; b</body><markable xmlns=\"urn:xmpp:chat-markers:0\"/></message>";
  auto rows = f.archive(f.carol, room);
  REQUIRE(rows.size() == 3);
  CHECK(rows.back().stanza_xml == expected);

  RoutedStanzaPtr first;
  for (const Jid& user : {f.alice, f.bob, f.carol}) {
    auto got = f.take(user, 1);
    REQUIRE(got.size() == 1);
    CHECK(got[0]->xml() == expected);
    CHECK(got[0]->sequence() == static_cast<std::uint64_t>(rows.back().timestamp_us));
    if (first) {
      CHECK(got[0] == first);  // one object for the whole broadcast
    }
    first = got[0];
  }
  CHECK(f.sink(f.dave).size() == 0);
}

TEST_CASE("room message text keeps whitespace and carriage returns") {
  ON_EVERY_DRIVER;
  const Jid room = f.room_with_members();
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
        f.bob, room, "<message type=\"groupchat\" id=\"m\"><body>" + sent + "</body></message>"));
    // A carriage return is written as a reference: a raw one would be read
    // back as a line feed.
    std::string body;
    for (char c : text) {
      body += c == '\r' ? std::string("&#13;") : std::string(1, c);
    }
    const std::string expected = "<message type=\"groupchat\" id=\"m\" from=\"" + from +
                                 "\"><body>" + body + "</body></message>";
    CHECK(f.archive(f.alice, room).back().stanza_xml == expected);
    for (const Jid& user : {f.alice, f.bob, f.carol}) {
      const auto got = f.take(user, 1);
      REQUIRE(got.size() == 1);
      CHECK(got[0]->xml() == expected);
    }
    const auto json = message_to_json(expected, {});
    REQUIRE(json);
    rapidjson::Document document;
    document.Parse(json->c_str(), json->size());
    REQUIRE(document.HasMember("body"));
    CHECK(std::string(document["body"].GetString(), document["body"].GetStringLength()) == text);
  }
}

TEST_CASE("sending to a room needs the room and an occupant") {
  ON_EVERY_DRIVER;
  const Jid room = f.room_with_members();
  const std::string stanza = "<message type=\"groupchat\"><body>x</body></message>";
  CHECK(error_of(muc.send_message(f.dave, room, stanza)) == RoomErrorKind::not_occupant);
  CHECK(error_of(muc.send_message(f.alice, jid("nope@muclight.localhost"), stanza)) ==
        RoomErrorKind::room_not_found);
  CHECK(error_of(muc.send_message(f.alice, room, "not xml <")) == RoomErrorKind::validation_failed);
  CHECK(error_of(muc.send_message(f.alice, room, "<presence/>")) ==
        RoomErrorKind::validation_failed);
  CHECK(f.archive(f.alice, room).size() == 2);
}

TEST_CASE("room archive paging") {
  const std::string driver = GENERATE(from_range(drivers()));
  INFO("driver: " << driver);
  Fixture f(driver, false, 3);
  auto room = f.muc.create_room(f.alice, std::nullopt, RoomConfig{"n", "s"});
  REQUIRE(room);
  for (int i = 1; i <= 5; ++i) {
    f.clock->store(i * 100);
    REQUIRE(f.muc.send_message(
        f.alice, *room,
        "<message type=\"groupchat\"><body>" + std::to_string(i) + "</body></message>"));
  }
  auto stamps = [&](std::optional<std::int64_t> before, std::size_t limit,
                    std::optional<std::int64_t> after = std::nullopt) {
    auto rows = f.muc.room_messages(RoomArchiveQuery{f.alice, *room, before, after, limit});
    REQUIRE(rows);
    std::vector<std::int64_t> result;
    for (const auto& row : *rows) {
      result.push_back(row.timestamp_us);
    }
    return result;
  };
  using Stamps = std::vector<std::int64_t>;
  CHECK(stamps(std::nullopt, 50) == Stamps{300, 400, 500});  // capped
  CHECK(stamps(std::nullopt, 2) == Stamps{400, 500});
  CHECK(stamps(std::nullopt, 0).empty());
  CHECK(stamps(300, 50) == Stamps{100, 200});
  CHECK(stamps(301, 1) == Stamps{300});
  CHECK(stamps(std::nullopt, 2, 100) == Stamps{200, 300});
  CHECK(stamps(500, 50, 200) == Stamps{300, 400});

  auto outsider =
      f.muc.room_messages(RoomArchiveQuery{f.dave, *room, std::nullopt, std::nullopt, 50});
  REQUIRE_FALSE(outsider);
  CHECK(outsider.error() == RoomErrorKind::not_occupant);
  auto missing = f.muc.room_messages(
      RoomArchiveQuery{f.alice, jid("nope@muclight.localhost"), std::nullopt, std::nullopt, 50});
  REQUIRE_FALSE(missing);
  CHECK(missing.error() == RoomErrorKind::room_not_found);
}

TEST_CASE("concurrent room messages and membership changes are all archived") {
  ON_EVERY_DRIVER;
  const Jid room = f.room_with_members();
  constexpr int per_sender = 40;
  const std::vector<Jid> senders{f.alice, f.bob, f.carol};
  Backend api = f.backend->backend();
  std::atomic<int> finished{0};
  std::vector<std::thread> threads;
  for (const auto& sender : senders) {
    threads.emplace_back([&, sender] {
      for (int n = 0; n < per_sender; ++n) {
        api.muc_light->async_send_message(sender, room,
                                          "<message type=\"groupchat\"><body>x</body></message>",
                                          [&](RoomResult) { ++finished; });
      }
    });
  }
  std::thread churn([&] {
    for (int n = 0; n < 10; ++n) {
      api.muc_light->async_set_affiliation(f.alice, room, f.dave, Affiliation::member,
                                           [&](RoomResult) { ++finished; });
      api.muc_light->async_set_affiliation(f.alice, room, f.dave, Affiliation::none,
                                           [&](RoomResult) { ++finished; });
    }
  });
  for (auto& thread : threads) {
    thread.join();
  }
  churn.join();
  const int expected_ops = static_cast<int>(senders.size()) * per_sender + 20;
  const auto deadline = std::chrono::steady_clock::now() + kWait;
  while (finished.load() < expected_ops && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  REQUIRE(finished.load() == expected_ops);
  auto rows = f.archive(f.alice, room);
  CHECK(rows.size() == senders.size() * per_sender + 20 + 2);
  REQUIRE(f.sink(f.bob).wait_for(rows.size() - 2));
  auto delivered = f.sink(f.bob).take();
  CHECK(delivered.size() == rows.size() - 2);
  for (std::size_t i = 1; i < delivered.size(); ++i) {
    CHECK(delivered[i - 1]->sequence() < delivered[i]->sequence());
  }
}

TEST_CASE("removing an account makes it leave its rooms") {
  ON_EVERY_DRIVER;
  const Jid room = f.room_with_members();
  REQUIRE(f.backend->remove_user(f.alice));
  CHECK(f.occupants(room) ==
        Occupants{{"bob@localhost", Affiliation::owner}, {"carol@localhost", Affiliation::member}});
  auto got = f.take(f.bob, 1);
  CHECK(parse_affiliations(got[0]->xml()).users ==
        Users{{"none", "alice@localhost"}, {"owner", "bob@localhost"}});
}
