// HTTP Basic authentication (RFC 7617) with a bare JID as the user name.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "mimrest/export.hpp"
#include "mimrest/jid.hpp"

namespace mimrest {

/// The decoded user-pass of a Basic Authorization header.
struct MIMREST_EXPORT BasicCredentials {
  Jid user;  ///< prepared bare JID
  std::string password;
};

/// Parses an Authorization header value: scheme "Basic" (any case), one or
/// more spaces, strict padded base64 of "bare-jid:password", split at the
/// FIRST colon. nullopt for anything else, including a JID with a resource.
MIMREST_EXPORT std::optional<BasicCredentials> parse_basic_authorization(
    std::string_view header_value);

}  // namespace mimrest
