#include "mimrest/stanza_json.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <catch2/catch.hpp>

#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/detail/utf8.hpp"
#include "core/detail/xml_chars.hpp"

using mimrest::JsonOptions;
using mimrest::message_to_json;
using mimrest::MessageEncoding;
using mimrest::MessageType;
using mimrest::StanzaError;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string to_text(const rapidjson::Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  return buffer.GetString();
}

// Converts and parses the result, failing the test when conversion fails or
// the output is not valid JSON.
rapidjson::Document convert(const std::string& xml, JsonOptions options = {}) {
  auto json = message_to_json(xml, options);
  INFO(xml);
  REQUIRE(json.has_value());
  rapidjson::Document document;
  document.Parse<rapidjson::kParseValidateEncodingFlag>(json->c_str(), json->size());
  INFO(*json);
  REQUIRE_FALSE(document.HasParseError());
  REQUIRE(document.IsObject());
  return document;
}

// Converts and compares with `expected` as parsed JSON (key order ignored).
void check(const std::string& xml, const std::string& expected, JsonOptions options = {}) {
  const rapidjson::Document actual = convert(xml, options);
  rapidjson::Document wanted;
  wanted.Parse(expected.c_str());
  REQUIRE_FALSE(wanted.HasParseError());
  INFO("xml: " << xml << "\nactual: " << to_text(actual) << "\nexpected: " << expected);
  CHECK(actual == wanted);
}

StanzaError error_of(const std::string& xml) {
  auto json = message_to_json(xml, {});
  INFO(xml);
  REQUIRE_FALSE(json.has_value());
  return json.error();
}

JsonOptions at(std::int64_t timestamp, MessageEncoding encoding = MessageEncoding::automatic,
               bool sse = false) {
  JsonOptions options;
  options.timestamp = timestamp;
  options.encoding = encoding;
  options.sse = sse;
  return options;
}

const char* const kBillionLaughs = R"(<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<message type="chat" from="a@localhost" to="b@localhost" id="1"><body>&lol9;</body></message>)";

}  // namespace

TEST_CASE("every conformance case converts to the expected JSON") {
  const std::string text = read_file(std::string(MIMREST_TEST_DATA_DIR) + "/stanza_to_json.json");
  rapidjson::Document cases;
  cases.Parse(text.c_str());
  REQUIRE_FALSE(cases.HasParseError());
  REQUIRE(cases.IsArray());
  REQUIRE(cases.Size() >= 14);
  for (const auto& item : cases.GetArray()) {
    const std::string name = item["name"].GetString();
    DYNAMIC_SECTION(name) {
      JsonOptions options;
      options.timestamp = item["timestamp"].GetInt64();
      options.sse = item["sse"].GetBool();
      const rapidjson::Document actual = convert(item["xml"].GetString(), options);
      INFO("actual: " << to_text(actual) << "\nexpected: " << to_text(item["expected"]));
      CHECK(actual == item["expected"]);
    }
  }
}

TEST_CASE("the output is compact, one line, in a fixed key order") {
  auto json = message_to_json(
      "<message type='chat' from='b@l' to='a@l' id='1'><body>x\ny</body></message>", at(5));
  REQUIRE(json);
  CHECK(*json == R"({"from":"b@l","to":"a@l","id":"1","body":"x\ny","timestamp":5})");
}

TEST_CASE("a DOCTYPE is rejected, entities are never expanded") {
  CHECK(error_of(kBillionLaughs) == StanzaError::doctype);
  CHECK(error_of("<!DOCTYPE message><message type='chat'/>") == StanzaError::doctype);
  CHECK(error_of("<!DOCTYPE message SYSTEM 'file:///etc/passwd'><message>&xxe;</message>") ==
        StanzaError::doctype);
  CHECK(error_of("<message/><!DOCTYPE message>") == StanzaError::doctype);
  CHECK(error_of("<message><!DOCTYPE x></message>") == StanzaError::doctype);
  CHECK(error_of("<!DOCTYPE message [") == StanzaError::doctype);
  // Without a DTD, an undeclared reference stays literal text.
  check("<message id='1'><body>&lol9; &foo;</body></message>",
        R"({"id":"1","body":"&lol9; &foo;","timestamp":0})");
}

