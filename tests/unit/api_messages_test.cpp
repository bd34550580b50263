// POST /messages and GET /messages[/{with}] through Api::handle.
#include <chrono>
#include <string>
#include <vector>

#include "api_fixture.hpp"

using mimrest::test::ApiFixture;
using mimrest::test::FixtureOptions;
using mimrest::test::kStartUs;
using mimrest::test::parse_json;
using mimrest::test::require_error;
using mimrest::test::to_json;

namespace {

// Sends a message and returns its id; the clock moves on 1 ms afterwards so
// that every message has its own timestamp.
std::string send(ApiFixture& f, std::string_view from, std::string_view to, std::string_view body) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writer.StartObject();
  writer.Key("to");
  writer.String(to.data(), static_cast<rapidjson::SizeType>(to.size()));
  writer.Key("body");
  writer.String(body.data(), static_cast<rapidjson::SizeType>(body.size()));
  writer.EndObject();
  auto response = f.post("/messages", buffer.GetString(), from);
  REQUIRE(response.status == 200);
  auto json = parse_json(response.body);
  REQUIRE(json.IsObject());
  REQUIRE(json.MemberCount() == 1);
  REQUIRE(json["id"].IsString());
  f.advance_ms(1);
  return json["id"].GetString();
}

std::vector<std::string> bodies(const mimrest::Response& response) {
  REQUIRE(response.status == 200);
  auto json = parse_json(response.body);
  REQUIRE(json.IsArray());
  std::vector<std::string> out;
  for (const auto& item : json.GetArray()) {
    out.emplace_back(item["body"].GetString());
  }
  return out;
}

using Bodies = std::vector<std::string>;

}  // namespace

TEST_CASE("POST /messages checks recipient, then body") {
  ApiFixture f;
  auto expect = [&](std::string body, std::string message) {
    INFO(body);
    auto response = f.post("/messages", body);
    require_error(response, 400, message);
  };
  expect(R"({"body":"hi"})", "Missing recipient JID");
  expect(R"({})", "Missing recipient JID");
  expect(R"({"to":"@invalid","body":"hi"})", "Invalid recipient JID");
  expect(R"({"to":"","body":"hi"})", "Invalid recipient JID");
  expect(R"({"to":42,"body":"hi"})", "Invalid recipient JID");
  expect(R"({"to":"@invalid"})", "Invalid recipient JID");
  expect(R"({"to":"bob@localhost"})", "Missing message body");
  expect(R"({"to":"bob@localhost","body":7})", "Invalid message body");
  expect(R"(not json)", "Invalid request body");
  expect(R"(["to"])", "Invalid request body");
}

TEST_CASE("POST /messages sends a chat message both parties can read back") {
  ApiFixture f;
  const auto wall_ms = [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  const std::int64_t sent_after_ms = wall_ms() - 1000;  // whole seconds on Prosody
  auto response = f.post("/messages", R"({"to":"Bob@LOCALHOST","body":"Hello <b>&amp; \"you\""})");
  REQUIRE(response.status == 200);
  CHECK(response.headers.get("Content-Type") == std::string_view("application/json"));
  auto id = std::string(parse_json(response.body)["id"].GetString());
  CHECK(id.size() == 36);
  CHECK(id[14] == '4');

  for (const char* reader : {"bob@localhost", "alice@localhost"}) {
    INFO(reader);
    auto read = f.get("/messages", reader);
    REQUIRE(read.status == 200);
    auto json = parse_json(read.body);
    REQUIRE(json.IsArray());
    REQUIRE(json.Size() == 1);
    const auto& item = json[0];
    CHECK(std::string(item["from"].GetString()) == "alice@localhost");
    CHECK(std::string(item["to"].GetString()) == "bob@localhost");
    CHECK(std::string(item["id"].GetString()) == id);
    CHECK(std::string(item["body"].GetString()) == "Hello <b>&amp; \"you\"");
    if (f.stamps_with_fixture_clock()) {
      CHECK(item["timestamp"].GetInt64() == kStartUs / 1000);
    } else {
      CHECK(item["timestamp"].GetInt64() >= sent_after_ms);
      CHECK(item["timestamp"].GetInt64() <= wall_ms());
    }
    CHECK_FALSE(item.HasMember("thread"));
    CHECK_FALSE(item.HasMember("properties"));
  }
  CHECK(to_json(parse_json(f.get("/messages", "carol@localhost").body)) == "[]");
}

