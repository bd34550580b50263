// Character-level XML 1.0 checks shared by the stanza parser and builder.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace mimrest::detail {

/// Length in bytes of the UTF-8 encoded XML 1.0 Char at `p` (#x9 | #xA | #xD |
/// [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]), or 0 when the bytes
/// there are not one: invalid or overlong UTF-8, a surrogate, a forbidden
/// control character, U+FFFE/U+FFFF, or a sequence cut short by `end`.
inline std::size_t xml_char_length(const unsigned char* p, const unsigned char* end) noexcept {
  const unsigned char c = p[0];
  if (c < 0x80) {
    return (c >= 0x20 || c == '\t' || c == '\n' || c == '\r') ? 1 : 0;
  }
  const auto available = static_cast<std::size_t>(end - p);
  auto continuation = [](unsigned char b) { return (b & 0xC0) == 0x80; };
  if (c >= 0xC2 && c <= 0xDF) {
    return available >= 2 && continuation(p[1]) ? 2 : 0;
  }
  if (c >= 0xE0 && c <= 0xEF) {
    if (available < 3 || !continuation(p[1]) || !continuation(p[2])) {
      return 0;
    }
    const std::uint32_t cp = ((c & 0x0Fu) << 12) | ((p[1] & 0x3Fu) << 6) | (p[2] & 0x3Fu);
    if (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF) || cp == 0xFFFE || cp == 0xFFFF) {
      return 0;
    }
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (available < 4 || !continuation(p[1]) || !continuation(p[2]) || !continuation(p[3])) {
      return 0;
    }
    const std::uint32_t cp =
        ((c & 0x07u) << 18) | ((p[1] & 0x3Fu) << 12) | ((p[2] & 0x3Fu) << 6) | (p[3] & 0x3Fu);
    return cp >= 0x10000 && cp <= 0x10FFFF ? 4 : 0;
  }
  return 0;
}

/// Whether eight bytes are all printable ASCII (0x20..0x7F): the common case,
/// checked a word at a time.
inline bool is_plain_ascii_word(const unsigned char* p) noexcept {
  std::uint64_t word;
  std::memcpy(&word, p, sizeof word);
  constexpr std::uint64_t kHigh = 0x8080808080808080ull;
  constexpr std::uint64_t kSpaces = 0x2020202020202020ull;
  // A byte below 0x20 borrows into its high bit; exact since no byte is >= 0x80.
  return (word & kHigh) == 0 && ((word - kSpaces) & ~word & kHigh) == 0;
}

/// Whether `text` is entirely valid UTF-8 made of XML 1.0 Chars. XMPP
/// mandates UTF-8, so anything else is not a well-formed document.
inline bool is_xml_text(std::string_view text) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = p + text.size();
  while (p != end) {
    if (end - p >= 8 && is_plain_ascii_word(p)) {
      p += 8;
      continue;
    }
    const std::size_t length = xml_char_length(p, end);
    if (length == 0) {
      return false;
    }
    p += length;
  }
  return true;
}

}  // namespace mimrest::detail