TEST_CASE("predefined entities and character references are decoded") {
  check("<message id='&quot;&apos;&lt;&gt;&amp;'><body>&#65;&#x42;&#x1F389;&#13;</body></message>",
        R"({"id":"\"'<>&","body":"AB\ud83c\udf89\r","timestamp":0})");
}

TEST_CASE("not well-formed XML is rejected") {
  for (const char* xml :
       {"<message>", "<message", "<message type='chat'><body></message>", "<message></body>",
        "<message a=1/>", "message", "<1message/>", "<message>x</message><", "<message/><!-- x",
        "<message type='chat' type2='a/>", "\xEF\xBB\xBF"}) {
    CHECK(error_of(xml) == StanzaError::not_well_formed);
  }
}

TEST_CASE("empty input and whitespace are not well-formed") {
  CHECK(error_of("") == StanzaError::not_well_formed);
  CHECK(error_of("  \n\t") == StanzaError::not_well_formed);
  CHECK(error_of("<!-- only a comment -->") == StanzaError::not_well_formed);
}

TEST_CASE("a second root or text outside the root is rejected") {
  CHECK(error_of("<message/><message/>") == StanzaError::not_well_formed);
  CHECK(error_of("<message/><iq/>") == StanzaError::not_well_formed);
  CHECK(error_of("<message/>text") == StanzaError::not_well_formed);
  CHECK(error_of("text<message/>") == StanzaError::not_well_formed);
  CHECK(error_of("<message/>&amp;") == StanzaError::not_well_formed);
  CHECK(error_of("<message/><![CDATA[x]]>") == StanzaError::not_well_formed);
  // Whitespace, comments and an XML declaration around the root are fine.
  check("<?xml version='1.0'?>\n<!-- c -->\n<message id='1'/>\n", R"({"id":"1","timestamp":0})");
}

TEST_CASE("a root other than <message> is not a message") {
  CHECK(error_of("<iq type='get' id='1'/>") == StanzaError::not_a_message);
  CHECK(error_of("<presence/>") == StanzaError::not_a_message);
  CHECK(error_of("<Message/>") == StanzaError::not_a_message);
  CHECK(error_of("<c:message xmlns:c='jabber:client'/>") == StanzaError::not_a_message);
}

TEST_CASE("invalid UTF-8 and forbidden characters are not well-formed") {
  for (const std::string& xml : {
           std::string("<message><body>\xFF</body></message>"),
           std::string("<message><body>\xC0\xAF</body></message>"),          // overlong
           std::string("<message><body>\xED\xA0\x80</body></message>"),      // surrogate
           std::string("<message><body>\xF4\x90\x80\x80</body></message>"),  // > U+10FFFF
           std::string("<message><body>\xE2\x82</body></message>"),          // cut short
           std::string("<message><body>a</body></message>\xC3"),
           std::string("<message><x>\x80</x></message>"),  // even where it is not converted
           std::string("<message><body>\x01</body></message>"),
           std::string("<message/>\0<message/>", sizeof("<message/>\0<message/>") - 1),
           std::string("<message><body>a\0b</body></message>",
                       sizeof("<message><body>a\0b</body></message>") - 1),
       }) {
    CHECK(error_of(xml) == StanzaError::not_well_formed);
  }
  // Character references to invalid code points cannot produce invalid JSON.
  CHECK(error_of("<message><body>&#xD800;</body></message>") == StanzaError::not_well_formed);
  CHECK(error_of("<message id='&#x110000;'/>") == StanzaError::not_well_formed);
  // Valid multi-byte text passes through unchanged.
  check("<message><body>\xC3\xBC\xE2\x82\xAC\xF0\x9F\x8E\x89</body></message>",
        "{\"body\":\"\xC3\xBC\xE2\x82\xAC\xF0\x9F\x8E\x89\",\"timestamp\":0}");
}

