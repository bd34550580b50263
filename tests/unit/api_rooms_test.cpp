// GET /rooms, POST /rooms, PUT /rooms[/{id}], GET /rooms/{id} through Api::handle.
#include <set>
#include <string>

#include <catch2/catch.hpp>

#include "api_fixture.hpp"

using mimrest::Response;
using mimrest::test::ApiFixture;
using mimrest::test::FixtureOptions;
using mimrest::test::parse_json;
using mimrest::test::require_error;
using mimrest::test::to_json;

namespace {

std::string string_of(const rapidjson::Value& value) {
  REQUIRE(value.IsString());
  return std::string(value.GetString(), value.GetStringLength());
}

/// Creates a room with a fresh ID as `user` and returns the ID.
std::string create_room(const ApiFixture& f, std::string_view user = "alice@localhost",
                        const std::string& body = R"({"name":"Room","subject":"Talk"})") {
  Response response = f.post("/rooms", body, user);
  REQUIRE(response.status == 201);
  auto json = parse_json(response.body);
  REQUIRE(json.IsObject());
  REQUIRE(json.MemberCount() == 1);
  return string_of(json["id"]);
}

}  // namespace

TEST_CASE("GET /rooms is empty for a user in no room") {
  ApiFixture f;
  Response response = f.get("/rooms");
  REQUIRE(response.status == 200);
  CHECK(response.headers.get("Content-Type").value_or("") == "application/json");
  CHECK(to_json(parse_json(response.body)) == "[]");
}

TEST_CASE("POST /rooms creates a room with a fresh ID owned by the caller") {
  ApiFixture f;
  Response response = f.post("/rooms", R"({"name":"Room","subject":"Talk","extra":1})");
  REQUIRE(response.status == 201);
  CHECK(response.headers.get("Content-Type").value_or("") == "application/json");
  auto json = parse_json(response.body);
  std::string id = string_of(json["id"]);
  CHECK_FALSE(id.empty());
  CHECK(id.find('@') == std::string::npos);

  auto rooms = parse_json(f.get("/rooms").body);
  CHECK(to_json(rooms) == R"([{"id":")" + id + R"(","name":"Room","subject":"Talk"}])");

  Response info = f.get("/rooms/" + id);
  REQUIRE(info.status == 200);
  CHECK(
      to_json(parse_json(info.body)) ==
      R"({"name":"Room","subject":"Talk","participants":[{"user":"alice@localhost","role":"owner"}]})");
}

TEST_CASE("POST /rooms gives every room its own ID") {
  ApiFixture f;
  std::set<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    ids.insert(create_room(f));
  }
  CHECK(ids.size() == 5);
  auto rooms = parse_json(f.get("/rooms").body);
  REQUIRE(rooms.IsArray());
  CHECK(rooms.Size() == 5);
}

TEST_CASE("POST /rooms checks name, then subject, then their types") {
  ApiFixture f;
  require_error(f.post("/rooms", R"({"subject":"Talk"})"), 400, "Missing room name");
  require_error(f.post("/rooms", R"({})"), 400, "Missing room name");
  require_error(f.post("/rooms", R"({"name":"Room"})"), 400, "Missing room subject");
  require_error(f.post("/rooms", R"({"name":1,"subject":"Talk"})"), 400,
                "Validation failed for key: roomname with reason type_error");
  require_error(f.post("/rooms", R"({"name":"Room","subject":null})"), 400,
                "Validation failed for key: subject with reason type_error");
  require_error(f.post("/rooms", R"({"name":[],"subject":{}})"), 400,
                "Validation failed for key: roomname with reason type_error");
  require_error(f.post("/rooms", "not json"), 400, "Invalid request body");
  require_error(f.post("/rooms", R"(["name","subject"])"), 400, "Invalid request body");
  // Nothing was created along the way.
  CHECK(to_json(parse_json(f.get("/rooms").body)) == "[]");
}

TEST_CASE("Room names and subjects keep any text") {
  ApiFixture f;
  std::string body =
      R"({"name":"\"quoted\" <b>&amp;","subject":"za\u017c\u00f3\u0142\u0107 \\ /"})";
  std::string id = create_room(f, "alice@localhost", body);
  auto info = parse_json(f.get("/rooms/" + id).body);
  CHECK(string_of(info["name"]) == "\"quoted\" <b>&amp;");
  CHECK(string_of(info["subject"]) == "za\xc5\xbc\xc3\xb3\xc5\x82\xc4\x87 \\ /");
}

TEST_CASE("PUT /rooms/{id} creates the room with that ID") {
  ApiFixture f;
  Response response = f.put("/rooms/myroom", R"({"name":"Mine","subject":"Ours"})");
  REQUIRE(response.status == 201);
  CHECK(to_json(parse_json(response.body)) == R"({"id":"myroom"})");
  CHECK(to_json(parse_json(f.get("/rooms").body)) ==
        R"([{"id":"myroom","name":"Mine","subject":"Ours"}])");

  SECTION("a second PUT of the same ID is denied") {
    require_error(f.put("/rooms/myroom", R"({"name":"Other","subject":"Other"})"), 403,
                  "Room already exists");
    require_error(f.put("/rooms/myroom", R"({"name":"Other","subject":"Other"})", "bob@localhost"),
                  403, "Room already exists");
    CHECK(string_of(parse_json(f.get("/rooms/myroom").body)["name"]) == "Mine");
  }
  SECTION("the ID is prepared like a JID localpart") {
    require_error(f.put("/rooms/MyRoom", R"({"name":"Other","subject":"Other"})"), 403,
                  "Room already exists");
    CHECK(f.get("/rooms/MYROOM").status == 200);
  }
}

