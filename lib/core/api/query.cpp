#include "core/api/query.hpp"

#include <limits>

namespace mimrest::detail {

namespace {

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

bool is_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}

}  // namespace

std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) {
        return std::nullopt;  // fewer than two hex digits follow
      }
      int high = hex_value(text[i + 1]);
      int low = hex_value(text[i + 2]);
      if (high < 0 || low < 0) {
        return std::nullopt;
      }
      out += static_cast<char>(high * 16 + low);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

std::optional<std::vector<std::pair<std::string, std::string>>> parse_query(
    std::string_view query) {
  std::vector<std::pair<std::string, std::string>> pairs;
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (part.empty()) {
      continue;
    }
    auto eq = part.find('=');
    if (eq == std::string_view::npos) {
      return std::nullopt;
    }
    auto key = percent_decode(part.substr(0, eq), true);
    auto value = percent_decode(part.substr(eq + 1), true);
    if (!key || !value) {
      return std::nullopt;
    }
    pairs.emplace_back(std::move(*key), std::move(*value));
  }
  return pairs;
}

std::optional<std::uint64_t> parse_unsigned_saturating(std::string_view text) {
  if (text.empty()) {
    return std::nullopt;
  }
  constexpr auto max = std::numeric_limits<std::uint64_t>::max();
  std::uint64_t value = 0;
  for (char c : text) {
    if (!is_digit(c)) {
      return std::nullopt;
    }
    auto digit = static_cast<std::uint64_t>(c - '0');
    value = value > (max - digit) / 10 ? max : value * 10 + digit;
  }
  return value;
}

std::optional<std::int64_t> parse_signed_saturating(std::string_view text) {
  bool negative = false;
  if (!text.empty() && (text.front() == '-' || text.front() == '+')) {
    negative = text.front() == '-';
    text.remove_prefix(1);
  }
  auto magnitude = parse_unsigned_saturating(text);
  if (!magnitude) {
    return std::nullopt;
  }
  constexpr auto max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  if (negative) {
    if (*magnitude > max) {
      return std::numeric_limits<std::int64_t>::min();
    }
    return -static_cast<std::int64_t>(*magnitude);
  }
  return *magnitude > max ? std::numeric_limits<std::int64_t>::max()
                          : static_cast<std::int64_t>(*magnitude);
}

std::int64_t saturating_ms_to_us(std::int64_t ms) noexcept {
  constexpr auto max = std::numeric_limits<std::int64_t>::max();
  constexpr auto min = std::numeric_limits<std::int64_t>::min();
  if (ms > max / 1000) {
    return max;
  }
  if (ms < min / 1000) {
    return min;
  }
  return ms * 1000;
}

}  // namespace mimrest::detail
