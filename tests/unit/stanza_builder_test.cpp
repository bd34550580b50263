#include "mimrest/stanza_builder.hpp"

#include <rapidjson/document.h>
#include <catch2/catch.hpp>

#include <string>

#include "mimrest/stanza_json.hpp"

using mimrest::build_chat_message;
using mimrest::build_room_message;
using mimrest::ChatMarker;
using mimrest::RoomMessageContent;

namespace {

// The stanza converted back to JSON, parsed.
rapidjson::Document to_json(const std::string& stanza) {
  mimrest::JsonOptions options;
  options.timestamp = 42;
  options.sse = true;
  auto json = mimrest::message_to_json(stanza, options);
  INFO(stanza);
  REQUIRE(json.has_value());
  rapidjson::Document document;
  document.Parse<rapidjson::kParseValidateEncodingFlag>(json->c_str(), json->size());
  REQUIRE_FALSE(document.HasParseError());
  return document;
}

std::string string_of(const rapidjson::Value& object, const char* key) {
  REQUIRE(object.HasMember(key));
  REQUIRE(object[key].IsString());
  return {object[key].GetString(), object[key].GetStringLength()};
}

RoomMessageContent body_content(std::string body, bool markable = false) {
  RoomMessageContent content;
  content.body = std::move(body);
  content.markable = markable;
  return content;
}

const std::string kSpecial = "&<>\"' ]]> &amp; \t\n\r end";

}  // namespace

TEST_CASE("a chat message has the exact shape docs/api.md gives") {
  CHECK(build_chat_message("alice@localhost", "bob@localhost", "id-1", "Hi!") ==
        R"(<message type="chat" from="alice@localhost" to="bob@localhost" id="id-1">)"
        "<body>Hi!</body></message>");
  CHECK(build_chat_message("a@l", "b@l", "1", "") ==
        R"(<message type="chat" from="a@l" to="b@l" id="1"><body></body></message>)");
}

TEST_CASE("special characters are escaped in text and attributes") {
  CHECK(build_chat_message("a\"'<>&@l", "b@l", "1", "x & y < z > w \"q\" 'a'") ==
        R"(<message type="chat" from="a&quot;&apos;&lt;&gt;&amp;@l" to="b@l" id="1">)"
        R"(<body>x &amp; y &lt; z &gt; w "q" 'a'</body></message>)");
  CHECK(build_chat_message("a@l", "b@l", "\t\n\r", "\t\n\r]]>") ==
        R"(<message type="chat" from="a@l" to="b@l" id="&#9;&#10;&#13;">)"
        "<body>\t\n&#13;]]&gt;</body></message>");
}

TEST_CASE("characters XML cannot carry become U+FFFD") {
  const std::string replacement = "\xEF\xBF\xBD";
  CHECK(build_chat_message("a@l", "b@l", std::string("i\0d", 3), "a\x01z\x1F\x7F") ==
        "<message type=\"chat\" from=\"a@l\" to=\"b@l\" id=\"i" + replacement + "d\"><body>a" +
            replacement + "z" + replacement + "\x7F</body></message>");
  // Invalid UTF-8 (a surrogate is three bytes of it) is replaced byte by
  // byte, U+FFFF as one character; valid multi-byte text is kept.
  CHECK(build_chat_message("a@l", "b@l", "1",
                           "\xFF\xC3\xBC\xED\xA0\x80\xEF\xBF\xBF\xF0\x9F\x8E\x89\xE2") ==
        "<message type=\"chat\" from=\"a@l\" to=\"b@l\" id=\"1\"><body>" + replacement +
            "\xC3\xBC" + replacement + replacement + replacement + replacement +
            "\xF0\x9F\x8E\x89" + replacement + "</body></message>");
}

TEST_CASE("U+FFFE and U+FFFF become one U+FFFD each, in text and attributes") {
  const std::string replacement = "\xEF\xBF\xBD";
  const std::string fffe = "\xEF\xBF\xBE";
  const std::string ffff = "\xEF\xBF\xBF";
  CHECK(build_chat_message("a" + fffe + "@l", "b@l", ffff + ffff, "x" + fffe + ffff + "y") ==
        "<message type=\"chat\" from=\"a" + replacement + "@l\" to=\"b@l\" id=\"" + replacement +
            replacement + "\"><body>x" + replacement + replacement + "y</body></message>");
  // Their neighbours in the Basic Multilingual Plane are kept.
  const std::string fffd_fffc = "\xEF\xBF\xBD\xEF\xBF\xBC";
  CHECK(build_chat_message("a@l", "b@l", "1", fffd_fffc) ==
        "<message type=\"chat\" from=\"a@l\" to=\"b@l\" id=\"1\"><body>" + fffd_fffc +
            "</body></message>");

  const auto room = build_room_message("r@muc/a@l", "r@muc", "1", body_content(fffe + "!"));
  CHECK(string_of(to_json(room), "body") == replacement + "!");
}