TEST_CASE("character references are found wherever they are in the input") {
  // The input is scanned in blocks; a reference may straddle any boundary.
  for (std::size_t padding = 0; padding < 40; ++padding) {
    const std::string before(padding, 'p');
    INFO("padding " << padding);
    CHECK(error_of("<message><body>" + before + "&#xD800;</body></message>") ==
          StanzaError::not_well_formed);
    check("<message><body>" + before + "&#x41;&amp;</body></message>",
          "{\"body\":\"" + before + "A&\",\"timestamp\":0}");
    check("<message><body>" + before + "\xC3\xBC\n</body></message>",
          "{\"body\":\"" + before + "\xC3\xBC\\n\",\"timestamp\":0}");
    CHECK(error_of("<message><body>" + before + "\x7F\x80</body></message>") ==
          StanzaError::not_well_formed);
  }
}

TEST_CASE("control characters from character references are escaped in the JSON") {
  check("<message><body>&#1;&#x1f;\t</body></message>",
        R"({"body":"\u0001\u001f\t","timestamp":0})");
}

TEST_CASE("strings are escaped exactly as RapidJSON's Writer escapes them") {
  auto json = message_to_json(
      "<message id='&#x1F;&#x7F;/'><body>&#1;&#8;&#9;&#10;&#12;&#13;&#x1b;\"\\&lt;\xC3\xA9"
      "</body></message>",
      {});
  REQUIRE(json);
  CHECK(*json ==
        "{\"id\":\"\\u001F\x7F/\",\"body\":\"\\u0001\\b\\t\\n\\f\\r\\u001B\\\"\\\\<"
        "\xC3\xA9\",\"timestamp\":0}");

  // Strings are copied in blocks; a character to escape may be anywhere in one.
  auto rapidjson_string = [](const std::string& text) {
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
    writer.String(text.c_str(), static_cast<rapidjson::SizeType>(text.size()));
    return std::string(buffer.GetString(), buffer.GetSize());
  };
  auto check_as_rapidjson = [&](const std::string& text) {
    const std::string xml = "<message><body>" + text + "</body></message>";
    INFO(xml);
    const auto converted = message_to_json(xml, {});
    REQUIRE(converted);
    const auto decoded = convert(xml);
    const std::string body(decoded["body"].GetString(), decoded["body"].GetStringLength());
    CHECK(*converted == "{\"body\":" + rapidjson_string(body) + ",\"timestamp\":0}");
  };
  for (const char* special : {"\"", "\\", "&#1;", "&#x1F;", "\n", "\xC3\xA9"}) {
    for (std::size_t before = 0; before < 40; ++before) {
      for (std::size_t after : {0, 1, 15, 16, 17}) {
        check_as_rapidjson(std::string(before, 'b') + special + std::string(after, 'a'));
      }
    }
  }
  for (std::size_t length = 0; length < 70; ++length) {
    std::string text;
    for (std::size_t i = 0; i < length; ++i) {
      text += (i % 7 == 3) ? "\xC3\xA9" : (i % 11 == 5) ? "&quot;" : (i % 13 == 8) ? "&#2;" : "t";
    }
    check_as_rapidjson(text);
  }
}

