// Character-level XML 1.0 checks shared by the stanza parser and builder.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "core/detail/utf8.hpp"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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
  // Valid UTF-8 above U+007F is an XML Char except U+FFFE and U+FFFF
  // (decode_utf8 already refuses surrogates).
  char32_t code_point = 0;
  const std::size_t length = decode_utf8(p, end, code_point);
  return length != 0 && code_point != 0xFFFE && code_point != 0xFFFF ? length : 0;
}

/// Whether eight bytes are all printable ASCII (0x20..0x7F) other than '&':
/// the common case, checked a word at a time.
inline bool is_plain_ascii_word(const unsigned char* p) noexcept {
  std::uint64_t word;
  std::memcpy(&word, p, sizeof word);
  constexpr std::uint64_t kOnes = 0x0101010101010101ull;
  constexpr std::uint64_t kHigh = 0x8080808080808080ull;
  // A byte below 0x20 borrows into its high bit; exact since no byte is >= 0x80.
  const bool control = ((word - 0x20 * kOnes) & ~word & kHigh) != 0;
  const std::uint64_t ampersands = word ^ (static_cast<std::uint64_t>('&') * kOnes);
  const bool ampersand = ((ampersands - kOnes) & ~ampersands & kHigh) != 0;
  return (word & kHigh) == 0 && !control && !ampersand;
}

/// What a scan of a document found, so that a parser can skip the work that
/// the document does not need.
struct XmlTextTraits {
  bool char_reference = false;  ///< "&#": may decode to text that is not valid Unicode
};

/// Whether `text` is entirely valid UTF-8 made of XML 1.0 Chars. XMPP
/// mandates UTF-8, so anything else is not a well-formed document.
inline bool is_xml_text(std::string_view text, XmlTextTraits& traits) noexcept {
  traits = XmlTextTraits{};
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = p + text.size();
  while (p != end) {
#if defined(__SSE2__)
    // Sixteen bytes at a time, four blocks per step: as signed bytes,
    // printable ASCII is exactly what is greater than 0x1F (bytes >= 0x80 are
    // negative).
    const __m128i below = _mm_set1_epi8(0x1F);
    const __m128i ampersand = _mm_set1_epi8('&');
    auto plain = [&](const unsigned char* at) {
      const __m128i chunk = _mm_loadu_si128(reinterpret_cast<const __m128i*>(at));
      return _mm_andnot_si128(_mm_cmpeq_epi8(chunk, ampersand), _mm_cmpgt_epi8(chunk, below));
    };
    if (end - p >= 64) {
      const __m128i all = _mm_and_si128(_mm_and_si128(plain(p), plain(p + 16)),
                                        _mm_and_si128(plain(p + 32), plain(p + 48)));
      if (_mm_movemask_epi8(all) == 0xFFFF) {
        p += 64;
        continue;
      }
    }
    if (end - p >= 16 && _mm_movemask_epi8(plain(p)) == 0xFFFF) {
      p += 16;
      continue;
    }
#endif
    if (end - p >= 8 && is_plain_ascii_word(p)) {
      p += 8;
      continue;
    }
    if (*p == '&' && end - p >= 2 && p[1] == '#') {
      traits.char_reference = true;
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
