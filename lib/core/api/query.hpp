// Internal: percent-decoding of paths and queries, and strict number parsing
// for query parameters.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mimrest::detail {

/// Decodes %XX escapes (RFC 3986). `plus_is_space` for query strings
/// (application/x-www-form-urlencoded). nullopt for a malformed escape.
std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space = false);

/// Splits "a=1&b=2" into decoded pairs. Empty parts ("a=1&") are skipped; a
/// part without '=' or with a malformed escape makes the whole query invalid.
std::optional<std::vector<std::pair<std::string, std::string>>> parse_query(std::string_view query);

/// Decimal digits only (no sign, no spaces, at least one digit); values too
/// large for 64 bits saturate at the maximum.
std::optional<std::uint64_t> parse_unsigned_saturating(std::string_view text);

/// An optional '+' or '-' then decimal digits; saturates at the int64 limits.
std::optional<std::int64_t> parse_signed_saturating(std::string_view text);

/// ms * 1000, saturating at the int64 limits.
std::int64_t saturating_ms_to_us(std::int64_t ms) noexcept;

}  // namespace mimrest::detail
