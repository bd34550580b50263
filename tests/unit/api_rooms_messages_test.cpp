// GET and POST /rooms/{id}/messages through Api::handle.
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "api_fixture.hpp"

using mimrest::Response;
using mimrest::test::ApiFixture;
using mimrest::test::FixtureOptions;
using mimrest::test::kStartUs;
using mimrest::test::parse_json;
using mimrest::test::require_error;
using mimrest::test::to_json;

namespace {

/// alice owns "chat", bob is a member; the affiliation message that adding
/// bob archived is the first item of the room's history.
void set_up_room(const ApiFixture& f) {
  REQUIRE(f.put("/rooms/chat", R"({"name":"Chat","subject":"S"})").status == 201);
  REQUIRE(f.post("/rooms/chat/users", R"({"user":"bob@localhost"})").status == 204);
}

/// Posts to "chat" and returns the new message ID.
std::string post(const ApiFixture& f, const std::string& body,
                 std::string_view user = "alice@localhost") {
  Response response = f.post("/rooms/chat/messages", body, user);
  INFO("body: " << response.body);
  REQUIRE(response.status == 200);
  CHECK(response.headers.get("Content-Type").value_or("") == "application/json");
  auto json = parse_json(response.body);
  REQUIRE(json.IsObject());
  REQUIRE(json.MemberCount() == 1);
  REQUIRE(json["id"].IsString());
  return json["id"].GetString();
}

/// The room history seen by `user`, parsed; `query` may add "?limit=..".
rapidjson::Document history(const ApiFixture& f, const std::string& query = "",
                            std::string_view user = "alice@localhost") {
  Response response = f.get("/rooms/chat/messages" + query, user);
  INFO("body: " << response.body);
  REQUIRE(response.status == 200);
  auto json = parse_json(response.body);
  REQUIRE(json.IsArray());
  return json;
}

bool is_uuid(const std::string& text) {
  if (text.size() != 36) {
    return false;
  }
  for (std::size_t i = 0; i < text.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    char c = text[i];
    if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return true;
}

}  // namespace

// not-gateway: the history starts with MUC Light's affiliation notice and the fixture's clock;
// XEP-0045 rooms archive no notices.
TEST_CASE("A posted message is archived and read back in room encoding", "[not-gateway]") {
  ApiFixture f;
  set_up_room(f);
  f.set_now_us(kStartUs + 5'000'123);
  std::string id = post(f, R"({"body":"Hello <all> & \"you\""})");
  CHECK(is_uuid(id));

  auto messages = history(f);
  REQUIRE(messages.Size() == 2);
  CHECK(to_json(messages[1]) == R"({"id":")" + id + R"(","from":"alice@localhost","timestamp":)" +
                                    std::to_string((kStartUs + 5'000'123) / 1000) +
                                    R"(,"type":"message","body":"Hello <all> & \"you\""})");
  // Every occupant reads the same history.
  CHECK(to_json(history(f, "", "bob@localhost")) == to_json(messages));
}

// not-gateway: the history starts with MUC Light's affiliation notice; XEP-0045 rooms archive none.
TEST_CASE("Every posted message gets its own ID", "[not-gateway]") {
  ApiFixture f;
  set_up_room(f);
  std::string first = post(f, R"({"body":"one"})");
  std::string second = post(f, R"({"body":"two"})", "bob@localhost");
  CHECK(first != second);
  auto messages = history(f);
  REQUIRE(messages.Size() == 3);
  CHECK(to_json(messages[1]["id"]) == "\"" + first + "\"");
  CHECK(to_json(messages[2]["id"]) == "\"" + second + "\"");
  CHECK(to_json(messages[2]["from"]) == R"("bob@localhost")");
}

// not-gateway: the history starts with MUC Light's affiliation notice; XEP-0045 rooms archive none.
TEST_CASE("Markable and chat markers round trip", "[not-gateway]") {
  ApiFixture f;
  set_up_room(f);
  post(f, R"({"body":"mark me","markable":true})");
  post(f, R"({"body":"plain","markable":false})");
  post(f, R"({"body":"not a bool","markable":"true"})");
  std::string marker = post(f, R"({"chat_marker":{"type":"displayed","id":"abc-1"}})");
  post(f, R"({"chat_marker":{"type":"received","id":"abc-2"},"markable":true})");
  post(f, R"({"chat_marker":{"type":"acknowledged","id":"abc-3"}})", "bob@localhost");

  auto messages = history(f);
  REQUIRE(messages.Size() == 7);
  CHECK(to_json(messages[1]["markable"]) == "true");
  CHECK(to_json(messages[1]["body"]) == R"("mark me")");
  CHECK_FALSE(messages[2].HasMember("markable"));
  CHECK_FALSE(messages[3].HasMember("markable"));
  CHECK(to_json(messages[4]["chat_marker"]) == R"({"type":"displayed","id":"abc-1"})");
  CHECK(to_json(messages[4]["id"]) == "\"" + marker + "\"");
  CHECK(to_json(messages[4]["type"]) == R"("message")");
  CHECK_FALSE(messages[4].HasMember("body"));
  // markable without a body adds nothing.
  CHECK_FALSE(messages[5].HasMember("markable"));
  CHECK(to_json(messages[5]["chat_marker"]) == R"({"type":"received","id":"abc-2"})");
  CHECK(to_json(messages[6]["chat_marker"]) == R"({"type":"acknowledged","id":"abc-3"})");
}

