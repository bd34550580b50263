// Message stanza -> JSON (the "Stanza to JSON" rules of docs/api.md).
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
// Output: compact JSON written by JsonOut below, byte for byte what RapidJSON's
// Writer writes (the conformance and unit tests compare with it).
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

#include <pugixml.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <forward_list>
#include <memory>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/detail/utf8.hpp"
#include "core/detail/xml_chars.hpp"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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

constexpr char kPropertiesNs[] = "http://www.jivesoftware.com/xmlns/xmpp/properties";
constexpr char kChatMarkersNs[] = "urn:xmpp:chat-markers:0";
constexpr char kAffiliationsNs[] = "urn:xmpp:muclight:0#affiliations";

// Buffers above this size are released after use instead of kept per thread.
constexpr std::size_t kKeptCapacity = 64 * 1024;
// Above this many properties, duplicates are found with a hash map.
constexpr std::size_t kLinearDedupLimit = 16;

struct Property {
  std::string_view name;
  std::string_view value;
};

// A growable output buffer written through raw pointers: room(n) makes space
// for n more bytes and tells where they go, commit() keeps what was written.
class OutputBuffer {
 public:
  char* room(std::size_t n) {
    if (capacity_ - size_ < n) {
      grow(n);
    }
    return data_.get() + size_;
  }
  void commit(const char* end) { size_ = static_cast<std::size_t>(end - data_.get()); }
  void clear() { size_ = 0; }
  std::string_view view() const { return {data_.get(), size_}; }
  std::size_t capacity() const { return capacity_; }
  void release() {
    data_.reset();
    size_ = 0;
    capacity_ = 0;
  }

 private:
  void grow(std::size_t n) {
    const std::size_t capacity = std::max({capacity_ * 2, size_ + n, std::size_t{256}});
    std::unique_ptr<char[]> data(new char[capacity]);
    if (size_ != 0) {
      std::memcpy(data.get(), data_.get(), size_);
    }
    data_ = std::move(data);
    capacity_ = capacity;
  }

  std::unique_ptr<char[]> data_;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
};

