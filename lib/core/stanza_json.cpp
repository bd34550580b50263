// Message stanza -> JSON (the "Stanza to JSON" rules of the API contract).
//
// Parsing: pugixml, in place, in a per-thread buffer. pugixml never expands
// entities other than the five predefined ones and numeric character
// references; an undeclared reference such as "&foo;" is kept as literal text.
// A DOCTYPE anywhere is rejected, so no DTD is ever honoured.
//
// Namespaces: pugixml is not namespace-aware, so an extension element is
// recognised by its unprefixed name and its own xmlns attribute, which is how
// XMPP servers serialise them. A prefixed element (<p:properties xmlns:p=..>)
// or one inheriting the namespace from an ancestor is not recognised, and a
// prefixed root (<c:message>) is not a message.
//
// Well-formedness: the input must be valid UTF-8 made of XML 1.0 characters
// (no NUL or other forbidden control bytes) and hold exactly one root element
// with no text outside it; pugixml checks the rest of the syntax. It is
// lenient on a few points (duplicate attributes, '<' in attribute values),
// which are accepted. Text decoded from a numeric character reference that is
// not valid Unicode (a surrogate, beyond U+10FFFF) makes the stanza not
// well-formed when it would reach the JSON, so the output is always valid.
//
// Edge cases, all following MongooseIM where it has a behaviour:
// * element text is the concatenation of its direct text and CDATA children;
//   an empty <body/> (or <thread/>) gives "" rather than being left out;
// * a <property> without <name> is skipped, one without <value> maps to "";
//   of several properties with the same name the last one wins;
// * markable and chat_marker are independent; the chat marker is the first
//   received/displayed/acknowledged element in the chat markers namespace
//   that has an id attribute;
// * "room" (SSE) is left out when the sender's bare JID has no localpart.
#include "mimrest/stanza_json.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <pugixml.hpp>

#include <cstring>
#include <forward_list>
#include <memory>
#include <unordered_map>
#include <vector>

#include "core/detail/xml_chars.hpp"

namespace mimrest {

std::string_view to_string(StanzaError error) noexcept {
  switch (error) {
    case StanzaError::not_well_formed:
      return "not well-formed XML";
    case StanzaError::doctype:
      return "a DOCTYPE is not allowed in a stanza";
    case StanzaError::not_a_message:
      return "not a <message> stanza";
  }
  return "invalid stanza";
}

namespace {

// parse_fragment keeps text outside the root visible, so it can be rejected;
// parse_ws_pcdata_single keeps the whitespace-only text of <body> </body>.
constexpr unsigned kParseOptions = pugi::parse_escapes | pugi::parse_eol | pugi::parse_cdata |
                                   pugi::parse_wconv_attribute | pugi::parse_doctype |
                                   pugi::parse_ws_pcdata_single | pugi::parse_fragment;

constexpr const char* kPropertiesNs = "http://www.jivesoftware.com/xmlns/xmpp/properties";
constexpr const char* kChatMarkersNs = "urn:xmpp:chat-markers:0";
constexpr const char* kAffiliationsNs = "urn:xmpp:muclight:0#affiliations";

// Buffers above this size are released after use instead of kept per thread.
constexpr std::size_t kKeptCapacity = 64 * 1024;
// Above this many properties, duplicates are found with a hash map.
constexpr std::size_t kLinearDedupLimit = 16;

using JsonWriter =
    rapidjson::Writer<rapidjson::StringBuffer, rapidjson::UTF8<>, rapidjson::UTF8<>,
                      rapidjson::CrtAllocator, rapidjson::kWriteValidateEncodingFlag>;

struct Property {
  std::string_view name;
  std::string_view value;
};

// Reused by every conversion on a thread so that the steady state allocates
// only the pugixml page and the result string.
struct Workspace {
  std::unique_ptr<char[]> buffer;
  std::size_t capacity = 0;
  rapidjson::StringBuffer json;
  std::vector<Property> properties;

  char* buffer_for(std::size_t size) {
    if (size > capacity || !buffer) {
      buffer.reset(new char[size + 1]);
      capacity = size;
    }
    return buffer.get();
  }