// not-gateway: the history starts with MUC Light's affiliation notice; XEP-0045 rooms archive none.
TEST_CASE("A body and a chat marker may travel together", "[not-gateway]") {
  ApiFixture f;
  set_up_room(f);
  post(f, R"({"body":"both","markable":true,"chat_marker":{"type":"received","id":"m1"}})");
  auto messages = history(f);
  REQUIRE(messages.Size() == 2);
  CHECK(to_json(messages[1]["body"]) == R"("both")");
  // The stanza carries both; the JSON shows at least one of them.
  CHECK((messages[1].HasMember("markable") || messages[1].HasMember("chat_marker")));
}

// not-gateway: affiliation notice first; Prosody writes carriage returns unescaped (read back as
// line feeds).
TEST_CASE("Room message bodies read back exactly as sent: whitespace and carriage returns",
          "[not-gateway]") {
  ApiFixture f;
  set_up_room(f);
  // JSON text of each body, as posted and as it must come back.
  const std::vector<std::string> bodies = {R"("  ")",       R"("\t")",         R"("\n")",
                                           R"("a\rb")",     R"("x\r\ny")",     R"("\r")",
                                           R"("\r\n\r\n")", R"(" a \r\n b ")", R"("")"};
  for (const auto& body : bodies) {
    post(f, R"({"body":)" + body + "}");
  }
  auto messages = history(f);
  REQUIRE(messages.Size() == bodies.size() + 1);
  for (std::size_t i = 0; i < bodies.size(); ++i) {
    INFO("sent: " << bodies[i]);
    REQUIRE(messages[i + 1].HasMember("body"));
    CHECK(to_json(messages[i + 1]["body"]) == bodies[i]);
  }
  // Another occupant reads the same.
  CHECK(to_json(history(f, "", "bob@localhost")) == to_json(messages));
}

// not-gateway: counts MUC Light's affiliation notice in the history; XEP-0045 rooms archive none.
TEST_CASE("Message bodies are validated in order", "[not-gateway]") {
  ApiFixture f;
  set_up_room(f);
  const std::string path = "/rooms/chat/messages";
  require_error(f.post(path, R"({"body":1})"), 400, "Invalid message body");
  require_error(f.post(path, R"({"body":null,"chat_marker":{"type":"bad","id":"x"}})"), 400,
                "Invalid message body");
  require_error(f.post(path, R"({"chat_marker":{"type":"seen","id":"x"}})"), 400,
                "Invalid chat marker");
  require_error(f.post(path, R"({"chat_marker":{"type":"received"}})"), 400, "Invalid chat marker");
  require_error(f.post(path, R"({"chat_marker":{"id":"x"}})"), 400, "Invalid chat marker");
  require_error(f.post(path, R"({"chat_marker":{"type":"received","id":7}})"), 400,
                "Invalid chat marker");
  require_error(f.post(path, R"({"chat_marker":"received"})"), 400, "Invalid chat marker");
  require_error(f.post(path, R"({"body":"ok","chat_marker":[]})"), 400, "Invalid chat marker");
  require_error(f.post(path, R"({})"), 400, "No valid message elements");
  require_error(f.post(path, R"({"markable":true})"), 400, "No valid message elements");
  require_error(f.post(path, R"({"text":"hi"})"), 400, "No valid message elements");
  require_error(f.post(path, "not json"), 400, "Invalid request body");
  require_error(f.post(path, R"("body")"), 400, "Invalid request body");
  // Nothing was sent.
  CHECK(history(f).Size() == 1);
}

// not-gateway: counts MUC Light's affiliation notice in the history; XEP-0045 rooms archive none.
TEST_CASE("Posting checks the room ID, then the body, then the room", "[not-gateway]") {
  ApiFixture f;
  set_up_room(f);
  require_error(f.post("/rooms/%40bad/messages", R"({"body":"hi"})"), 400, "Invalid room ID");
  require_error(f.post("/rooms/chat@muclight.other/messages", R"({"body":"hi"})"), 400,
                "Invalid MUC Light domain");
  require_error(f.post("/rooms/chat/messages", R"({"body":"hi"})", "carol@localhost"), 403,
                "Given user does not occupy this room");
  require_error(f.post("/rooms/nosuchroom/messages", R"({"body":"hi"})"), 404, "Room not found");
  // As in MongooseIM, the body is validated before the room is looked at.
  require_error(f.post("/rooms/nosuchroom/messages", R"({})"), 400, "No valid message elements");
  require_error(f.post("/rooms/chat/messages", R"({"body":1})", "carol@localhost"), 400,
                "Invalid message body");
  CHECK(history(f).Size() == 1);
}