TEST_CASE("every string that reaches the JSON is checked after character references") {
  const std::string ns = "xmlns='http://www.jivesoftware.com/xmlns/xmpp/properties'";
  CHECK(error_of("<message><properties " + ns +
                 "><property><name>&#xDFFF;</name><value>v</value></property></properties>"
                 "</message>") == StanzaError::not_well_formed);
  CHECK(error_of("<message><properties " + ns +
                 "><property><name>n</name><value>&#xD800;</value></property></properties>"
                 "</message>") == StanzaError::not_well_formed);
  CHECK(error_of("<message><thread parent='&#x110000;'/></message>") ==
        StanzaError::not_well_formed);
  CHECK(error_of("<message type='groupchat' from='r@m/&#xD800;'/>") ==
        StanzaError::not_well_formed);
  check("<message><properties " + ns +
            "><property><name>&#xE9;</name><value>&#x1F389;</value></property></properties>"
            "</message>",
        "{\"timestamp\":0,\"properties\":{\"\xC3\xA9\":\"\xF0\x9F\x8E\x89\"}}");
  // Only what is written counts: the room encoding writes the resource of
  // `from` and, for SSE, the localpart of its bare JID.
  check("<message type='groupchat' from='r@&#xD800;/a@l'/>",
        R"({"from":"a@l","timestamp":0,"type":"message"})");
  CHECK(error_of("<message type='chat' from='r@&#xD800;/a@l'/>") == StanzaError::not_well_formed);
}

TEST_CASE("element text: whitespace, CDATA, comments, line ends") {
  check("<message><body> </body></message>", R"({"body":" ","timestamp":0})");
  check("<message><body/></message>", R"({"body":"","timestamp":0})");
  check("<message><body>a<![CDATA[<b>&]]>c<!-- x -->d</body></message>",
        R"({"body":"a<b>&cd","timestamp":0})");
  check("<message><body>a\r\nb\rc</body></message>", R"({"body":"a\nb\nc","timestamp":0})");
  check("<message><body>a<i>skipped</i>b</body></message>", R"({"body":"ab","timestamp":0})");
  // The first <body> counts.
  check("<message><body>1</body><body>2</body></message>", R"({"body":"1","timestamp":0})");
}

TEST_CASE("chat: absent attributes are left out, thread without parent") {
  check("<message type='chat'><thread>t</thread></message>", R"({"thread":"t","timestamp":7})",
        at(7));
  check("<message from=''><thread parent=''/></message>",
        R"({"from":"","thread":"","parent":"","timestamp":0})");
  // A parent attribute only counts on the <thread>.
  check("<message parent='p'><body>b</body></message>", R"({"body":"b","timestamp":0})");
}

TEST_CASE("chat: Smack properties") {
  const std::string ns = "xmlns='http://www.jivesoftware.com/xmlns/xmpp/properties'";
  SECTION("a property without a name is skipped, one without a value maps to an empty string") {
    check("<message><properties " + ns +
              "><property><value>1</value></property><property><name>n</name></property>"
              "<other><name>o</name><value>x</value></other></properties></message>",
          R"({"timestamp":0,"properties":{"n":""}})");
  }
  SECTION("of duplicate names the last one wins") {
    check("<message><properties " + ns +
              "><property><name>a</name><value>1</value></property>"
              "<property><name>b</name><value>2</value></property>"
              "<property><name>a</name><value>3</value></property></properties></message>",
          R"({"timestamp":0,"properties":{"a":"3","b":"2"}})");
  }
  SECTION("many properties, with duplicates") {
    std::string xml = "<message><properties " + ns + ">";
    for (int i = 0; i < 100; ++i) {
      xml += "<property><name>k" + std::to_string(i % 40) + "</name><value>" + std::to_string(i) +
             "</value></property>";
    }
    xml += "</properties></message>";
    const auto json = convert(xml);
    const auto& properties = json["properties"];
    REQUIRE(properties.MemberCount() == 40);
    CHECK(std::string(properties["k0"].GetString()) == "80");
    CHECK(std::string(properties["k39"].GetString()) == "79");
    CHECK(std::string(properties["k20"].GetString()) == "60");
  }
  SECTION("an empty properties element gives an empty object") {
    check("<message><properties " + ns + "/></message>", R"({"timestamp":0,"properties":{}})");
  }
  SECTION("other namespaces, no namespace and a prefixed element are ignored") {
    for (const char* properties :
         {"<properties><property><name>a</name><value>1</value></property></properties>",
          "<properties xmlns='urn:other'><property><name>a</name><value>1</value></property>"
          "</properties>",
          "<p:properties xmlns:p='http://www.jivesoftware.com/xmlns/xmpp/properties'>"
          "<p:property><p:name>a</p:name><p:value>1</p:value></p:property></p:properties>"}) {
      check(std::string("<message>") + properties + "</message>", R"({"timestamp":0})");
    }
  }
  SECTION("names and values are escaped as JSON") {
    check("<message><properties " + ns +
              "><property><name>\"k\\</name><value>&lt;&amp;\n</value></property></properties>"
              "</message>",
          R"({"timestamp":0,"properties":{"\"k\\":"<&\n"}})");
  }
}

