// Outgoing message stanzas, built by appending escaped text.
//
// Escaping: & < > always; " and ' in attribute values; a carriage return as
// &#13; (a parser would turn a literal one into a line feed), and in
// attribute values also tab and line feed as references (attribute-value
// normalisation would turn them into spaces). What XML 1.0 cannot carry at
// all - control characters other than tab, line feed and carriage return,
// U+FFFE/U+FFFF, bytes that are not valid UTF-8 - is replaced by U+FFFD, so
// the stanza is always well-formed and a reader sees that something was lost.
#include "mimrest/stanza_builder.hpp"

#include "core/detail/xml_chars.hpp"

namespace mimrest {
namespace {

constexpr std::string_view kReplacementCharacter = "\xEF\xBF\xBD";
constexpr std::string_view kChatMarkersNs = "urn:xmpp:chat-markers:0";

enum class Context { text, attribute };

// The replacement for one ASCII byte, or an empty view when it is kept.
std::string_view escape_ascii(unsigned char c, Context context) {
  switch (c) {
    case '&':
      return "&amp;";
    case '<':
      return "&lt;";
    case '>':
      return "&gt;";
    case '"':
      return context == Context::attribute ? "&quot;" : std::string_view{};
    case '\'':
      return context == Context::attribute ? "&apos;" : std::string_view{};
    case '\r':
      return "&#13;";
    case '\n':
      return context == Context::attribute ? "&#10;" : std::string_view{};
    case '\t':
      return context == Context::attribute ? "&#9;" : std::string_view{};
    default:
      return c < 0x20 ? kReplacementCharacter : std::string_view{};
  }
}

void append_escaped(std::string& out, std::string_view value, Context context) {
  const auto* p = reinterpret_cast<const unsigned char*>(value.data());
  const auto* end = p + value.size();
  const auto* run = p;  // start of the bytes copied as they are
  auto flush = [&](const unsigned char* until) {
    out.append(reinterpret_cast<const char*>(run), static_cast<std::size_t>(until - run));
  };
  while (p != end) {
    if (*p >= 0x80) {
      const std::size_t length = detail::xml_char_length(p, end);
      if (length != 0) {
        p += length;
        continue;
      }
      // Valid UTF-8 that is no XML Char (U+FFFE, U+FFFF) is one character,
      // replaced as one; a byte that is not valid UTF-8 is replaced alone.
      char32_t code_point;
      const std::size_t invalid = detail::decode_utf8(p, end, code_point);
      flush(p);
      out.append(kReplacementCharacter);
      p += invalid != 0 ? invalid : 1;
      run = p;
      continue;
    }
    const std::string_view replacement = escape_ascii(*p, context);
    if (replacement.empty()) {
      ++p;
      continue;
    }
    flush(p);
    out.append(replacement);
    run = ++p;
  }
  flush(end);
}

void append_attribute(std::string& out, std::string_view name, std::string_view value) {
  out += ' ';
  out.append(name);
  out += "=\"";
  append_escaped(out, value, Context::attribute);
  out += '"';
}

void append_start(std::string& out, std::string_view type, std::string_view from,
                  std::string_view to, std::string_view id) {
  out += "<message";
  append_attribute(out, "type", type);
  append_attribute(out, "from", from);
  append_attribute(out, "to", to);
  append_attribute(out, "id", id);
  out += '>';
}

void append_body(std::string& out, std::string_view body) {
  out += "<body>";
  append_escaped(out, body, Context::text);
  out += "</body>";
}

}  // namespace

std::string build_chat_message(std::string_view from, std::string_view to, std::string_view id,
                               std::string_view body) {
  std::string out;
  out.reserve(64 + from.size() + to.size() + id.size() + body.size());
  append_start(out, "chat", from, to, id);
  append_body(out, body);
  out += "</message>";
  return out;
}

std::string build_room_message(std::string_view from, std::string_view room_jid,
                               std::string_view id, const RoomMessageContent& content) {
  std::string out;
  out.reserve(160 + from.size() + room_jid.size() + id.size() +
              (content.body ? content.body->size() : 0) +
              (content.chat_marker ? content.chat_marker->id.size() : 0));
  append_start(out, "groupchat", from, room_jid, id);
  if (content.body) {
    append_body(out, *content.body);
    if (content.markable) {
      out += "<markable xmlns=\"";
      out.append(kChatMarkersNs);
      out += "\"/>";
    }
  }
  // An unknown marker type is dropped: it would otherwise become an element
  // name taken from the request.
  if (content.chat_marker && is_chat_marker_type(content.chat_marker->type)) {
    out += '<';
    out += content.chat_marker->type;
    append_attribute(out, "xmlns", kChatMarkersNs);
    append_attribute(out, "id", content.chat_marker->id);
    out += "/>";
  }
  out += "</message>";
  return out;
}

bool is_chat_marker_type(std::string_view type) noexcept {
  return type == "received" || type == "displayed" || type == "acknowledged";
}

bool is_xml_representable(std::string_view text) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = p + text.size();
  while (p != end) {
    if (*p >= 0x80) {
      const std::size_t length = detail::xml_char_length(p, end);
      if (length == 0) {
        return false;
      }
      p += length;
    } else if (*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r') {
      return false;
    } else {
      ++p;
    }
  }
  return true;
}

}  // namespace mimrest