TEST_CASE("Reading history needs an occupant of an existing room") {
  ApiFixture f;
  set_up_room(f);
  require_error(f.get("/rooms/chat/messages", "carol@localhost"), 403,
                "Given user does not occupy this room");
  require_error(f.get("/rooms/nosuchroom/messages"), 404, "Room not found");
  require_error(f.get("/rooms/%40bad/messages"), 400, "Invalid room ID");
  CHECK(f.get("/rooms/chat%40muclight.localhost/messages").status == 200);
}

// not-gateway: the bounds come from the fixture's clock and the notice; the gateway's timestamps
// are the XMPP server's.
TEST_CASE("History paging: limit and before", "[not-gateway]") {
  ApiFixture f;
  set_up_room(f);  // one affiliation message at kStartUs
  for (int i = 1; i <= 60; ++i) {
    f.advance_ms(1000);
    post(f, R"({"body":")" + std::to_string(i) + "\"}");
  }

  SECTION("the default and the host's cap are 50, the newest, oldest first") {
    auto messages = history(f);
    REQUIRE(messages.Size() == 50);
    CHECK(to_json(messages[0]["body"]) == R"("11")");
    CHECK(to_json(messages[49]["body"]) == R"("60")");
    CHECK(history(f, "?limit=500").Size() == 50);
    CHECK(history(f, "?limit=51").Size() == 50);
  }
  SECTION("a smaller limit") {
    auto messages = history(f, "?limit=3");
    REQUIRE(messages.Size() == 3);
    CHECK(to_json(messages[0]["body"]) == R"("58")");
    CHECK(to_json(messages[2]["body"]) == R"("60")");
    CHECK(history(f, "?limit=0").Size() == 0);
  }
  SECTION("before is exclusive and in milliseconds") {
    // Message i was posted at kStartUs + i seconds.
    std::int64_t fifth_ms = kStartUs / 1000 + 5 * 1000;
    auto messages = history(f, "?before=" + std::to_string(fifth_ms) + "&limit=2");
    REQUIRE(messages.Size() == 2);
    CHECK(to_json(messages[0]["body"]) == R"("3")");
    CHECK(to_json(messages[1]["body"]) == R"("4")");
    CHECK(messages[1]["timestamp"].GetInt64() == fifth_ms - 1000);
    auto oldest = history(f, "?before=" + std::to_string(kStartUs / 1000 + 1));
    REQUIRE(oldest.Size() == 1);
    CHECK(to_json(oldest[0]["type"]) == R"("affiliation")");
  }
  SECTION("after pages forward; with before, a window") {
    // Message i was posted at kStartUs + i seconds.
    std::int64_t third_ms = kStartUs / 1000 + 3 * 1000;
    auto messages = history(f, "?after=" + std::to_string(third_ms) + "&limit=2");
    REQUIRE(messages.Size() == 2);
    CHECK(to_json(messages[0]["body"]) == R"("4")");
    CHECK(to_json(messages[1]["body"]) == R"("5")");
    auto window = history(
        f, "?after=" + std::to_string(third_ms) + "&before=" + std::to_string(third_ms + 3000));
    REQUIRE(window.Size() == 2);
    CHECK(to_json(window[0]["body"]) == R"("4")");
    CHECK(to_json(window[1]["body"]) == R"("5")");
  }
  SECTION("bad query strings") {
    const std::string path = "/rooms/chat/messages";
    require_error(f.get(path + "?limit=501"), 400, "Invalid limit");
    require_error(f.get(path + "?limit=-1"), 400, "Invalid limit");
    require_error(f.get(path + "?limit=ten"), 400, "Invalid limit");
    require_error(f.get(path + "?before=yesterday"), 400, "Invalid value of 'before'");
    require_error(f.get(path + "?around=1"), 400, "Invalid query string");
    require_error(f.get(path + "?after=soon"), 400, "Invalid value of 'after'");
    require_error(f.get(path + "?limit"), 400, "Invalid query string");
  }
}

TEST_CASE("Without MUC Light the messages paths answer 404") {
  FixtureOptions options;
  options.backend.muc_light_enabled = false;
  ApiFixture f(std::move(options));
  require_error(f.get("/rooms/chat/messages"), 404, "MUC Light server not found");
  require_error(f.post("/rooms/chat/messages", R"({"body":"hi"})"), 404,
                "MUC Light server not found");
}