TEST_CASE("room: sender, markers and affiliations") {
  const std::string from = "from='r@muclight.l/alice@l'";
  SECTION("markable and a chat marker together") {
    check("<message type='groupchat' " + from +
              " id='1'><body>b</body><markable xmlns='urn:xmpp:chat-markers:0'/>"
              "<received xmlns='urn:xmpp:chat-markers:0' id='m1'/>"
              "<displayed xmlns='urn:xmpp:chat-markers:0' id='m2'/></message>",
          R"({"id":"1","from":"alice@l","timestamp":0,"type":"message","body":"b",
              "markable":true,"chat_marker":{"type":"received","id":"m1"}})");
  }
  SECTION("markers without an id or in another namespace are ignored") {
    check("<message type='groupchat' " + from +
              "><acknowledged xmlns='urn:xmpp:chat-markers:0'/>"
              "<displayed id='x'/><markable/><received xmlns='urn:other' id='y'/>"
              "<acknowledged xmlns='urn:xmpp:chat-markers:0' id='z'/></message>",
          R"({"from":"alice@l","timestamp":0,"type":"message",
              "chat_marker":{"type":"acknowledged","id":"z"}})");
  }
  SECTION("an affiliations element without a user is a plain message") {
    check("<message type='groupchat' " + from +
              "><x xmlns='urn:xmpp:muclight:0#affiliations'/><body>b</body></message>",
          R"({"from":"alice@l","timestamp":0,"type":"message","body":"b"})");
  }
  SECTION("only the affiliations namespace counts, the first user wins") {
    check(
        "<message type='groupchat' from='r@m'><x xmlns='jabber:x:data'><user "
        "affiliation='owner'>o@l</user></x><x xmlns='urn:xmpp:muclight:0#affiliations'>"
        "<user affiliation='none'>a@l</user><user affiliation='member'>b@l</user></x></message>",
        R"({"from":"r@m","timestamp":0,"type":"affiliation","affiliation":"none",
              "user":"a@l"})");
  }
  SECTION("an affiliation without its attribute leaves it out") {
    check(
        "<message type='groupchat'><x xmlns='urn:xmpp:muclight:0#affiliations'><user>a@l</user>"
        "</x></message>",
        R"({"timestamp":0,"type":"affiliation","user":"a@l"})");
  }
  SECTION("sender and room from unusual JIDs") {
    const JsonOptions sse = at(1, MessageEncoding::automatic, true);
    check("<message type='groupchat' from='r@m/a@l/phone'/>",
          R"({"from":"a@l/phone","room":"r","timestamp":1,"type":"message"})", sse);
    check("<message type='groupchat' from='muclight.l'/>",
          R"({"from":"muclight.l","timestamp":1,"type":"message"})", sse);
    check("<message type='groupchat' from='r@m/'/>",
          R"({"from":"r@m/","room":"r","timestamp":1,"type":"message"})", sse);
    check("<message type='groupchat' id='1'/>", R"({"id":"1","timestamp":1,"type":"message"})",
          sse);
  }
  SECTION("without --sse there is no room") {
    check("<message type='groupchat' " + from + "/>",
          R"({"from":"alice@l","timestamp":0,"type":"message"})");
  }
}