  void release_if_large() {
    if (capacity > kKeptCapacity) {
      buffer.reset();
      capacity = 0;
    }
    if (json.GetSize() > kKeptCapacity) {
      json.Clear();
      json.ShrinkToFit();
    }
    if (properties.capacity() > kKeptCapacity / sizeof(Property)) {
      std::vector<Property>().swap(properties);
    }
  }
};

Workspace& workspace() {
  thread_local Workspace instance;
  return instance;
}

bool has_name(pugi::xml_node node, const char* name) {
  return std::strcmp(node.name(), name) == 0;
}

bool has_xmlns(pugi::xml_node node, const char* ns) {
  return std::strcmp(node.attribute("xmlns").value(), ns) == 0;
}

bool is_text(pugi::xml_node node) {
  return node.type() == pugi::node_pcdata || node.type() == pugi::node_cdata;
}

// Parses `xml` into `document` (in place in `buffer`, which must outlive it)
// and returns its root element, which must be a <message>.
Expected<pugi::xml_node, StanzaError> parse_message(std::string_view xml,
                                                    pugi::xml_document& document, char* buffer) {
  if (!detail::is_xml_text(xml)) {
    return unexpected(StanzaError::not_well_formed);
  }
  if (!xml.empty()) {
    std::memcpy(buffer, xml.data(), xml.size());
  }
  // The terminator keeps pugixml from sacrificing the last byte in fragment mode.
  buffer[xml.size()] = '\0';
  const pugi::xml_parse_result result =
      document.load_buffer_inplace(buffer, xml.size() + 1, kParseOptions, pugi::encoding_utf8);

  pugi::xml_node root;
  bool doctype = result.status == pugi::status_bad_doctype;
  bool stray = false;
  for (pugi::xml_node node = document.first_child(); node; node = node.next_sibling()) {
    switch (node.type()) {
      case pugi::node_doctype:
        doctype = true;
        break;
      case pugi::node_element:
        stray = stray || root;
        root = node;
        break;
      case pugi::node_pcdata:
      case pugi::node_cdata:
        stray = true;
        break;
      default:
        break;
    }
  }
  if (doctype) {
    return unexpected(StanzaError::doctype);
  }
  if (!result || stray || !root) {
    return unexpected(StanzaError::not_well_formed);
  }
  if (!has_name(root, "message")) {
    return unexpected(StanzaError::not_a_message);
  }
  return root;
}

// Holds the rare concatenated texts (several text children) for the duration
// of one conversion; string_views into it stay valid.
using TextScratch = std::forward_list<std::string>;

// The direct text (PCDATA and CDATA) of `element`, concatenated.
std::string_view text_of(pugi::xml_node element, TextScratch& scratch) {
  pugi::xml_node child = element.first_child();
  while (child && !is_text(child)) {
    child = child.next_sibling();
  }
  if (!child) {
    return {};
  }
  std::string_view first = child.value();
  pugi::xml_node next = child.next_sibling();
  while (next && !is_text(next)) {
    next = next.next_sibling();
  }
  if (!next) {
    return first;
  }
  std::string& joined = scratch.emplace_front(first);
  for (; next; next = next.next_sibling()) {
    if (is_text(next)) {
      joined += next.value();
    }
  }
  return joined;
}

std::string_view attribute_of(pugi::xml_node node, const char* name, bool& present) {
  const pugi::xml_attribute attribute = node.attribute(name);
  present = static_cast<bool>(attribute);
  return attribute.value();
}

bool is_marker_name(const char* name) {
  return std::strcmp(name, "received") == 0 || std::strcmp(name, "displayed") == 0 ||
         std::strcmp(name, "acknowledged") == 0;
}

// The children of a <message> that the encodings look at, found in one pass.
struct MessageParts {
  pugi::xml_node body;
  pugi::xml_node thread;
  pugi::xml_node properties;
  pugi::xml_node affiliations;
  pugi::xml_node marker;
  bool markable = false;
};

MessageParts find_parts(pugi::xml_node message) {
  MessageParts parts;
  for (pugi::xml_node child = message.first_child(); child; child = child.next_sibling()) {
    if (child.type() != pugi::node_element) {
      continue;
    }
    const char* name = child.name();
    switch (name[0]) {
      case 'b':
        if (!parts.body && std::strcmp(name, "body") == 0) {
          parts.body = child;
        }
        break;
      case 't':
        if (!parts.thread && std::strcmp(name, "thread") == 0) {
          parts.thread = child;
        }
        break;
      case 'p':
        if (!parts.properties && std::strcmp(name, "properties") == 0 &&
            has_xmlns(child, kPropertiesNs)) {
          parts.properties = child;
        }
        break;
      case 'x':
        if (!parts.affiliations && name[1] == '\0' && has_xmlns(child, kAffiliationsNs)) {
          parts.affiliations = child;
        }
        break;
      case 'm':
        if (!parts.markable && std::strcmp(name, "markable") == 0 &&
            has_xmlns(child, kChatMarkersNs)) {
          parts.markable = true;
        }
        break;
      default:
        if (!parts.marker && is_marker_name(name) && child.attribute("id") &&
            has_xmlns(child, kChatMarkersNs)) {
          parts.marker = child;
        }
        break;
    }
  }
  return parts;
}

bool write_string(JsonWriter& writer, std::string_view text) {
  return writer.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
}

bool write_member(JsonWriter& writer, const char* key, std::string_view value) {
  return writer.Key(key) && write_string(writer, value);
}

// Writes `name` as a member when `node` has that attribute.
bool write_attribute(JsonWriter& writer, pugi::xml_node node, const char* name) {
  const pugi::xml_attribute attribute = node.attribute(name);
  return !attribute || write_member(writer, name, attribute.value());
}

bool write_properties(JsonWriter& writer, pugi::xml_node properties, TextScratch& scratch,
                      std::vector<Property>& collected) {
  collected.clear();
  for (pugi::xml_node property = properties.first_child(); property;
       property = property.next_sibling()) {
    if (property.type() != pugi::node_element || !has_name(property, "property")) {
      continue;
    }
    const pugi::xml_node name = property.child("name");
    if (!name) {
      continue;
    }
    const pugi::xml_node value = property.child("value");
    collected.push_back(
        Property{text_of(name, scratch), value ? text_of(value, scratch) : std::string_view{}});
  }

  if (!writer.Key("properties") || !writer.StartObject()) {
    return false;
  }
  const std::size_t count = collected.size();
  // The last of several properties with the same name wins.
  auto superseded_linear = [&](std::size_t i) {
    for (std::size_t j = i + 1; j < count; ++j) {
      if (collected[j].name == collected[i].name) {
        return true;
      }
    }
    return false;
  };
  std::unordered_map<std::string_view, std::size_t> last;
  if (count > kLinearDedupLimit) {
    last.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
      last[collected[i].name] = i;
    }
  }
  for (std::size_t i = 0; i < count; ++i) {
    const bool superseded =
        count > kLinearDedupLimit ? last[collected[i].name] != i : superseded_linear(i);
    if (superseded) {
      continue;
    }
    if (!writer.Key(collected[i].name.data(),
                    static_cast<rapidjson::SizeType>(collected[i].name.size())) ||
        !write_string(writer, collected[i].value)) {
      return false;
    }
  }
  return writer.EndObject();
}

bool write_chat(JsonWriter& writer, pugi::xml_node message, const MessageParts& parts,
                const JsonOptions& options, TextScratch& scratch, Workspace& ws) {
  if (!writer.StartObject() || !write_attribute(writer, message, "from") ||
      !write_attribute(writer, message, "to") || !write_attribute(writer, message, "id")) {
    return false;
  }
  if (parts.body && !write_member(writer, "body", text_of(parts.body, scratch))) {
    return false;
  }
  if (!writer.Key("timestamp") || !writer.Int64(options.timestamp)) {
    return false;
  }
  if (parts.thread) {
    if (!write_member(writer, "thread", text_of(parts.thread, scratch)) ||
        !write_attribute(writer, parts.thread, "parent")) {
      return false;
    }
  }
  if (parts.properties && !write_properties(writer, parts.properties, scratch, ws.properties)) {
    return false;
  }
  return writer.EndObject();
}

// The bare room ID of a MUC Light `from`: the localpart of its bare JID.
std::string_view room_of(std::string_view from, bool& present) {
  const std::string_view bare = from.substr(0, from.find('/'));
  const std::size_t at = bare.find('@');
  present = at != std::string_view::npos;
  return present ? bare.substr(0, at) : std::string_view{};
}

// The sender of a MUC Light message: the resource of `from`, or the whole of
// it when it has none (the room itself speaks).
std::string_view sender_of(std::string_view from) {
  const std::size_t slash = from.find('/');
  if (slash == std::string_view::npos || slash + 1 == from.size()) {
    return from;
  }
  return from.substr(slash + 1);
}

bool write_room(JsonWriter& writer, pugi::xml_node message, const MessageParts& parts,
                const JsonOptions& options, TextScratch& scratch) {
  bool has_from = false;
  const std::string_view from = attribute_of(message, "from", has_from);
  if (!writer.StartObject() || !write_attribute(writer, message, "id")) {
    return false;
  }
  if (has_from && !write_member(writer, "from", sender_of(from))) {
    return false;
  }
  if (!writer.Key("timestamp") || !writer.Int64(options.timestamp)) {
    return false;
  }
  if (options.sse && has_from) {
    bool has_room = false;
    const std::string_view room = room_of(from, has_room);
    if (has_room && !write_member(writer, "room", room)) {
      return false;
    }
  }

  const pugi::xml_node user =
      parts.affiliations ? parts.affiliations.child("user") : pugi::xml_node{};
  if (user) {
    return write_member(writer, "type", "affiliation") &&
           write_attribute(writer, user, "affiliation") &&
           write_member(writer, "user", text_of(user, scratch)) && writer.EndObject();
  }

  if (!write_member(writer, "type", "message")) {
    return false;
  }
  if (parts.body && !write_member(writer, "body", text_of(parts.body, scratch))) {
    return false;
  }
  if (parts.markable && !(writer.Key("markable") && writer.Bool(true))) {
    return false;
  }
  if (parts.marker) {
    if (!writer.Key("chat_marker") || !writer.StartObject() ||
        !write_member(writer, "type", parts.marker.name()) ||
        !write_member(writer, "id", parts.marker.attribute("id").value()) || !writer.EndObject()) {
      return false;
    }
  }
  return writer.EndObject();
}

bool is_groupchat_message(pugi::xml_node message) {
  return std::strcmp(message.attribute("type").value(), "groupchat") == 0;
}

}  // namespace

