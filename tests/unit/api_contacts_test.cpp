// The contacts group through Api::handle: roster listing, adding, the
// invite/accept flow seen from both sides, and removal.
#include <string>

#include "api_fixture.hpp"

using mimrest::Response;
using mimrest::test::ApiFixture;
using mimrest::test::parse_json;
using mimrest::test::require_error;
using mimrest::test::to_json;
using mimrest::test::valid_error_message;

namespace {

std::string contacts(const ApiFixture& f, std::string_view user) {
  auto response = f.get("/contacts", user);
  REQUIRE(response.status == 200);
  CHECK(response.headers.get("Content-Type") == std::string_view("application/json"));
  return to_json(parse_json(response.body));
}

}  // namespace

TEST_CASE("GET /contacts of a new user is empty") {
  ApiFixture f;
  CHECK(contacts(f, "alice@localhost") == "[]");
}

TEST_CASE("POST /contacts adds a contact with no subscription") {
  ApiFixture f;
  auto response = f.post("/contacts", R"({"jid":"Bob@LocalHost","extra":1})");
  CHECK(response.status == 204);
  CHECK(response.body.empty());
  CHECK(contacts(f, "alice@localhost") ==
        R"([{"jid":"bob@localhost","subscription":"none","ask":"none"}])");
  // Adding again changes nothing; the other side sees nothing.
  CHECK(f.post("/contacts", R"({"jid":"bob@localhost"})").status == 204);
  CHECK(f.post("/contacts", R"({"jid":"carol@localhost"})").status == 204);
  CHECK(contacts(f, "alice@localhost") ==
        R"([{"jid":"bob@localhost","subscription":"none","ask":"none"},)"
        R"({"jid":"carol@localhost","subscription":"none","ask":"none"}])");
  CHECK(contacts(f, "bob@localhost") == "[]");
  // A contact on a remote domain needs no account here.
  CHECK(f.post("/contacts", R"({"jid":"dave@remote.example"})").status == 204);
}

TEST_CASE("POST /contacts errors") {
  ApiFixture f;
  require_error(f.post("/contacts", R"({})"), 400, "Missing JID");
  require_error(f.post("/contacts", R"({"jid":"@invalid"})"), 400, "Invalid JID: @invalid");
  require_error(f.post("/contacts", R"({"jid":""})"), 400, "Invalid JID: ");
  require_error(f.post("/contacts", R"({"jid":42})"), 400, "Invalid JID: 42");
  require_error(f.post("/contacts", R"(nope)"), 400, "Invalid request body");
  CHECK(contacts(f, "alice@localhost") == "[]");
}

// not-gateway: an XMPP client cannot tell whether an account exists, so the
// gateway adds any contact (lib/xmpp/README.md).
TEST_CASE("POST /contacts of an unknown local user answers 404", "[not-gateway]") {
  ApiFixture f;
  require_error(f.post("/contacts", R"({"jid":"mallory@localhost"})"), 404,
                "The user mallory@localhost does not exist");
  CHECK(contacts(f, "alice@localhost") == "[]");
}

TEST_CASE("Invite and accept, as both users see it") {
  ApiFixture f;
  REQUIRE(f.post("/contacts", R"({"jid":"bob@localhost"})").status == 204);

  auto invite = f.put("/contacts/bob@localhost", R"({"action":"invite"})");
  CHECK(invite.status == 204);
  CHECK(invite.body.empty());
  CHECK(contacts(f, "alice@localhost") ==
        R"([{"jid":"bob@localhost","subscription":"none","ask":"out"}])");
  CHECK(contacts(f, "bob@localhost") ==
        R"([{"jid":"alice@localhost","subscription":"none","ask":"in"}])");

  CHECK(f.put("/contacts/alice%40localhost", R"({"action":"accept"})", "bob@localhost").status ==
        204);
  CHECK(contacts(f, "alice@localhost") ==
        R"([{"jid":"bob@localhost","subscription":"to","ask":"none"}])");
  CHECK(contacts(f, "bob@localhost") ==
        R"([{"jid":"alice@localhost","subscription":"from","ask":"none"}])");

  // The other direction makes it mutual.
  CHECK(f.put("/contacts/alice@localhost", R"({"action":"invite"})", "bob@localhost").status ==
        204);
  CHECK(f.put("/contacts/bob@localhost", R"({"action":"accept"})").status == 204);
  CHECK(contacts(f, "alice@localhost") ==
        R"([{"jid":"bob@localhost","subscription":"both","ask":"none"}])");
  CHECK(contacts(f, "bob@localhost") ==
        R"([{"jid":"alice@localhost","subscription":"both","ask":"none"}])");

  // Removal cancels both directions; the contact keeps an empty item.
  CHECK(f.del("/contacts/bob@localhost").status == 204);
  CHECK(contacts(f, "alice@localhost") == "[]");
  CHECK(contacts(f, "bob@localhost") ==
        R"([{"jid":"alice@localhost","subscription":"none","ask":"none"}])");
}