TEST_CASE("the encoding can be forced") {
  const std::string groupchat =
      "<message type='groupchat' from='r@m/a@l' to='b@l' id='1'>"
      "<body>b</body></message>";
  check(groupchat, R"({"from":"r@m/a@l","to":"b@l","id":"1","body":"b","timestamp":2})",
        at(2, MessageEncoding::chat, true));
  check("<message type='chat' from='r@m/a@l' to='b@l' id='1'><body>b</body></message>",
        R"({"id":"1","from":"a@l","timestamp":2,"type":"message","body":"b"})",
        at(2, MessageEncoding::room));
  // SSE only changes room messages.
  check("<message type='chat' from='r@m/a@l'/>", R"({"from":"r@m/a@l","timestamp":-3})",
        at(-3, MessageEncoding::automatic, true));
}

TEST_CASE("large timestamps are written exactly") {
  const auto json = convert("<message/>", at(INT64_MAX));
  CHECK(json["timestamp"].GetInt64() == INT64_MAX);
}

TEST_CASE("large and deeply nested stanzas do not break the converter") {
  const std::string body(300 * 1024, 'a');
  const auto json = convert("<message><body>" + body + "</body></message>");
  CHECK(json["body"].GetStringLength() == body.size());

  std::string deep = "<message>";
  for (int i = 0; i < 100000; ++i) {
    deep += "<a>";
  }
  for (int i = 0; i < 100000; ++i) {
    deep += "</a>";
  }
  deep += "<body>ok</body></message>";
  CHECK(std::string(convert(deep)["body"].GetString()) == "ok");

  // A small stanza after the large ones still works (the buffers are reused).
  check("<message><body>s</body></message>", R"({"body":"s","timestamp":0})");
}

TEST_CASE("typed_message_to_json: only a converted type='groupchat' message is groupchat") {
  auto type_of = [](std::string_view xml) -> std::optional<MessageType> {
    const auto typed = mimrest::typed_message_to_json(xml, {});
    return typed ? std::optional<MessageType>(typed->type) : std::nullopt;
  };
  CHECK(type_of("<message type='groupchat'/>") == MessageType::groupchat);
  CHECK(type_of("<message type=\"groupchat\" from='r@m/a'><body/></message>") ==
        MessageType::groupchat);
  CHECK(type_of("<message type='chat'/>") == MessageType::chat);
  CHECK(type_of("<message/>") == MessageType::other);
  CHECK(type_of("<message type='groupchat '/>") == MessageType::other);
  CHECK_FALSE(type_of("<message type='groupchat'>"));
  CHECK_FALSE(type_of("<presence type='groupchat'/>"));
  CHECK_FALSE(type_of("<!DOCTYPE m><message type='groupchat'/>"));
  CHECK_FALSE(type_of(""));
  // Well-formed XML whose text is not valid Unicode does not convert, so it
  // has no type either, whatever its type attribute says.
  CHECK_FALSE(type_of("<message type='groupchat'><body>&#xD800;</body></message>"));
  CHECK_FALSE(type_of("<message type='groupchat' from='r@m/&#x110000;'/>"));
}

