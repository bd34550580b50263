// PUT /rooms/{id}/config through Api::handle.
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

constexpr const char* kNewConfig = R"({"name":"New name","subject":"New subject"})";

/// alice owns "cfgroom" ({"name":"Old","subject":"Old subject"}); bob is a member.
void set_up_room(const ApiFixture& f) {
  REQUIRE(f.put("/rooms/cfgroom", R"({"name":"Old","subject":"Old subject"})").status == 201);
  REQUIRE(f.post("/rooms/cfgroom/users", R"({"user":"bob@localhost"})").status == 204);
}

std::string name_and_subject(const ApiFixture& f, std::string_view user = "alice@localhost") {
  Response response = f.get("/rooms/cfgroom", user);
  REQUIRE(response.status == 200);
  auto json = parse_json(response.body);
  return to_json(json["name"]) + " " + to_json(json["subject"]);
}

}  // namespace

TEST_CASE("The owner changes name and subject") {
  ApiFixture f;
  set_up_room(f);
  Response response = f.put("/rooms/cfgroom/config", kNewConfig);
  CHECK(response.status == 204);
  CHECK(response.body.empty());
  CHECK(name_and_subject(f) == R"("New name" "New subject")");
  // Everyone in the room sees it, and so does the room list.
  CHECK(name_and_subject(f, "bob@localhost") == R"("New name" "New subject")");
  CHECK(to_json(parse_json(f.get("/rooms", "bob@localhost").body)) ==
        R"([{"id":"cfgroom","name":"New name","subject":"New subject"}])");
}

TEST_CASE("The room may be named by its JID") {
  ApiFixture f;
  set_up_room(f);
  CHECK(f.put("/rooms/cfgroom%40muclight.localhost/config", kNewConfig).status == 204);
  CHECK(name_and_subject(f) == R"("New name" "New subject")");
}

TEST_CASE("Only the owner may change the config by default") {
  ApiFixture f;
  set_up_room(f);
  require_error(f.put("/rooms/cfgroom/config", kNewConfig, "bob@localhost"), 403,
                "Given user does not have permission to change config");
  require_error(f.put("/rooms/cfgroom/config", kNewConfig, "carol@localhost"), 403,
                "Given user does not occupy this room");
  require_error(f.put("/rooms/nosuchroom/config", kNewConfig), 404, "Room not found");
  CHECK(name_and_subject(f) == R"("Old" "Old subject")");
}

// not-gateway: XEP-0045 lets only owners configure a room (403 on the gateway).
TEST_CASE("With all_can_configure a member may change the config", "[not-gateway]") {
  FixtureOptions options;
  options.backend.all_can_configure = true;
  ApiFixture f(std::move(options));
  set_up_room(f);
  CHECK(f.put("/rooms/cfgroom/config", kNewConfig, "bob@localhost").status == 204);
  CHECK(name_and_subject(f) == R"("New name" "New subject")");
  // Still not someone outside the room.
  require_error(f.put("/rooms/cfgroom/config", R"({"name":"X","subject":"Y"})", "carol@localhost"),
                403, "Given user does not occupy this room");
  CHECK(name_and_subject(f) == R"("New name" "New subject")");
}

TEST_CASE("Config requests are checked: ID, name, subject, room, value types") {
  ApiFixture f;
  set_up_room(f);
  require_error(f.put("/rooms/%40bad/config", "{}"), 400, "Invalid room ID");
  require_error(f.put("/rooms/cfgroom@muclight.elsewhere/config", "{}"), 400,
                "Invalid MUC Light domain");
  require_error(f.put("/rooms/cfgroom/config", R"({"subject":"S"})"), 400, "Missing room name");
  require_error(f.put("/rooms/cfgroom/config", R"({"name":"N"})"), 400, "Missing room subject");
  require_error(f.put("/rooms/cfgroom/config", "not json"), 400, "Invalid request body");
  require_error(f.put("/rooms/cfgroom/config", R"({"name":true,"subject":"S"})"), 400,
                "Validation failed for key: roomname with reason type_error");
  require_error(f.put("/rooms/cfgroom/config", R"({"name":"N","subject":12.5})"), 400,
                "Validation failed for key: subject with reason type_error");
  require_error(f.put("/rooms/cfgroom/config", R"({"name":null,"subject":null})"), 400,
                "Validation failed for key: roomname with reason type_error");
  // The value check comes after the room and the caller's place in it.
  require_error(f.put("/rooms/nosuchroom/config", R"({"name":1,"subject":"S"})"), 404,
                "Room not found");
  require_error(f.put("/rooms/cfgroom/config", R"({"name":1,"subject":"S"})", "carol@localhost"),
                403, "Given user does not occupy this room");
  CHECK(name_and_subject(f) == R"("Old" "Old subject")");
}

TEST_CASE("Without MUC Light the config path answers 404") {
  FixtureOptions options;
  options.backend.muc_light_enabled = false;
  ApiFixture f(std::move(options));
  require_error(f.put("/rooms/cfgroom/config", kNewConfig), 404, "MUC Light server not found");
  require_error(f.put("/rooms/%40bad/config", "{}"), 404, "MUC Light server not found");
}
