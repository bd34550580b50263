// Bearer tokens (RFC 6750) as mimrest makes them: opaque random strings, of
// which a TokenStore keeps only the SHA-256.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "mimrest/export.hpp"

namespace mimrest {

/// A new token: 32 bytes (256 bits) from OpenSSL's CSPRNG in base64url
/// without padding (43 characters). Throws std::runtime_error if the
/// generator fails.
MIMREST_EXPORT std::string make_bearer_token();

/// The SHA-256 of a token (32 raw bytes): what is stored and looked up.
MIMREST_EXPORT std::string bearer_token_hash(std::string_view token);

/// Whether `text` has the shape of a token make_bearer_token() makes.
MIMREST_EXPORT bool is_bearer_token_shaped(std::string_view text) noexcept;

/// The token of an Authorization header value "Bearer <token>" (scheme in
/// any case, one or more spaces); nullopt for any other scheme or shape.
MIMREST_EXPORT std::optional<std::string_view> parse_bearer_authorization(
    std::string_view header_value);

}  // namespace mimrest
