// The few cryptographic primitives mimrest needs, all from OpenSSL: strict
// base64, random identifiers and constant-time comparison.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "mimrest/export.hpp"

namespace mimrest {

/// Standard base64 (RFC 4648 section 4) with padding.
MIMREST_EXPORT std::string base64_encode(std::string_view bytes);

/// Strict decoding: standard alphabet, padding required, no whitespace, no
/// data after padding. nullopt for anything else.
MIMREST_EXPORT std::optional<std::string> base64_decode(std::string_view text);

/// `count` bytes from OpenSSL's CSPRNG. Throws std::runtime_error if the
/// generator fails: predictable bytes are never returned.
MIMREST_EXPORT std::string random_bytes(std::size_t count);

/// A random (version 4) UUID in lower-case canonical form.
MIMREST_EXPORT std::string random_uuid();

/// Equality of two byte strings in time that depends only on their lengths.
MIMREST_EXPORT bool constant_time_equal(std::string_view a, std::string_view b) noexcept;

}  // namespace mimrest