TEST_CASE("chat messages round-trip through message_to_json") {
  for (const std::string& body :
       {std::string("plain"), kSpecial, std::string("z\xC3\xBC\xC3\xAF \xF0\x9F\x8E\x89"),
        std::string(""), std::string("  "), std::string("a\r\nb")}) {
    const std::string stanza =
        build_chat_message("alice@localhost", "bob@localhost", kSpecial, body);
    const auto json = to_json(stanza);
    CHECK(string_of(json, "from") == "alice@localhost");
    CHECK(string_of(json, "to") == "bob@localhost");
    CHECK(string_of(json, "id") == kSpecial);
    CHECK(string_of(json, "body") == body);
    CHECK(json["timestamp"].GetInt64() == 42);
    CHECK(json.MemberCount() == 5);
    CHECK(mimrest::typed_message_to_json(stanza, {})->type == mimrest::MessageType::chat);
  }
}

TEST_CASE("a room message has the exact shape docs/api.md gives") {
  RoomMessageContent content = body_content("Hi", true);
  content.chat_marker = ChatMarker{"displayed", "m\"1"};
  CHECK(build_room_message("alice@l", "room@muclight.l", "u-1", content) ==
        R"(<message type="groupchat" from="alice@l" to="room@muclight.l" id="u-1">)"
        R"(<body>Hi</body><markable xmlns="urn:xmpp:chat-markers:0"/>)"
        R"(<displayed xmlns="urn:xmpp:chat-markers:0" id="m&quot;1"/></message>)");
}

TEST_CASE("markable without a body is ignored") {
  RoomMessageContent content;
  content.markable = true;
  content.chat_marker = ChatMarker{"received", "x"};
  const std::string stanza = build_room_message("alice@l", "r@m", "1", content);
  CHECK(stanza.find("markable") == std::string::npos);
  CHECK(stanza == R"(<message type="groupchat" from="alice@l" to="r@m" id="1">)"
                  R"(<received xmlns="urn:xmpp:chat-markers:0" id="x"/></message>)");
}

TEST_CASE("an unknown chat marker type is never written") {
  RoomMessageContent content = body_content("b");
  content.chat_marker = ChatMarker{"x/><evil", "1"};
  CHECK(build_room_message("a@l", "r@m", "1", content) ==
        R"(<message type="groupchat" from="a@l" to="r@m" id="1"><body>b</body></message>)");
}

TEST_CASE("room messages round-trip through message_to_json") {
  // As MUC Light delivers it: from the room, with the sender as resource.
  const std::string room_from = "r1@muclight.localhost/alice@localhost";
  SECTION("body and markable") {
    const auto json =
        to_json(build_room_message(room_from, "bob@localhost", "g1", body_content(kSpecial, true)));
    CHECK(string_of(json, "id") == "g1");
    CHECK(string_of(json, "from") == "alice@localhost");
    CHECK(string_of(json, "room") == "r1");
    CHECK(string_of(json, "type") == "message");
    CHECK(string_of(json, "body") == kSpecial);
    CHECK(json["markable"].IsTrue());
    CHECK_FALSE(json.HasMember("chat_marker"));
  }
  SECTION("each chat marker") {
    for (const char* type : {"received", "displayed", "acknowledged"}) {
      RoomMessageContent content;
      content.chat_marker = ChatMarker{type, "<id & 'x'>"};
      const std::string stanza = build_room_message(room_from, "bob@localhost", "g2", content);
      CHECK(mimrest::typed_message_to_json(stanza, {})->type == mimrest::MessageType::groupchat);
      const auto json = to_json(stanza);
      CHECK_FALSE(json.HasMember("body"));
      CHECK_FALSE(json.HasMember("markable"));
      REQUIRE(json.HasMember("chat_marker"));
      CHECK(string_of(json["chat_marker"], "type") == type);
      CHECK(string_of(json["chat_marker"], "id") == "<id & 'x'>");
    }
  }
}

TEST_CASE("is_chat_marker_type") {
  CHECK(mimrest::is_chat_marker_type("received"));
  CHECK(mimrest::is_chat_marker_type("displayed"));
  CHECK(mimrest::is_chat_marker_type("acknowledged"));
  CHECK_FALSE(mimrest::is_chat_marker_type("markable"));
  CHECK_FALSE(mimrest::is_chat_marker_type("Received"));
  CHECK_FALSE(mimrest::is_chat_marker_type(""));
  CHECK_FALSE(mimrest::is_chat_marker_type("received "));
}