TEST_CASE("PUT /rooms/{id} accepts a room JID on the user's MUC Light service") {
  ApiFixture f;
  Response response = f.put("/rooms/jidroom@muclight.localhost", R"({"name":"N","subject":"S"})");
  REQUIRE(response.status == 201);
  CHECK(to_json(parse_json(response.body)) == R"({"id":"jidroom"})");

  // Percent-encoded and differently cased, it is the same room.
  CHECK(f.get("/rooms/jidroom%40MUCLIGHT.localhost").status == 200);
  CHECK(f.get("/rooms/jidroom").status == 200);
  require_error(f.put("/rooms/jidroom", R"({"name":"N","subject":"S"})"), 403,
                "Room already exists");
}

TEST_CASE("PUT /rooms checks the ID first, then name, then subject") {
  ApiFixture f;
  require_error(f.put("/rooms", R"({"name":"N","subject":"S"})"), 400, "Missing room ID");
  require_error(f.put("/rooms", "not json"), 400, "Missing room ID");
  require_error(f.put("/rooms/%40invalid", R"({"name":"N","subject":"S"})"), 400,
                "Invalid room ID");
  require_error(f.put("/rooms/%40invalid", R"({})"), 400, "Invalid room ID");
  require_error(f.put("/rooms/room@muclight.otherhost", R"({})"), 400, "Invalid MUC Light domain");
  require_error(f.put("/rooms/room@localhost", R"({"name":"N","subject":"S"})"), 400,
                "Invalid MUC Light domain");
  require_error(f.put("/rooms/newroom", R"({"subject":"S"})"), 400, "Missing room name");
  require_error(f.put("/rooms/newroom", R"({"name":"N"})"), 400, "Missing room subject");
  require_error(f.put("/rooms/newroom", R"({"name":"N","subject":5})"), 400,
                "Validation failed for key: subject with reason type_error");
  require_error(f.put("/rooms/newroom", "[]"), 400, "Invalid request body");
  CHECK(f.get("/rooms/newroom").status == 404);
}

TEST_CASE("GET /rooms/{id} answers only occupants") {
  ApiFixture f;
  std::string id = create_room(f);
  require_error(f.get("/rooms/" + id, "bob@localhost"), 403,
                "Given user does not occupy this room");
  require_error(f.get("/rooms/unknownroom"), 404, "Room not found");
  require_error(f.get("/rooms/unknownroom", "bob@localhost"), 404, "Room not found");
  require_error(f.get("/rooms/%40bad"), 400, "Invalid room ID");
  require_error(f.get("/rooms/" + id + "%40muclight.example.org"), 400, "Invalid MUC Light domain");
  CHECK(f.get("/rooms/" + id + "%40muclight.localhost").status == 200);
}

TEST_CASE("GET /rooms lists only the caller's rooms") {
  ApiFixture f;
  std::string alices = create_room(f, "alice@localhost", R"({"name":"A","subject":"a"})");
  std::string bobs = create_room(f, "bob@localhost", R"({"name":"B","subject":"b"})");
  CHECK(to_json(parse_json(f.get("/rooms").body)) ==
        R"([{"id":")" + alices + R"(","name":"A","subject":"a"}])");
  CHECK(to_json(parse_json(f.get("/rooms", "bob@localhost").body)) ==
        R"([{"id":")" + bobs + R"(","name":"B","subject":"b"}])");
  CHECK(to_json(parse_json(f.get("/rooms", "carol@localhost").body)) == "[]");
}

// not-gateway: needs a second hosted domain; the test XMPP server hosts one.
TEST_CASE("A room JID of another domain's MUC Light service is refused", "[not-gateway]") {
  FixtureOptions options;
  options.backend.domains = {"localhost", "example.com"};
  ApiFixture f(std::move(options));
  auto dave = mimrest::test::jid("dave@example.com");
  REQUIRE(f.store().add_user(dave, mimrest::test::kPassword).has_value());

  Response created = f.put("/rooms/shared", R"({"name":"N","subject":"S"})", "dave@example.com");
  REQUIRE(created.status == 201);
  // Dave's room lives on muclight.example.com; for alice a bare ID means
  // muclight.localhost and the JID of dave's room is on a foreign service.
  require_error(f.get("/rooms/shared@muclight.example.com"), 400, "Invalid MUC Light domain");
  require_error(f.get("/rooms/shared"), 404, "Room not found");
  CHECK(f.get("/rooms/shared@muclight.example.com", "dave@example.com").status == 200);
  require_error(f.get("/rooms/shared@muclight.localhost", "dave@example.com"), 400,
                "Invalid MUC Light domain");
  // The same ID is free on alice's service.
  CHECK(f.put("/rooms/shared", R"({"name":"N","subject":"S"})").status == 201);
}

TEST_CASE("Without MUC Light the room paths answer 404") {
  FixtureOptions options;
  options.backend.muc_light_enabled = false;
  ApiFixture f(std::move(options));
  const std::string not_found = "MUC Light server not found";

  CHECK(to_json(parse_json(f.get("/rooms").body)) == "[]");
  require_error(f.post("/rooms", R"({"name":"N","subject":"S"})"), 404, not_found);
  // The service is looked up before the body is read.
  require_error(f.post("/rooms", R"({})"), 404, not_found);
  require_error(f.put("/rooms/room", R"({"name":"N","subject":"S"})"), 404, not_found);
  require_error(f.put("/rooms/%40invalid", R"({})"), 404, not_found);
  require_error(f.get("/rooms/room"), 404, not_found);
  require_error(f.get("/rooms/room@muclight.localhost"), 404, not_found);
  // Without an ID there is nothing to look up.
  require_error(f.put("/rooms", R"({"name":"N","subject":"S"})"), 400, "Missing room ID");
}
