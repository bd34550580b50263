// POST /rooms/{id}/users and DELETE /rooms/{id}/users/{user} through Api::handle.
#include <string>

#include <catch2/catch.hpp>

#include "api_fixture.hpp"

using mimrest::Response;
using mimrest::test::ApiFixture;
using mimrest::test::FixtureOptions;
using mimrest::test::parse_json;
using mimrest::test::require_error;
using mimrest::test::to_json;
using mimrest::test::valid_error_message;

namespace {

void add_user(const ApiFixture& f, std::string_view user,
              std::string_view actor = "alice@localhost") {
  Response response =
      f.post("/rooms/team/users", R"({"user":")" + std::string(user) + "\"}", actor);
  INFO("body: " << response.body);
  REQUIRE(response.status == 204);
  CHECK(response.body.empty());
}

/// The participants of "team" as compact JSON, seen by `user`.
std::string participants(const ApiFixture& f, std::string_view user = "alice@localhost") {
  Response response = f.get("/rooms/team", user);
  INFO("body: " << response.body);
  REQUIRE(response.status == 200);
  return to_json(parse_json(response.body)["participants"]);
}

void create_team(const ApiFixture& f) {
  REQUIRE(f.put("/rooms/team", R"({"name":"Team","subject":"Work"})").status == 201);
}

}  // namespace

TEST_CASE("The owner adds members") {
  ApiFixture f;
  create_team(f);
  add_user(f, "bob@localhost");
  add_user(f, "Carol@LOCALHOST");  // prepared like any JID
  CHECK(participants(f) ==
        R"([{"user":"alice@localhost","role":"owner"},{"user":"bob@localhost","role":"member"},)"
        R"({"user":"carol@localhost","role":"member"}])");
  // New members see the room.
  CHECK(to_json(parse_json(f.get("/rooms", "bob@localhost").body)) ==
        R"([{"id":"team","name":"Team","subject":"Work"}])");
  CHECK(participants(f, "carol@localhost") == participants(f));
}

TEST_CASE("A full JID is added as its bare JID, and so is a room JID path") {
  ApiFixture f;
  create_team(f);
  Response response =
      f.post("/rooms/team%40muclight.localhost/users", R"({"user":"bob@localhost/phone"})");
  REQUIRE(response.status == 204);
  CHECK(participants(f) ==
        R"([{"user":"alice@localhost","role":"owner"},{"user":"bob@localhost","role":"member"}])");
}

TEST_CASE("Adding checks the ID, the body, the JID, then the caller's rights") {
  ApiFixture f;
  create_team(f);
  add_user(f, "bob@localhost");
  require_error(f.post("/rooms/%40bad/users", R"({"user":"carol@localhost"})"), 400,
                "Invalid room ID");
  require_error(f.post("/rooms/team/users", "{}"), 400, "Missing JID");
  require_error(f.post("/rooms/team/users", R"({"jid":"carol@localhost"})"), 400, "Missing JID");
  require_error(f.post("/rooms/team/users", R"({"user":"@invalid"})"), 400,
                "Invalid user JID: @invalid");
  require_error(f.post("/rooms/team/users", R"({"user":"carol@"})"), 400,
                "Invalid user JID: carol@");
  require_error(f.post("/rooms/team/users", R"({"user":42})"), 400, "Invalid user JID: 42");
  require_error(f.post("/rooms/team/users", "nope"), 400, "Invalid request body");
  require_error(f.post("/rooms/team/users", R"({"user":"carol@localhost"})", "bob@localhost"), 403,
                "Given user does not have permission to change affiliations");
  require_error(f.post("/rooms/team/users", R"({"user":"carol@localhost"})", "carol@localhost"),
                403, "Given user does not occupy this room");
  require_error(f.post("/rooms/nosuchroom/users", R"({"user":"carol@localhost"})"), 404,
                "Room not found");
  CHECK(participants(f) ==
        R"([{"user":"alice@localhost","role":"owner"},{"user":"bob@localhost","role":"member"}])");
}

// not-gateway: XEP-0045 lets only admins change affiliations: a member cannot remove itself (403 on
// the gateway).
TEST_CASE("The owner removes anyone, a member only themself", "[not-gateway]") {
  ApiFixture f;
  create_team(f);
  add_user(f, "bob@localhost");
  add_user(f, "carol@localhost");

  require_error(f.del("/rooms/team/users/carol@localhost", {}, "bob@localhost"), 403,
                "Given user does not have permission to change affiliations");
  require_error(f.del("/rooms/team/users/alice@localhost", {}, "bob@localhost"), 403,
                "Given user does not have permission to change affiliations");

  Response removed = f.del("/rooms/team/users/carol%40localhost");
  CHECK(removed.status == 204);
  CHECK(removed.body.empty());
  require_error(f.get("/rooms/team", "carol@localhost"), 403,
                "Given user does not occupy this room");
  CHECK(to_json(parse_json(f.get("/rooms", "carol@localhost").body)) == "[]");

  CHECK(f.del("/rooms/team/users/bob@localhost", {}, "bob@localhost").status == 204);
  CHECK(to_json(parse_json(f.get("/rooms", "bob@localhost").body)) == "[]");
  CHECK(participants(f) == R"([{"user":"alice@localhost","role":"owner"}])");
}