Expected<std::string, StanzaError> message_to_json(std::string_view stanza_xml,
                                                   const JsonOptions& options) {
  Workspace& ws = workspace();
  pugi::xml_document document;
  Expected<std::string, StanzaError> output = unexpected(StanzaError::not_well_formed);
  {
    const auto parsed = parse_message(stanza_xml, document, ws.buffer_for(stanza_xml.size()));
    if (!parsed) {
      output = unexpected(parsed.error());
    } else {
      const pugi::xml_node message = *parsed;
      const MessageParts parts = find_parts(message);
      const bool room =
          options.encoding == MessageEncoding::room ||
          (options.encoding == MessageEncoding::automatic && is_groupchat_message(message));
      TextScratch scratch;
      ws.json.Clear();
      JsonWriter writer(ws.json);
      const bool written = room ? write_room(writer, message, parts, options, scratch)
                                : write_chat(writer, message, parts, options, scratch, ws);
      // Only text that is not valid Unicode makes the writer fail.
      if (written) {
        output = std::string(ws.json.GetString(), ws.json.GetSize());
      }
    }
  }
  document.reset();
  ws.release_if_large();
  return output;
}

bool is_groupchat(std::string_view stanza_xml) {
  Workspace& ws = workspace();
  pugi::xml_document document;
  const auto parsed = parse_message(stanza_xml, document, ws.buffer_for(stanza_xml.size()));
  const bool groupchat = parsed && is_groupchat_message(*parsed);
  document.reset();
  ws.release_if_large();
  return groupchat;
}

}  // namespace mimrest
