// Helpers shared by the fuzz targets: property checks that abort with a
// readable message, input decoding, strict UTF-8 and JSON validation, and the
// model of what the stanza builders do with text XML cannot carry.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

namespace mimrest::fuzz {

/// At most `limit` bytes of `text`, with everything that is not printable
/// ASCII escaped, for failure messages.
inline std::string printable(std::string_view text, std::size_t limit = 400) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < text.size() && i < limit; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\\') {
      out += "\\\\";
    } else if (c >= 0x20 && c < 0x7F) {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 0x0F];
    }
  }
  if (text.size() > limit) {
    out += "...(" + std::to_string(text.size()) + " bytes)";
  }
  return out;
}

/// Reports a broken property and aborts, which libFuzzer (and the replay
/// driver's caller) sees as a crash.
[[noreturn]] inline void fail(const char* file, int line, const char* condition,
                              const std::string& context) {
  std::fprintf(stderr, "\n%s:%d: property failed: %s\n  %s\n", file, line, condition,
               context.c_str());
  std::fflush(stderr);
  std::abort();
}

}  // namespace mimrest::fuzz

/// Checks a property; `context` (a std::string expression) is only evaluated
/// when it fails.
#define MIMREST_FUZZ_CHECK(condition, context)                          \
  do {                                                                  \
    if (!(condition)) {                                                 \
      ::mimrest::fuzz::fail(__FILE__, __LINE__, #condition, (context)); \
    }                                                                   \
  } while (false)

namespace mimrest::fuzz {

/// Reads a fuzz input front to back; reads past the end give zeros and empty
/// strings, so every input decodes to something.
class ByteReader {
 public:
  ByteReader(const std::uint8_t* data, std::size_t size)
      : text_(reinterpret_cast<const char*>(data), size) {}
  explicit ByteReader(std::string_view text) : text_(text) {}

  bool empty() const noexcept { return text_.empty(); }
  std::size_t size() const noexcept { return text_.size(); }

  std::uint8_t byte() {
    if (text_.empty()) {
      return 0;
    }
    const auto value = static_cast<std::uint8_t>(text_.front());
    text_.remove_prefix(1);
    return value;
  }

  /// A string of length byte() % (max + 1), or shorter at the end of input.
  std::string_view short_string(std::size_t max) {
    const std::size_t length = byte() % (max + 1);
    return take(length);
  }

  /// The next `length` bytes (fewer at the end).
  std::string_view take(std::size_t length) {
    const std::string_view out = text_.substr(0, length);
    text_.remove_prefix(out.size());
    return out;
  }

  /// Everything up to the next `separator` (consumed), or the rest.
  std::string_view until(char separator) {
    const std::size_t at = text_.find(separator);
    const std::string_view out = text_.substr(0, at);
    text_.remove_prefix(at == std::string_view::npos ? text_.size() : at + 1);
    return out;
  }

  std::string_view rest() {
    const std::string_view out = text_;
    text_ = {};
    return out;
  }

 private:
  std::string_view text_;
};

/// Decodes one code point of strict UTF-8 (RFC 3629: no overlong forms, no
/// surrogates, nothing above U+10FFFF) at `i`, advancing `i`; -1 when invalid.
inline long next_code_point(std::string_view text, std::size_t& i) {
  const auto c = static_cast<unsigned char>(text[i]);
  if (c < 0x80) {
    ++i;
    return c;
  }
  std::size_t extra = 0;
  long code = 0;
  long min = 0;
  if (c >= 0xC2 && c <= 0xDF) {
    extra = 1;
    code = c & 0x1F;
    min = 0x80;
  } else if (c >= 0xE0 && c <= 0xEF) {
    extra = 2;
    code = c & 0x0F;
    min = 0x800;
  } else if (c >= 0xF0 && c <= 0xF4) {
    extra = 3;
    code = c & 0x07;
    min = 0x10000;
  } else {
    return -1;
  }
  if (text.size() - i <= extra) {
    return -1;
  }
  for (std::size_t k = 1; k <= extra; ++k) {
    const auto b = static_cast<unsigned char>(text[i + k]);
    if ((b & 0xC0) != 0x80) {
      return -1;
    }
    code = (code << 6) | (b & 0x3F);
  }
  if (code < min || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) {
    return -1;
  }
  i += extra + 1;
  return code;
}

inline bool valid_utf8(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    if (next_code_point(text, i) < 0) {
      return false;
    }
  }
  return true;
}

/// Whether a code point is an XML 1.0 Char.
inline bool is_xml_char(long code) {
  return code == 0x9 || code == 0xA || code == 0xD || (code >= 0x20 && code <= 0xD7FF) ||
         (code >= 0xE000 && code <= 0xFFFD) || (code >= 0x10000 && code <= 0x10FFFF);
}

inline constexpr std::string_view kReplacementCharacter = "\xEF\xBF\xBD";

/// What the stanza builders promise (stanza_builder.cpp): every character
/// XML 1.0 cannot carry is replaced by one U+FFFD, and so is every byte that
/// is not valid UTF-8; everything else comes back unchanged.
inline std::string xml_safe(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t start = i;
    const long code = next_code_point(text, i);
    if (code < 0) {
      ++i;  // not valid UTF-8: this byte alone
    } else if (is_xml_char(code)) {
      out.append(text.substr(start, i - start));
      continue;
    }
    out.append(kReplacementCharacter);
  }
  return out;
}

/// `text` with every byte that is not valid UTF-8 replaced by U+FFFD (what
/// an error message that echoes a request's text must show).
inline std::string utf8_replacing_invalid(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t start = i;
    if (next_code_point(text, i) < 0) {
      ++i;
      out.append(kReplacementCharacter);
    } else {
      out.append(text.substr(start, i - start));
    }
  }
  return out;
}

/// Parses `text` as one JSON value, validating UTF-8. The error text, or an
/// empty string on success.
inline std::string parse_json(std::string_view text, rapidjson::Document& document) {
  document.Parse<rapidjson::kParseValidateEncodingFlag | rapidjson::kParseIterativeFlag>(
      text.data(), text.size());
  if (!document.HasParseError()) {
    return {};
  }
  return std::string(rapidjson::GetParseError_En(document.GetParseError())) + " at byte " +
         std::to_string(document.GetErrorOffset()) + " of " + printable(text);
}

inline bool is_valid_json(std::string_view text) {
  rapidjson::Document document;
  return parse_json(text, document).empty();
}

/// The string value of member `name`, if `object` is an object with a string
/// member of that name.
inline std::optional<std::string_view> string_at(const rapidjson::Value& object, const char* name) {
  if (!object.IsObject()) {
    return std::nullopt;
  }
  const auto member = object.FindMember(name);
  if (member == object.MemberEnd() || !member->value.IsString()) {
    return std::nullopt;
  }
  return std::string_view(member->value.GetString(), member->value.GetStringLength());
}

}  // namespace mimrest::fuzz
