// libFuzzer target: message_to_json and typed_message_to_json must never
// crash, hang or throw, and whatever they accept must come out as one valid
// JSON object (valid UTF-8) whose shape follows the encoding they were asked
// for (docs/api.md, "Stanza to JSON").
//
// Input: the first byte picks the options, the rest is the stanza.
//
// Properties:
// * message_to_json and typed_message_to_json accept the same stanzas, with
//   the same error;
// * the output is one JSON object with "timestamp" as given, "type" exactly
//   in the room encoding, and the member types docs/api.md gives
//   (strings, "markable": true, "chat_marker": {"type", "id"}, "properties"
//   of strings);
// * typed_message_to_json gives the same JSON, and its type is the one the
//   stanza's type attribute names (read with pugixml's own defaults);
// * converting is deterministic: the same stanza converts to the same JSON
//   after another conversion has reused the per-thread buffers;
// * round trip: a chat message rebuilt from the JSON with build_chat_message
//   converts back to the same from, to, id and body (up to the characters
//   XML cannot carry, see fuzz_support.hpp).
#include <mimrest/stanza_builder.hpp>
#include <mimrest/stanza_json.hpp>

#include <rapidjson/document.h>
#include <pugixml.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"

namespace {

using mimrest::fuzz::printable;
using mimrest::fuzz::string_at;

bool is_string_member(const rapidjson::Value& object, const char* name) {
  const auto member = object.FindMember(name);
  return member == object.MemberEnd() || member->value.IsString();
}

void check_shape(const rapidjson::Value& document, bool room, const std::string& json) {
  for (const char* name :
       {"from", "to", "id", "body", "thread", "parent", "user", "affiliation", "room"}) {
    MIMREST_FUZZ_CHECK(is_string_member(document, name), std::string(name) + " in " + json);
  }
  if (!room) {
    MIMREST_FUZZ_CHECK(!document.HasMember("type") && !document.HasMember("markable") &&
                           !document.HasMember("chat_marker"),
                       json);
    MIMREST_FUZZ_CHECK(document.HasMember("thread") || !document.HasMember("parent"), json);
    if (document.HasMember("properties")) {
      const rapidjson::Value& properties = document["properties"];
      MIMREST_FUZZ_CHECK(properties.IsObject(), json);
      for (const auto& property : properties.GetObject()) {
        MIMREST_FUZZ_CHECK(property.value.IsString(), json);
      }
    }
    return;
  }
  const auto type = string_at(document, "type");
  MIMREST_FUZZ_CHECK(type && (*type == "message" || *type == "affiliation"), json);
  MIMREST_FUZZ_CHECK(!document.HasMember("to") && !document.HasMember("properties"), json);
  if (*type == "affiliation") {
    MIMREST_FUZZ_CHECK(document.HasMember("user") && !document.HasMember("body"), json);
    return;
  }
  if (document.HasMember("markable")) {
    MIMREST_FUZZ_CHECK(document["markable"].IsTrue(), json);
  }
  if (document.HasMember("chat_marker")) {
    const rapidjson::Value& marker = document["chat_marker"];
    const auto marker_type = string_at(marker, "type");
    MIMREST_FUZZ_CHECK(marker.IsObject() && marker.MemberCount() == 2 && marker_type &&
                           mimrest::is_chat_marker_type(*marker_type) && string_at(marker, "id"),
                       json);
  }
}

// The type a converted stanza's root names, read by a plain pugixml parse:
// whatever converts is well-formed XML, so this parse succeeds too.
mimrest::MessageType type_attribute_of(std::string_view xml) {
  pugi::xml_document document;
  const auto parsed =
      document.load_buffer(xml.data(), xml.size(), pugi::parse_default, pugi::encoding_utf8);
  MIMREST_FUZZ_CHECK(parsed && document.document_element(),
                     std::string(parsed.description()) + ": " + printable(xml));
  const std::string_view type = document.document_element().attribute("type").value();
  if (type == "groupchat") {
    return mimrest::MessageType::groupchat;
  }
  return type == "chat" ? mimrest::MessageType::chat : mimrest::MessageType::other;
}

// Rebuilds a chat message from its JSON and converts it again.
void check_chat_round_trip(const rapidjson::Value& document, const std::string& json) {
  const auto from = string_at(document, "from");
  const auto to = string_at(document, "to");
  const auto id = string_at(document, "id");
  const auto body = string_at(document, "body");
  if (!from || !to || !id || !body) {
    return;
  }
  const std::string stanza = mimrest::build_chat_message(*from, *to, *id, *body);
  mimrest::JsonOptions options;
  options.encoding = mimrest::MessageEncoding::chat;
  const auto again = mimrest::message_to_json(stanza, options);
  MIMREST_FUZZ_CHECK(again.has_value(), "built " + printable(stanza));
  rapidjson::Document rebuilt;
  const std::string error = mimrest::fuzz::parse_json(*again, rebuilt);
  MIMREST_FUZZ_CHECK(error.empty(), error);
  // JSON strings from a valid stanza are valid UTF-8, but a character
  // reference may have produced a character XML cannot carry.
  for (const char* name : {"from", "to", "id", "body"}) {
    const std::string expected = mimrest::fuzz::xml_safe(*string_at(document, name));
    const auto actual = string_at(rebuilt, name);
    MIMREST_FUZZ_CHECK(actual && *actual == expected, std::string(name) + ": " + json + " -> " +
                                                          printable(stanza) + " -> " + *again);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) {
    return 0;
  }
  const std::uint8_t selector = data[0];
  const std::string_view xml(reinterpret_cast<const char*>(data + 1), size - 1);

  mimrest::JsonOptions options;
  options.timestamp = static_cast<std::int64_t>(selector) * 1000003;
  options.encoding = static_cast<mimrest::MessageEncoding>(selector % 3);
  options.sse = (selector & 4) != 0;

  const auto json = mimrest::message_to_json(xml, options);
  const auto typed = mimrest::typed_message_to_json(xml, options);
  MIMREST_FUZZ_CHECK(json.has_value() == typed.has_value(), printable(xml));
  if (!json) {
    MIMREST_FUZZ_CHECK(json.error() == typed.error(), printable(xml));
    return 0;
  }
  MIMREST_FUZZ_CHECK(typed->json == *json, *json + " vs " + typed->json);
  const mimrest::MessageType type = type_attribute_of(xml);
  MIMREST_FUZZ_CHECK(typed->type == type, printable(xml));
  const bool groupchat = type == mimrest::MessageType::groupchat;

  rapidjson::Document document;
  const std::string error = mimrest::fuzz::parse_json(*json, document);
  MIMREST_FUZZ_CHECK(error.empty(), error);
  MIMREST_FUZZ_CHECK(document.IsObject() && document.HasMember("timestamp") &&
                         document["timestamp"].IsInt64() &&
                         document["timestamp"].GetInt64() == options.timestamp,
                     *json);
  const bool room = options.encoding == mimrest::MessageEncoding::room ||
                    (options.encoding == mimrest::MessageEncoding::automatic && groupchat);
  MIMREST_FUZZ_CHECK(room == document.HasMember("type"), *json);
  check_shape(document, room, *json);

  // Deterministic, also after the per-thread buffers served another stanza.
  mimrest::JsonOptions other;
  other.encoding = mimrest::MessageEncoding::room;
  (void)mimrest::message_to_json("<message type='groupchat'><body>x</body></message>", other);
  const auto again = mimrest::message_to_json(xml, options);
  MIMREST_FUZZ_CHECK(again && *again == *json, *json);

  if (!room) {
    check_chat_round_trip(document, *json);
  }
  return 0;
}