TEST_CASE("GET /messages/{with} filters by interlocutor, oldest first") {
  ApiFixture f;
  send(f, "alice@localhost", "bob@localhost", "a1");
  send(f, "carol@localhost", "alice@localhost", "c1");
  send(f, "bob@localhost", "alice@localhost", "b1");
  send(f, "alice@localhost", "bob@localhost", "a2");

  CHECK(bodies(f.get("/messages")) == Bodies{"a1", "c1", "b1", "a2"});
  CHECK(bodies(f.get("/messages/bob@localhost")) == Bodies{"a1", "b1", "a2"});
  CHECK(bodies(f.get("/messages/bob%40localhost")) == Bodies{"a1", "b1", "a2"});
  CHECK(bodies(f.get("/messages/BOB@localhost")) == Bodies{"a1", "b1", "a2"});
  CHECK(bodies(f.get("/messages/carol@localhost")) == Bodies{"c1"});
  CHECK(bodies(f.get("/messages/alice@localhost", "carol@localhost")) == Bodies{"c1"});
  CHECK(bodies(f.get("/messages/nobody@localhost")).empty());
}

// not-gateway: the bounds come from the fixture's clock; the gateway's timestamps are the XMPP
// server's (paging on the gateway: tests/e2e/e2e_xmpp_gateway.cpp).
TEST_CASE("GET /messages pagination: limit and before", "[not-gateway]") {
  ApiFixture f;
  std::vector<std::int64_t> sent_ms;
  for (int i = 0; i < 5; ++i) {
    sent_ms.push_back(f.now_us() / 1000);
    send(f, "alice@localhost", "bob@localhost", "m" + std::to_string(i));
  }
  CHECK(bodies(f.get("/messages?limit=0")).empty());
  CHECK(bodies(f.get("/messages?limit=2")) == Bodies{"m3", "m4"});
  CHECK(bodies(f.get("/messages?limit=10")) == Bodies{"m0", "m1", "m2", "m3", "m4"});
  // `before` is exclusive: a message exactly at that time is not returned.
  auto before = [&](std::int64_t ms, std::string extra = "") {
    return bodies(f.get("/messages/bob@localhost?before=" + std::to_string(ms) + extra));
  };
  CHECK(before(sent_ms[2]) == Bodies{"m0", "m1"});
  CHECK(before(sent_ms[2] + 1) == Bodies{"m0", "m1", "m2"});
  CHECK(before(sent_ms[4], "&limit=2") == Bodies{"m2", "m3"});
  CHECK(before(sent_ms[0]).empty());
  CHECK(before(0).empty());
  CHECK(before(-5).empty());
  CHECK(bodies(f.get("/messages?before=99999999999999999999999")).size() == 5);
  CHECK(bodies(f.get("/messages?limit=99999999999999999999999")).size() == 5);
  // Repeated keys: the last one counts; '+' and %-escapes are decoded.
  CHECK(bodies(f.get("/messages?limit=1&limit=2")) == Bodies{"m3", "m4"});
  CHECK(bodies(f.get("/messages?limit=%31")) == Bodies{"m4"});
  CHECK(bodies(f.get("/messages?limit=1&")) == Bodies{"m4"});
}

TEST_CASE("The host caps the limit") {
  FixtureOptions options;
  options.backend.max_result_limit = 3;
  ApiFixture f(std::move(options));
  for (int i = 0; i < 5; ++i) {
    send(f, "alice@localhost", "bob@localhost", "m" + std::to_string(i));
  }
  CHECK(bodies(f.get("/messages?limit=100")) == Bodies{"m2", "m3", "m4"});
  CHECK(bodies(f.get("/messages")) == Bodies{"m2", "m3", "m4"});
}

