// libFuzzer target: the outgoing stanzas (build_chat_message,
// build_room_message) round-tripped through message_to_json.
//
// Input: fields separated by 0xFF bytes (a byte that never occurs in UTF-8):
//   flags, from, to, id, body, marker type, marker id
// The fields may hold anything but 0xFF, invalid UTF-8 included (the API only
// ever passes valid UTF-8, direct callers may pass anything).
// flags (its first byte): bit 0 room message has a body, bit 1 markable,
// bit 2 a chat marker, bit 3 marker type is one of the three (else the field
// as given), bits 4-5 which one.
//
// Properties:
// * both builders always produce a stanza that converts (well-formed XML);
// * the chat message converts back to from, to, id and body as given, and
//   the room message to id, body, markable, chat_marker as given and "from"
//   as the room encoding shows a sender (the text after the first '/', or
//   all of it), with each character XML 1.0 cannot carry (control
//   characters other than tab, LF and CR, U+FFFE, U+FFFF) and each byte
//   that is not valid UTF-8 replaced by one U+FFFD, as stanza_builder.cpp
//   documents;
// * is_xml_representable(x) exactly when nothing would be replaced;
// * "markable" only with a body, an unknown marker type is dropped (the
//   stanza has exactly the start tags asked for: text is always escaped),
//   and typed_message_to_json tells the two kinds apart.
#include <mimrest/stanza_builder.hpp>
#include <mimrest/stanza_json.hpp>

#include <rapidjson/document.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.hpp"

namespace {

using mimrest::fuzz::printable;
using mimrest::fuzz::string_at;
using mimrest::fuzz::xml_safe;

// Whether the converted field is the documented xml_safe(given).
bool same_text(std::optional<std::string_view> actual, std::string_view given) {
  return actual && *actual == xml_safe(given);
}

// The room encoding's "from": the resource of the address, or all of it.
std::string sender_of(const std::string& from) {
  const std::size_t slash = from.find('/');
  if (slash == std::string::npos || slash + 1 == from.size()) {
    return from;
  }
  return from.substr(slash + 1);
}

// The stanza converted (automatic encoding), which must succeed with the
// message type `expected`.
rapidjson::Document convert(const std::string& stanza, mimrest::MessageType expected) {
  mimrest::JsonOptions options;
  options.timestamp = 42;
  const auto typed = mimrest::typed_message_to_json(stanza, options);
  MIMREST_FUZZ_CHECK(typed.has_value(), "not converted (" +
                                            std::string(mimrest::to_string(typed.error())) +
                                            "): " + printable(stanza));
  MIMREST_FUZZ_CHECK(typed->type == expected, printable(stanza));
  rapidjson::Document document;
  const std::string error = mimrest::fuzz::parse_json(typed->json, document);
  MIMREST_FUZZ_CHECK(error.empty() && document.IsObject(), error);
  return document;
}

void check_chat(std::string_view from, std::string_view to, std::string_view id,
                std::string_view body) {
  const std::string stanza = mimrest::build_chat_message(from, to, id, body);
  const auto json = convert(stanza, mimrest::MessageType::chat);
  const std::string context = printable(stanza);
  MIMREST_FUZZ_CHECK(same_text(string_at(json, "from"), from), "from: " + context);
  MIMREST_FUZZ_CHECK(same_text(string_at(json, "to"), to), "to: " + context);
  MIMREST_FUZZ_CHECK(same_text(string_at(json, "id"), id), "id: " + context);
  MIMREST_FUZZ_CHECK(same_text(string_at(json, "body"), body), "body: " + context);
  MIMREST_FUZZ_CHECK(json.MemberCount() == 5, context);  // + timestamp
}

void check_room(std::string_view from, std::string_view room, std::string_view id,
                const mimrest::RoomMessageContent& content) {
  const std::string stanza = mimrest::build_room_message(from, room, id, content);
  const auto json = convert(stanza, mimrest::MessageType::groupchat);
  const std::string context = printable(stanza);
  MIMREST_FUZZ_CHECK(string_at(json, "type") == std::optional<std::string_view>("message"),
                     context);
  MIMREST_FUZZ_CHECK(same_text(string_at(json, "id"), id), "id: " + context);
  const auto sender = string_at(json, "from");
  MIMREST_FUZZ_CHECK(sender && *sender == sender_of(xml_safe(from)), "from: " + context);
  MIMREST_FUZZ_CHECK(!json.HasMember("to"), context);

  if (content.body) {
    MIMREST_FUZZ_CHECK(same_text(string_at(json, "body"), *content.body), "body: " + context);
  } else {
    MIMREST_FUZZ_CHECK(!json.HasMember("body"), context);
  }
  const bool markable = content.body && content.markable;
  MIMREST_FUZZ_CHECK(json.HasMember("markable") == markable, context);
  const bool marker =
      content.chat_marker && mimrest::is_chat_marker_type(content.chat_marker->type);
  MIMREST_FUZZ_CHECK(json.HasMember("chat_marker") == marker, context);
  if (marker) {
    const rapidjson::Value& value = json["chat_marker"];
    MIMREST_FUZZ_CHECK(
        string_at(value, "type") == std::optional<std::string_view>(content.chat_marker->type),
        context);
    MIMREST_FUZZ_CHECK(same_text(string_at(value, "id"), content.chat_marker->id),
                       "marker id: " + context);
  }
  // Text is escaped and an unknown marker type never becomes an element: the
  // stanza's start tags are exactly the ones asked for.
  std::size_t start_tags = 0;
  for (std::size_t at = stanza.find('<'); at != std::string::npos; at = stanza.find('<', at + 1)) {
    start_tags += at + 1 < stanza.size() && stanza[at + 1] != '/' ? 1 : 0;
  }
  const std::size_t expected_tags =
      1 + (content.body ? 1 : 0) + (markable ? 1 : 0) + (marker ? 1 : 0);
  MIMREST_FUZZ_CHECK(start_tags == expected_tags, context);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  mimrest::fuzz::ByteReader reader(data, size);
  std::vector<std::string_view> fields;
  for (int i = 0; i < 7; ++i) {
    fields.push_back(reader.until('\xFF'));
  }
  const std::string_view flags = fields[0];
  const std::uint8_t bits = flags.empty() ? 0 : static_cast<std::uint8_t>(flags[0]);
  for (std::size_t i = 1; i < fields.size(); ++i) {
    MIMREST_FUZZ_CHECK(
        mimrest::is_xml_representable(fields[i]) == (xml_safe(fields[i]) == fields[i]),
        printable(fields[i]));
  }
  const std::string_view from = fields[1];
  const std::string_view to = fields[2];
  const std::string_view id = fields[3];
  const std::string_view body = fields[4];

  check_chat(from, to, id, body);

  mimrest::RoomMessageContent content;
  if ((bits & 1) != 0) {
    content.body = std::string(body);
  }
  content.markable = (bits & 2) != 0;
  if ((bits & 4) != 0) {
    static constexpr const char* kTypes[] = {"received", "displayed", "acknowledged", "received"};
    std::string type = (bits & 8) != 0 ? kTypes[(bits >> 4) & 3] : std::string(fields[5]);
    content.chat_marker = mimrest::ChatMarker{std::move(type), std::string(fields[6])};
  }
  check_room(from, to, id, content);
  return 0;
}