TEST_CASE("PUT /contacts/{jid} checks in order: JID, body, action, roster") {
  ApiFixture f;
  require_error(f.put("/contacts/@invalid", "nope"), 400, "Invalid JID: @invalid");
  require_error(f.put("/contacts/bob@localhost", "nope"), 400, "Invalid request body");
  require_error(f.put("/contacts/bob@localhost", R"({})"), 400, "Missing action");
  require_error(f.put("/contacts/bob@localhost", R"({"action":"delete"})"), 400, "Invalid action");
  require_error(f.put("/contacts/bob@localhost", R"({"action":5})"), 400, "Invalid action");
  require_error(f.put("/contacts/bob@localhost", R"({"action":"invite"})"), 404,
                "Given contact does not exist");
  require_error(f.put("/contacts/bob@localhost", R"({"action":"accept"})"), 404,
                "Given contact does not exist");
  CHECK(contacts(f, "bob@localhost") == "[]");
}

TEST_CASE("GET /contacts/{jid} is not supported") {
  ApiFixture f;
  REQUIRE(f.post("/contacts", R"({"jid":"bob@localhost"})").status == 204);
  require_error(f.get("/contacts/bob@localhost"), 404, "JID provided but not supported");
}

TEST_CASE("DELETE /contacts/{jid} of a contact not in the roster is 404") {
  ApiFixture f;
  require_error(f.del("/contacts/bob@localhost"), 404,
                "Cannot remove bob@localhost contact that does not exist");
  require_error(f.del("/contacts/@x"), 400, "Invalid JID: @x");
  REQUIRE(f.post("/contacts", R"({"jid":"bob@localhost"})").status == 204);
  CHECK(f.del("/contacts/BOB@localhost").status == 204);
  CHECK(f.del("/contacts/bob@localhost").status == 404);
}

TEST_CASE("DELETE /contacts removes several and reports the others") {
  ApiFixture f;
  REQUIRE(f.post("/contacts", R"({"jid":"bob@localhost"})").status == 204);
  REQUIRE(f.post("/contacts", R"({"jid":"carol@localhost"})").status == 204);
  auto response =
      f.del("/contacts", R"({"to_delete":["bob@localhost","nobody@localhost","Carol@localhost"]})");
  CHECK(response.status == 200);
  CHECK(response.headers.get("Content-Type") == std::string_view("application/json"));
  CHECK(to_json(parse_json(response.body)) == R"({"not_deleted":["nobody@localhost"]})");
  CHECK(contacts(f, "alice@localhost") == "[]");

  auto none = f.del("/contacts", R"({"to_delete":[]})");
  CHECK(none.status == 200);
  CHECK(to_json(parse_json(none.body)) == R"({"not_deleted":[]})");
}

TEST_CASE("DELETE /contacts validates the whole list first") {
  ApiFixture f;
  REQUIRE(f.post("/contacts", R"({"jid":"bob@localhost"})").status == 204);
  require_error(f.del("/contacts"), 400, "Invalid request body");
  require_error(f.del("/contacts", R"({})"), 400, "Missing to_delete");
  require_error(f.del("/contacts", R"({"to_delete":"bob@localhost"})"), 400,
                "Invalid to_delete: expected a list of JIDs");
  require_error(f.del("/contacts", R"({"to_delete":["bob@localhost",1]})"), 400,
                "Invalid to_delete: expected a list of JIDs");
  require_error(f.del("/contacts", R"({"to_delete":["bob@localhost","@bad"]})"), 400,
                "Invalid JID: @bad");
  // Nothing was removed by the rejected requests.
  CHECK(contacts(f, "alice@localhost") ==
        R"([{"jid":"bob@localhost","subscription":"none","ask":"none"}])");
}

TEST_CASE("PUT /contacts without a JID answers 400 Missing JID, as MongooseIM's /contacts/[:jid]") {
  ApiFixture f;
  require_error(f.put("/contacts", R"({"action":"invite"})"), 400, "Missing JID");
  require_error(f.put("/contacts", R"({"action":"accept"})"), 400, "Missing JID");
  require_error(f.put("/contacts/", R"({"action":"invite"})"), 400, "Missing JID");
  auto options = f.handle(f.request("OPTIONS", "/contacts", {}, std::nullopt));
  CHECK(options.headers.get("Allow") == std::string_view("GET, POST, PUT, DELETE, OPTIONS"));
}

TEST_CASE("An echoed JID that is not valid UTF-8 is answered in valid JSON, with U+FFFD") {
  ApiFixture f;
  const std::string r = "\xEF\xBF\xBD";
  auto removed = f.del("/contacts/%FF");
  CHECK(removed.status == 400);
  CHECK(valid_error_message(removed) == "Invalid JID: " + r);
  auto changed = f.put("/contacts/a%FFb%C3", R"({"action":"invite"})");
  CHECK(changed.status == 400);
  CHECK(valid_error_message(changed) == "Invalid JID: a" + r + "b" + r);
  // Valid UTF-8 is echoed as it is.
  auto kept = f.del("/contacts/%C3%BC@");
  CHECK(kept.status == 400);
  CHECK(valid_error_message(kept) == "Invalid JID: \xC3\xBC@");
}