TEST_CASE("GET /messages errors") {
  ApiFixture f;
  auto expect = [&](std::string path, std::string message) {
    INFO(path);
    auto response = f.get(path);
    require_error(response, 400, message);
  };
  expect("/messages/@invalid", "Invalid interlocutor JID");
  expect("/messages/@invalid?kuropatwa", "Invalid interlocutor JID");
  expect("/messages/bob@localhost?kuropatwa", "Invalid query string");
  expect("/messages?foo=1", "Invalid query string");
  expect("/messages?limit=1&foo=1", "Invalid query string");
  expect("/messages?limit", "Invalid query string");
  expect("/messages?limit=%zz", "Invalid query string");
  expect("/messages?limit=x", "Invalid limit");
  expect("/messages?limit=-1", "Invalid limit");
  expect("/messages?limit=+1", "Invalid limit");
  expect("/messages?limit=1.0", "Invalid limit");
  expect("/messages?limit=%201", "Invalid limit");
  expect("/messages?limit=", "Invalid limit");
  expect("/messages?before=x", "Invalid value of 'before'");
  expect("/messages?before=1.5", "Invalid value of 'before'");
  expect("/messages?before=", "Invalid value of 'before'");
  expect("/messages?before=--1", "Invalid value of 'before'");
  expect("/messages/bob@localhost?before=1e3", "Invalid value of 'before'");
}

// not-gateway: the bounds come from the fixture's clock; the gateway's timestamps are the XMPP
// server's.
TEST_CASE("GET /messages after: forward paging, and a window with before", "[not-gateway]") {
  ApiFixture f;
  std::vector<std::int64_t> sent_ms;
  for (int i = 0; i < 5; ++i) {
    sent_ms.push_back(f.now_us() / 1000);
    send(f, "alice@localhost", "bob@localhost", "m" + std::to_string(i));
  }
  auto after = [&](std::int64_t ms, std::string extra = "") {
    return bodies(f.get("/messages?after=" + std::to_string(ms) + extra));
  };
  // Strictly newer, then the OLDEST `limit` of them, oldest first.
  CHECK(after(sent_ms[1]) == Bodies{"m2", "m3", "m4"});
  CHECK(after(sent_ms[1] - 1) == Bodies{"m1", "m2", "m3", "m4"});
  CHECK(after(sent_ms[0], "&limit=2") == Bodies{"m1", "m2"});
  CHECK(after(sent_ms[4]).empty());
  CHECK(after(0, "&limit=1") == Bodies{"m0"});
  CHECK(after(-1, "&limit=1") == Bodies{"m0"});
  // Paging forward from where the last page ended.
  CHECK(after(sent_ms[2], "&limit=1") == Bodies{"m3"});
  // With before: the window between them.
  CHECK(after(sent_ms[0], "&before=" + std::to_string(sent_ms[4])) == Bodies{"m1", "m2", "m3"});
  CHECK(after(sent_ms[3], "&before=" + std::to_string(sent_ms[1])).empty());
  CHECK(bodies(f.get("/messages/bob@localhost?after=" + std::to_string(sent_ms[3]))) ==
        Bodies{"m4"});
  CHECK(bodies(f.get("/messages?after=99999999999999999999999")).empty());
  for (const char* bad : {"x", "", "1.5", "--1", "1e3"}) {
    INFO(bad);
    require_error(f.get(std::string("/messages?after=") + bad), 400, "Invalid value of 'after'");
  }
}

// not-gateway: Prosody writes a carriage return unescaped, so it reads back as a line feed
// (lib/xmpp/README.md).
TEST_CASE("A body XML cannot carry is refused, not altered", "[not-gateway]") {
  ApiFixture f;
  // U+FFFE, U+FFFF and control characters cannot appear in XML 1.0.
  for (std::string body : {"\xEF\xBF\xBE", "a\xEF\xBF\xBFz", "bell\\u0007", "nul\\u0000"}) {
    INFO(body);
    require_error(f.post("/messages", R"({"to":"bob@localhost","body":")" + body + "\"}"), 400,
                  "Invalid message body");
  }
  // Tab, line breaks and everything else pass through unchanged.
  send(f, "alice@localhost", "bob@localhost", "tab\t line\n cr\r \xF0\x9F\x98\x80 \xEF\xBF\xBD");
  CHECK(bodies(f.get("/messages")) == Bodies{"tab\t line\n cr\r \xF0\x9F\x98\x80 \xEF\xBF\xBD"});
}