TEST_CASE("UTF-8 decoding and XML characters (the shared checks)") {
  using mimrest::detail::decode_utf8;
  using mimrest::detail::is_valid_utf8;
  using mimrest::detail::xml_char_length;
  auto encode = [](char32_t cp) {
    std::string out;
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
    return out;
  };
  auto bytes = [](const std::string& text) {
    return reinterpret_cast<const unsigned char*>(text.data());
  };
  // Every code point decodes back to itself, except surrogates; every XML
  // Char is one, and nothing else is.
  std::size_t mismatches = 0;
  for (char32_t cp = 0; cp <= 0x10FFFF; ++cp) {
    const std::string text = encode(cp);
    const bool surrogate = cp >= 0xD800 && cp <= 0xDFFF;
    const bool xml_char = cp == 0x9 || cp == 0xA || cp == 0xD || (cp >= 0x20 && cp <= 0xD7FF) ||
                          (cp >= 0xE000 && cp <= 0xFFFD) || cp >= 0x10000;
    char32_t decoded = 0xFFFFFFFF;
    const std::size_t length = decode_utf8(bytes(text), bytes(text) + text.size(), decoded);
    const bool ok = surrogate ? length == 0 : length == text.size() && decoded == cp;
    const std::size_t char_length = xml_char_length(bytes(text), bytes(text) + text.size());
    if (!ok || is_valid_utf8(text) == surrogate || char_length != (xml_char ? text.size() : 0)) {
      ++mismatches;
    }
  }
  CHECK(mismatches == 0);

  for (const std::string& invalid : {
           std::string("\x80"),
           std::string("\xBF"),
           std::string("\xC0\x80"),  // stray, overlong
           std::string("\xC1\xBF"),
           std::string("\xE0\x9F\xBF"),
           std::string("\xF0\x8F\xBF\xBF"),
           std::string("\xF4\x90\x80\x80"),
           std::string("\xF5\x80\x80\x80"),  // > U+10FFFF
           std::string("\xFF"),
           std::string("\xC3"),
           std::string("\xE2\x82"),  // cut short
           std::string("\xF0\x9F\x8E"),
           std::string("\xC3\x28"),
           std::string("\xE2\x28\xA1"),
       }) {
    INFO(invalid.size() << " bytes");
    char32_t decoded = 0;
    CHECK(decode_utf8(bytes(invalid), bytes(invalid) + invalid.size(), decoded) == 0);
    CHECK(xml_char_length(bytes(invalid), bytes(invalid) + invalid.size()) == 0);
    // Wherever it is, after ASCII that is skipped a word at a time.
    for (std::size_t before = 0; before < 20; ++before) {
      CHECK_FALSE(is_valid_utf8(std::string(before, 'a') + invalid + "z"));
      CHECK_FALSE(is_valid_utf8(std::string(before, 'a') + invalid));
    }
  }
  // A sequence cut short by the end of the text, though the bytes after it
  // would complete it.
  const std::string euro = "\xE2\x82\xAC";
  char32_t decoded = 0;
  CHECK(decode_utf8(bytes(euro), bytes(euro) + 2, decoded) == 0);
  CHECK(is_valid_utf8(std::string_view(euro).substr(0, 2)) == false);
  CHECK(is_valid_utf8(""));
  CHECK(is_valid_utf8(std::string(100, 'a') + euro + std::string(9, 'b') + "\xF0\x9F\x8E\x89"));
}