// Reused by every conversion on a thread so that the steady state allocates
// only the pugixml page and the result string.
struct Workspace {
  std::unique_ptr<char[]> buffer;
  std::size_t capacity = 0;
  OutputBuffer json;
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
    if (json.capacity() > kKeptCapacity) {
      json.release();
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

// Whether `text` (NUL-terminated) equals the literal. Inlined and unrolled:
// cheaper than strcmp for the short names compared here, and it never reads
// past the first difference, so never past the end of `text`.
template <std::size_t N>
bool equals(const char* text, const char (&literal)[N]) {
  for (std::size_t i = 0; i < N; ++i) {
    if (text[i] != literal[i]) {
      return false;
    }
  }
  return true;
}

template <std::size_t N>
bool has_name(pugi::xml_node node, const char (&name)[N]) {
  return equals(node.name(), name);
}

// The first attribute called `name`, like pugixml's attribute() but inlined.
template <std::size_t N>
pugi::xml_attribute attribute_named(pugi::xml_node node, const char (&name)[N]) {
  for (pugi::xml_attribute attribute = node.first_attribute(); attribute;
       attribute = attribute.next_attribute()) {
    if (equals(attribute.name(), name)) {
      return attribute;
    }
  }
  return {};
}

template <std::size_t N>
bool has_xmlns(pugi::xml_node node, const char (&ns)[N]) {
  return equals(attribute_named(node, "xmlns").value(), ns);
}

bool is_text(pugi::xml_node node) {
  return node.type() == pugi::node_pcdata || node.type() == pugi::node_cdata;
}

// Parses `xml` into `document` (in place in `buffer`, which must outlive it)
// and returns its root element, which must be a <message>.
// `traits` tells what the document holds (e.g. character references).
Expected<pugi::xml_node, StanzaError> parse_message(std::string_view xml,
                                                    pugi::xml_document& document, char* buffer,
                                                    detail::XmlTextTraits& traits) {
  if (!detail::is_xml_text(xml, traits)) {
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

bool is_marker_name(const char* name) {
  return equals(name, "received") || equals(name, "displayed") || equals(name, "acknowledged");
}

// The attributes and children of a <message> that the encodings look at,
// found in one pass over each (the first of duplicates counts).
struct MessageParts {
  pugi::xml_attribute from;
  pugi::xml_attribute to;
  pugi::xml_attribute id;
  pugi::xml_attribute type;
  pugi::xml_node body;
  pugi::xml_node thread;
  pugi::xml_node properties;
  pugi::xml_node affiliations;
  pugi::xml_node marker;
  bool markable = false;
};

MessageParts find_parts(pugi::xml_node message) {
  MessageParts parts;
  for (pugi::xml_attribute attribute = message.first_attribute(); attribute;
       attribute = attribute.next_attribute()) {
    const char* name = attribute.name();
    pugi::xml_attribute* slot = nullptr;
    switch (name[0]) {
      case 'f':
        slot = equals(name, "from") ? &parts.from : nullptr;
        break;
      case 't':
        slot = equals(name, "to") ? &parts.to : equals(name, "type") ? &parts.type : nullptr;
        break;
      case 'i':
        slot = equals(name, "id") ? &parts.id : nullptr;
        break;
      default:
        break;
    }
    if (slot != nullptr && !*slot) {
      *slot = attribute;
    }
  }
  for (pugi::xml_node child = message.first_child(); child; child = child.next_sibling()) {
    if (child.type() != pugi::node_element) {
      continue;
    }
    const char* name = child.name();
    switch (name[0]) {
      case 'b':
        if (!parts.body && equals(name, "body")) {
          parts.body = child;
        }
        break;
      case 't':
        if (!parts.thread && equals(name, "thread")) {
          parts.thread = child;
        }
        break;
      case 'p':
        if (!parts.properties && equals(name, "properties") && has_xmlns(child, kPropertiesNs)) {
          parts.properties = child;
        }
        break;
      case 'x':
        if (!parts.affiliations && name[1] == '\0' && has_xmlns(child, kAffiliationsNs)) {
          parts.affiliations = child;
        }
        break;
      case 'm':
        if (!parts.markable && equals(name, "markable") && has_xmlns(child, kChatMarkersNs)) {
          parts.markable = true;
        }
        break;
      default:
        if (!parts.marker && is_marker_name(name) && attribute_named(child, "id") &&
            has_xmlns(child, kChatMarkersNs)) {
          parts.marker = child;
        }
        break;
    }
  }
  return parts;
}

// JSON escapes, as RapidJSON's Writer writes them: the character after the
// backslash, 'u' for \u00XX, 0 for a byte copied as it is.
constexpr std::array<char, 256> kJsonEscapes = [] {
  std::array<char, 256> escapes{};
  for (std::size_t c = 0; c < 0x20; ++c) {
    escapes[c] = 'u';
  }
  escapes['\b'] = 'b';
  escapes['\t'] = 't';
  escapes['\n'] = 'n';
  escapes['\f'] = 'f';
  escapes['\r'] = 'r';
  escapes['"'] = '"';
  escapes['\\'] = '\\';
  return escapes;
}();

// Compact JSON, byte for byte what RapidJSON's Writer writes for the same
// calls (the same escapes, upper-case hex, other bytes as they are), written
// straight into the workspace: member names known at compile time are one
// copy, and strings are copied in runs up to the next byte to escape. With
// `validate`, a string or name that is not valid UTF-8 fails the conversion,
// as RapidJSON's kWriteValidateEncodingFlag would.
//
// Why not RapidJSON's Writer: it copies strings a byte at a time, and at -O3
// GCC inlines its string writer into every call site, which made the
// conversion's code too big for the instruction cache (tests/bench/README.md).
// Here strings go through one escaper.
class JsonOut {
 public:
  JsonOut(OutputBuffer& buffer, bool validate) : buffer_(buffer), validate_(validate) {
    buffer_.clear();
  }

  bool ok() const { return ok_; }
  std::string_view text() const { return buffer_.view(); }

  void start_object() {
    put('{');
    first_ = true;
  }

  void end_object() {
    put('}');
    first_ = false;
  }

  // A member name known at compile time: plain ASCII, nothing to escape.
  template <std::size_t N>
  void key(const char (&name)[N]) {
    char* out = buffer_.room(N + 3);
    if (!first_) {
      *out++ = ',';
    }
    first_ = false;
    *out++ = '"';
    std::memcpy(out, name, N - 1);
    out += N - 1;
    *out++ = '"';
    *out++ = ':';
    buffer_.commit(out);
  }

  // A member name from the stanza.
  void key(std::string_view name) {
    if (!first_) {
      put(',');
    }
    first_ = false;
    string(name);
    put(':');
  }

  void string(std::string_view text);

  void int64(std::int64_t value) {
    char* out = buffer_.room(20);
    out = std::to_chars(out, out + 20, value).ptr;
    buffer_.commit(out);
  }

  void true_value() {
    char* out = buffer_.room(4);
    std::memcpy(out, "true", 4);
    buffer_.commit(out + 4);
  }

 private:
  void put(char c) {
    char* out = buffer_.room(1);
    *out = c;
    buffer_.commit(out + 1);
  }

  OutputBuffer& buffer_;
  bool validate_;
  bool first_ = true;
  bool ok_ = true;
};

void JsonOut::string(std::string_view text) {
  if (validate_ && !detail::is_valid_utf8(text)) {
    ok_ = false;
    return;
  }
  // At most six bytes per input byte (\u00XX) and the quotes.
  char* out = buffer_.room(2 + 6 * text.size());
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = p + text.size();
  *out++ = '"';
  for (;;) {
#if defined(__SSE2__)
    // Sixteen bytes at a time: stored whole (there is room for them), kept up
    // to the first '"', '\\' or control character.
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i backslash = _mm_set1_epi8('\\');
    const __m128i last_control = _mm_set1_epi8(0x1F);
    while (end - p >= 16) {
      const __m128i chunk = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out), chunk);
      const __m128i control =
          _mm_cmpeq_epi8(_mm_subs_epu8(chunk, last_control), _mm_setzero_si128());
      const __m128i special = _mm_or_si128(
          control, _mm_or_si128(_mm_cmpeq_epi8(chunk, quote), _mm_cmpeq_epi8(chunk, backslash)));
      const auto mask = static_cast<unsigned>(_mm_movemask_epi8(special));
      if (mask != 0) {
        const auto clean = static_cast<unsigned>(__builtin_ctz(mask));
        p += clean;
        out += clean;
        break;
      }
      p += 16;
      out += 16;
    }
#endif
    while (p != end && kJsonEscapes[*p] == 0) {
      *out++ = static_cast<char>(*p++);
    }
    if (p == end) {
      break;
    }
    const unsigned char c = *p++;
    const char escape = kJsonEscapes[c];
    *out++ = '\\';
    *out++ = escape;
    if (escape == 'u') {
      constexpr char kHex[] = "0123456789ABCDEF";
      *out++ = '0';
      *out++ = '0';
      *out++ = kHex[c >> 4];
      *out++ = kHex[c & 0xF];
    }
  }
  *out++ = '"';
  buffer_.commit(out);
}

// Writes `key` as a member when the attribute is present.
template <std::size_t N>
void write_attribute(JsonOut& out, const char (&key)[N], pugi::xml_attribute attribute) {
  if (attribute) {
    out.key(key);
    out.string(attribute.value());
  }
}

void write_properties(JsonOut& out, pugi::xml_node properties, TextScratch& scratch,
                      std::vector<Property>& collected) {
  collected.clear();
  for (pugi::xml_node property = properties.first_child(); property;
       property = property.next_sibling()) {
    if (property.type() != pugi::node_element || !has_name(property, "property")) {
      continue;
    }
    pugi::xml_node name;
    pugi::xml_node value;
    for (pugi::xml_node child = property.first_child(); child; child = child.next_sibling()) {
      if (child.type() != pugi::node_element) {
        continue;
      }
      if (!name && has_name(child, "name")) {
        name = child;
      } else if (!value && has_name(child, "value")) {
        value = child;
      }
    }
    if (!name) {
      continue;
    }
    collected.push_back(
        Property{text_of(name, scratch), value ? text_of(value, scratch) : std::string_view{}});
  }

  out.key("properties");
  out.start_object();
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
    if (!superseded) {
      out.key(collected[i].name);
      out.string(collected[i].value);
    }
  }
  out.end_object();
}

void write_chat(JsonOut& out, const MessageParts& parts, const JsonOptions& options,
                TextScratch& scratch, std::vector<Property>& properties) {
  out.start_object();
  write_attribute(out, "from", parts.from);
  write_attribute(out, "to", parts.to);
  write_attribute(out, "id", parts.id);
  if (parts.body) {
    out.key("body");
    out.string(text_of(parts.body, scratch));
  }
  out.key("timestamp");
  out.int64(options.timestamp);
  if (parts.thread) {
    out.key("thread");
    out.string(text_of(parts.thread, scratch));
    write_attribute(out, "parent", attribute_named(parts.thread, "parent"));
  }
  if (parts.properties) {
    write_properties(out, parts.properties, scratch, properties);
  }
  out.end_object();
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

void write_room(JsonOut& out, const MessageParts& parts, const JsonOptions& options,
                TextScratch& scratch) {
  const bool has_from = static_cast<bool>(parts.from);
  const std::string_view from = parts.from.value();
  out.start_object();
  write_attribute(out, "id", parts.id);
  if (has_from) {
    out.key("from");
    out.string(sender_of(from));
  }
  out.key("timestamp");
  out.int64(options.timestamp);
  if (options.sse && has_from) {
    bool has_room = false;
    const std::string_view room = room_of(from, has_room);
    if (has_room) {
      out.key("room");
      out.string(room);
    }
  }

  const pugi::xml_node user =
      parts.affiliations ? parts.affiliations.child("user") : pugi::xml_node{};
  if (user) {
    out.key("type");
    out.string("affiliation");
    write_attribute(out, "affiliation", attribute_named(user, "affiliation"));
    out.key("user");
    out.string(text_of(user, scratch));
    out.end_object();
    return;
  }

  out.key("type");
  out.string("message");
  if (parts.body) {
    out.key("body");
    out.string(text_of(parts.body, scratch));
  }
  if (parts.markable) {
    out.key("markable");
    out.true_value();
  }
  if (parts.marker) {
    out.key("chat_marker");
    out.start_object();
    out.key("type");
    out.string(parts.marker.name());
    out.key("id");
    out.string(attribute_named(parts.marker, "id").value());
    out.end_object();
  }
  out.end_object();
}

bool is_groupchat_type(pugi::xml_attribute type) {
  return equals(type.value(), "groupchat");
}

MessageType message_type_of(pugi::xml_attribute type) {
  if (is_groupchat_type(type)) {
    return MessageType::groupchat;
  }
  return equals(type.value(), "chat") ? MessageType::chat : MessageType::other;
}

}  // namespace

Expected<TypedMessageJson, StanzaError> typed_message_to_json(std::string_view stanza_xml,
                                                              const JsonOptions& options) {
  Workspace& ws = workspace();
  pugi::xml_document document;
  Expected<TypedMessageJson, StanzaError> output = unexpected(StanzaError::not_well_formed);
  {
    detail::XmlTextTraits traits;
    const auto parsed =
        parse_message(stanza_xml, document, ws.buffer_for(stanza_xml.size()), traits);
    if (!parsed) {
      output = unexpected(parsed.error());
    } else {
      const MessageParts parts = find_parts(*parsed);
      const bool room =
          options.encoding == MessageEncoding::room ||
          (options.encoding == MessageEncoding::automatic && is_groupchat_type(parts.type));
      TextScratch scratch;
      // Text from a valid UTF-8 document is valid UTF-8, except what pugixml
      // decodes from a numeric character reference (it writes surrogates and
      // code points beyond U+10FFFF as is): only stanzas with one pay for
      // validating the output.
      JsonOut out(ws.json, traits.char_reference);
      if (room) {
        write_room(out, parts, options, scratch);
      } else {
        write_chat(out, parts, options, scratch, ws.properties);
      }
      // Only text that is not valid Unicode makes the output fail.
      if (out.ok()) {
        output = TypedMessageJson{message_type_of(parts.type), std::string(out.text())};
      }
    }
  }
  ws.release_if_large();
  return output;
}

Expected<std::string, StanzaError> message_to_json(std::string_view stanza_xml,
                                                   const JsonOptions& options) {
  auto typed = typed_message_to_json(stanza_xml, options);
  if (!typed) {
    return unexpected(typed.error());
  }
  return std::move(typed->json);
}

}  // namespace mimrest
