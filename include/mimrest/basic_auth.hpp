// HTTP Basic authentication (RFC 7617) with a bare JID as the user name.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "mimrest/jid.hpp"
#include "mimrest/password_verifier.hpp"

namespace mimrest {

/// The decoded user-pass of a Basic Authorization header.
struct BasicCredentials {
  Jid user;  ///< prepared bare JID
  std::string password;
};

/// Parses an Authorization header value: scheme "Basic" (any case), one or
/// more spaces, strict padded base64 of "bare-jid:password", split at the
/// FIRST colon. nullopt for anything else, including a JID with a resource.
std::optional<BasicCredentials> parse_basic_authorization(std::string_view header_value);

/// Turns an Authorization header into the authenticated user. Every failure
/// (missing or malformed header, invalid JID, unknown user, wrong password)
/// gives the same nullopt. Thread-safe if the verifier is.
class BasicAuthenticator {
 public:
  explicit BasicAuthenticator(PasswordVerifier& verifier) : verifier_(verifier) {}
  /// `header_value` is nullopt when the request has no Authorization header.
  std::optional<Jid> authenticate(std::optional<std::string_view> header_value) const;

 private:
  PasswordVerifier& verifier_;
};

}  // namespace mimrest