TEST_CASE("Removing checks the ID, the JID, then the caller's rights") {
  ApiFixture f;
  create_team(f);
  add_user(f, "bob@localhost");
  require_error(f.del("/rooms/team/users"), 400, "Missing JID");
  require_error(f.del("/rooms/%40bad/users"), 400, "Invalid room ID");
  require_error(f.del("/rooms/%40bad/users/bob@localhost"), 400, "Invalid room ID");
  require_error(f.del("/rooms/team/users/%40invalid"), 400, "Invalid user JID: @invalid");
  require_error(f.del("/rooms/team/users/bob@localhost", {}, "carol@localhost"), 403,
                "Given user does not occupy this room");
  require_error(f.del("/rooms/nosuchroom/users/bob@localhost"), 404, "Room not found");
  CHECK(participants(f) ==
        R"([{"user":"alice@localhost","role":"owner"},{"user":"bob@localhost","role":"member"}])");
}

TEST_CASE("When the owner leaves, the longest-standing member becomes owner") {
  ApiFixture f;
  create_team(f);
  add_user(f, "bob@localhost");
  add_user(f, "carol@localhost");
  CHECK(f.del("/rooms/team/users/alice@localhost").status == 204);

  CHECK(to_json(parse_json(f.get("/rooms").body)) == "[]");
  require_error(f.get("/rooms/team"), 403, "Given user does not occupy this room");
  CHECK(participants(f, "bob@localhost") ==
        R"([{"user":"bob@localhost","role":"owner"},{"user":"carol@localhost","role":"member"}])");
  // Bob now holds the owner's rights.
  CHECK(f.put("/rooms/team/config", R"({"name":"Bob's","subject":"S"})", "bob@localhost").status ==
        204);
  CHECK(f.post("/rooms/team/users", R"({"user":"alice@localhost"})", "bob@localhost").status ==
        204);
}

TEST_CASE("When the last occupant leaves, the room is gone") {
  ApiFixture f;
  create_team(f);
  add_user(f, "bob@localhost");
  CHECK(f.del("/rooms/team/users/bob@localhost").status == 204);
  CHECK(f.del("/rooms/team/users/alice@localhost").status == 204);

  CHECK(to_json(parse_json(f.get("/rooms").body)) == "[]");
  require_error(f.get("/rooms/team"), 404, "Room not found");
  require_error(f.get("/rooms/team/messages"), 404, "Room not found");
  // The ID is free again.
  CHECK(f.put("/rooms/team", R"({"name":"Again","subject":"S"})", "bob@localhost").status == 201);
}

// not-gateway: XEP-0045 rooms archive no affiliation notices.
TEST_CASE("Affiliation changes are archived in the room", "[not-gateway]") {
  ApiFixture f;
  create_team(f);
  // Creation itself archives nothing.
  CHECK(to_json(parse_json(f.get("/rooms/team/messages").body)) == "[]");

  add_user(f, "bob@localhost");
  f.advance_ms(1);
  CHECK(f.del("/rooms/team/users/bob@localhost").status == 204);

  Response response = f.get("/rooms/team/messages");
  REQUIRE(response.status == 200);
  auto messages = parse_json(response.body);
  REQUIRE(messages.IsArray());
  REQUIRE(messages.Size() == 2);
  const auto& added = messages[0];
  CHECK(to_json(added["type"]) == R"("affiliation")");
  CHECK(to_json(added["affiliation"]) == R"("member")");
  CHECK(to_json(added["user"]) == R"("bob@localhost")");
  CHECK(to_json(added["from"]) == R"("team@muclight.localhost")");
  CHECK(added["timestamp"].IsInt64());
  CHECK(added["timestamp"].GetInt64() == mimrest::test::kStartUs / 1000);
  const auto& removed = messages[1];
  CHECK(to_json(removed["type"]) == R"("affiliation")");
  CHECK(to_json(removed["affiliation"]) == R"("none")");
  CHECK(to_json(removed["user"]) == R"("bob@localhost")");
  CHECK(removed["timestamp"].GetInt64() == mimrest::test::kStartUs / 1000 + 1);
}

TEST_CASE("Without MUC Light the users paths answer 404") {
  FixtureOptions options;
  options.backend.muc_light_enabled = false;
  ApiFixture f(std::move(options));
  const std::string not_found = "MUC Light server not found";
  require_error(f.post("/rooms/team/users", R"({"user":"bob@localhost"})"), 404, not_found);
  require_error(f.del("/rooms/team/users/bob@localhost"), 404, not_found);
  require_error(f.del("/rooms/team/users"), 404, not_found);
}

TEST_CASE("An echoed user JID that is not valid UTF-8 is answered in valid JSON, with U+FFFD") {
  ApiFixture f;
  create_team(f);
  auto removed = f.del("/rooms/team/users/alice%40localho%F3%26t");
  CHECK(removed.status == 400);
  CHECK(valid_error_message(removed) == "Invalid user JID: alice@localho\xEF\xBF\xBD&t");
}
