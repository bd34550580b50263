#include "core/detail/stringprep.hpp"

#include <stringprep.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/detail/utf8.hpp"

namespace mimrest::detail {
namespace {

const Stringprep_profile* libidn_profile(StringprepProfile profile) noexcept {
  switch (profile) {
    case StringprepProfile::nodeprep:
      return stringprep_xmpp_nodeprep;
    case StringprepProfile::nameprep:
      return stringprep_nameprep;
    case StringprepProfile::resourceprep:
      return stringprep_xmpp_resourceprep;
  }
  return stringprep_xmpp_nodeprep;
}

bool is_ascii(std::string_view text) noexcept {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

bool is_ascii_control(unsigned char c) noexcept {
  return c < 0x20 || c == 0x7F;
}

// RFC 3920 appendix A.5: the ASCII characters nodeprep prohibits besides
// space and controls.
bool is_nodeprep_prohibited(char c) noexcept {
  return std::string_view("\"&'/:<>@").find(c) != std::string_view::npos;
}

// For ASCII no character is mapped to nothing (RFC 3454 table B.1), NFKC
// changes nothing, no character is unassigned or bidirectional; what remains
// is the case fold of table B.2 and the prohibited characters of each profile.
std::optional<std::string> stringprep_ascii(std::string_view input, StringprepProfile profile) {
  std::string out(input);
  for (char& c : out) {
    const auto u = static_cast<unsigned char>(c);
    if (u == 0) {
      return std::nullopt;  // Libidn reads a NUL-terminated string
    }
    switch (profile) {
      case StringprepProfile::nodeprep:
        // Table C.1.1 (space), C.2.1 (controls), appendix A.5.
        if (u == 0x20 || is_ascii_control(u) || is_nodeprep_prohibited(c)) {
          return std::nullopt;
        }
        break;
      case StringprepProfile::nameprep:
        break;  // nameprep prohibits no ASCII character
      case StringprepProfile::resourceprep:
        if (is_ascii_control(u)) {  // table C.2.1
          return std::nullopt;
        }
        continue;  // no case folding
    }
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

}  // namespace

std::optional<std::string> stringprep_libidn(std::string_view input, StringprepProfile profile) {
  // Libidn assumes valid UTF-8 (RFC 3629: no overlong forms, no surrogates,
  // nothing above U+10FFFF) and a NUL-terminated string.
  if (!is_valid_utf8(input) || input.find('\0') != std::string_view::npos) {
    return std::nullopt;
  }
  // Libidn prepares in place in a NUL-terminated buffer; NFKC and case
  // folding may expand the text, so grow the buffer when it is too small.
  std::size_t capacity = input.size() * 4 + 16;
  for (int attempt = 0; attempt < 3; ++attempt) {
    std::vector<char> buffer(capacity, '\0');
    std::memcpy(buffer.data(), input.data(), input.size());
    const int rc = ::stringprep(buffer.data(), buffer.size(),
                                static_cast<Stringprep_profile_flags>(0), libidn_profile(profile));
    if (rc == STRINGPREP_OK) {
      std::string out(buffer.data());
      if (!is_valid_utf8(out)) {
        return std::nullopt;
      }
      return out;
    }
    if (rc != STRINGPREP_TOO_SMALL_BUFFER) {
      return std::nullopt;
    }
    capacity *= 4;
  }
  return std::nullopt;
}

std::optional<std::string> stringprep(std::string_view input, StringprepProfile profile) {
  if (is_ascii(input)) {
    return stringprep_ascii(input, profile);
  }
  return stringprep_libidn(input, profile);
}

}  // namespace mimrest::detail