TEST_CASE("append_utf8_replacing_invalid: one U+FFFD per byte that is not valid UTF-8") {
  using mimrest::detail::append_utf8_replacing_invalid;
  using mimrest::detail::is_valid_utf8;
  auto replaced = [](std::string_view text) {
    std::string out = "<";
    append_utf8_replacing_invalid(out, text);
    return out;
  };
  const std::string r = "\xEF\xBF\xBD";
  CHECK(replaced("") == "<");
  CHECK(replaced("plain ascii, long enough for a word") == "<plain ascii, long enough for a word");
  // Valid text is kept as it is, U+FFFD, U+FFFF and U+10FFFF included.
  const std::string valid = "\xC3\xBC\xEF\xBF\xBD\xEF\xBF\xBF\xF4\x8F\xBF\xBF\xF0\x9F\x8E\x89";
  CHECK(replaced(valid) == "<" + valid);
  CHECK(replaced("a\xFF") == "<a" + r);
  CHECK(replaced("\x80\xBF") == "<" + r + r);
  CHECK(replaced("\xC3") == "<" + r);                          // cut short
  CHECK(replaced("\xC3x") == "<" + r + "x");                   // not continued
  CHECK(replaced("\xC0\xAF") == "<" + r + r);                  // overlong '/'
  CHECK(replaced("\xED\xA0\x80z") == "<" + r + r + r + "z");   // a surrogate
  CHECK(replaced("\xF4\x90\x80\x80") == "<" + r + r + r + r);  // above U+10FFFF
  CHECK(replaced("x\xE2\x82\xACy\xE2\x82") == "<x\xE2\x82\xACy" + r + r);
  CHECK(replaced(std::string("\0\xFE", 2)) == std::string("<\0", 2) + r);
  // Whatever the bytes, the result is valid UTF-8.
  std::string all;
  for (int i = 0; i < 256; ++i) {
    for (int j = 0; j < 256; j += 7) {
      all += static_cast<char>(i);
      all += static_cast<char>(j);
    }
  }
  CHECK(is_valid_utf8(replaced(all)));
}

TEST_CASE("errors have distinct readable descriptions") {
  const auto a = mimrest::to_string(StanzaError::not_well_formed);
  const auto b = mimrest::to_string(StanzaError::doctype);
  const auto c = mimrest::to_string(StanzaError::not_a_message);
  CHECK_FALSE(a.empty());
  CHECK(a != b);
  CHECK(b != c);
  CHECK(a != c);
  CHECK(b.find("DOCTYPE") != std::string_view::npos);
}

TEST_CASE("conversions on several threads at once give the same results") {
  const std::vector<std::string> inputs = {
      "<message type='chat' from='b@l' to='a@l' id='1'><body>one</body></message>",
      "<message type='groupchat' from='r@m/a@l' id='2'><body>two</body></message>",
      "<message><body>" + std::string(70000, 'x') + "</body></message>",
      "<message><body>\xFF</body></message>",
  };
  std::vector<std::string> expected;
  for (const auto& input : inputs) {
    auto json = message_to_json(input, at(1));
    expected.push_back(json ? *json : "error");
  }
  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 300; ++i) {
        const std::size_t k = static_cast<std::size_t>(i + t) % inputs.size();
        auto json = message_to_json(inputs[k], at(1));
        if ((json ? *json : "error") != expected[k]) {
          ++mismatches[static_cast<std::size_t>(t)];
        }
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  CHECK(mismatches == std::vector<int>(4, 0));
}

TEST_CASE("typed_message_to_json tells the type and converts like message_to_json") {
  mimrest::JsonOptions options;
  options.timestamp = 7;
  const std::string room =
      "<message type='groupchat' from='r@muclight.localhost/a@localhost' "
      "id='1'><body>x</body></message>";
  const std::string chat = "<message type='chat' from='a@localhost' to='b@localhost' id='2'/>";
  const std::string headline = "<message type='headline' from='a@localhost' id='3'/>";

  auto typed_room = mimrest::typed_message_to_json(room, options);
  REQUIRE(typed_room);
  CHECK(typed_room->type == mimrest::MessageType::groupchat);
  CHECK(typed_room->json == mimrest::message_to_json(room, options).value());

  auto typed_chat = mimrest::typed_message_to_json(chat, options);
  REQUIRE(typed_chat);
  CHECK(typed_chat->type == mimrest::MessageType::chat);
  CHECK(typed_chat->json == mimrest::message_to_json(chat, options).value());

  auto typed_headline = mimrest::typed_message_to_json(headline, options);
  REQUIRE(typed_headline);
  CHECK(typed_headline->type == mimrest::MessageType::other);

  auto broken = mimrest::typed_message_to_json("<message", options);
  REQUIRE_FALSE(broken);
  CHECK(broken.error() == mimrest::StanzaError::not_well_formed);
}
