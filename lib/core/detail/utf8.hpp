// UTF-8 decoding and validation (RFC 3629), shared by the JID, XML and JSON
// checks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace mimrest::detail {

/// Decodes the UTF-8 sequence at `p` (before `end`, which must be after `p`).
/// Returns its length in bytes (1 to 4) and stores its code point in
/// `code_point`, or returns 0 when the bytes there are not valid UTF-8: a
/// stray continuation byte, an overlong form, a surrogate, a code point above
/// U+10FFFF, or a sequence cut short by `end` or by a byte that does not
/// continue it.
inline std::size_t decode_utf8(const unsigned char* p, const unsigned char* end,
                               char32_t& code_point) noexcept {
  const unsigned char c = p[0];
  if (c < 0x80) {
    code_point = c;
    return 1;
  }
  const auto available = static_cast<std::size_t>(end - p);
  auto continuation = [](unsigned char b) { return (b & 0xC0) == 0x80; };
  if (c >= 0xC2 && c <= 0xDF) {
    if (available < 2 || !continuation(p[1])) {
      return 0;
    }
    code_point = ((c & 0x1Fu) << 6) | (p[1] & 0x3Fu);
    return 2;
  }
  if (c >= 0xE0 && c <= 0xEF) {
    if (available < 3 || !continuation(p[1]) || !continuation(p[2])) {
      return 0;
    }
    const char32_t cp = ((c & 0x0Fu) << 12) | ((p[1] & 0x3Fu) << 6) | (p[2] & 0x3Fu);
    if (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return 0;
    }
    code_point = cp;
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (available < 4 || !continuation(p[1]) || !continuation(p[2]) || !continuation(p[3])) {
      return 0;
    }
    const char32_t cp =
        ((c & 0x07u) << 18) | ((p[1] & 0x3Fu) << 12) | ((p[2] & 0x3Fu) << 6) | (p[3] & 0x3Fu);
    if (cp < 0x10000 || cp > 0x10FFFF) {
      return 0;
    }
    code_point = cp;
    return 4;
  }
  return 0;  // a continuation byte, C0/C1 (overlong) or F5..FF
}

/// Whether eight bytes are all ASCII, checked as one word.
inline bool is_ascii_word(const unsigned char* p) noexcept {
  std::uint64_t word;
  std::memcpy(&word, p, sizeof word);
  return (word & 0x8080808080808080ull) == 0;
}

/// Whether `text` is entirely valid UTF-8 (see decode_utf8). ASCII runs are
/// skipped eight bytes at a time.
inline bool is_valid_utf8(std::string_view text) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = p + text.size();
  while (p != end) {
    if (end - p >= 8 && is_ascii_word(p)) {
      p += 8;
      continue;
    }
    if (*p < 0x80) {
      ++p;
      continue;
    }
    char32_t code_point;
    const std::size_t length = decode_utf8(p, end, code_point);
    if (length == 0) {
      return false;
    }
    p += length;
  }
  return true;
}

/// Appends `text` to `out` with every byte that does not start a valid UTF-8
/// sequence (see decode_utf8) replaced by U+FFFD, so that the result is valid
/// UTF-8 whatever `text` holds.
inline void append_utf8_replacing_invalid(std::string& out, std::string_view text) {
  constexpr std::string_view kReplacementCharacter = "\xEF\xBF\xBD";
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = p + text.size();
  const auto* run = p;  // start of the bytes copied as they are
  while (p != end) {
    if (*p < 0x80) {
      ++p;
      continue;
    }
    char32_t code_point;
    const std::size_t length = decode_utf8(p, end, code_point);
    if (length != 0) {
      p += length;
      continue;
    }
    out.append(reinterpret_cast<const char*>(run), static_cast<std::size_t>(p - run));
    out.append(kReplacementCharacter);
    run = ++p;
  }
  out.append(reinterpret_cast<const char*>(run), static_cast<std::size_t>(end - run));
}

}  // namespace mimrest::detail
