#include "mimrest/basic_auth.hpp"

#include "mimrest/crypto.hpp"
#include "mimrest/http.hpp"

namespace mimrest {
namespace {

bool is_ows(char c) noexcept {
  return c == ' ' || c == '\t';
}

}  // namespace

std::optional<BasicCredentials> parse_basic_authorization(std::string_view header_value) {
  // Surrounding optional whitespace is not part of a field value (RFC 7230
  // section 3.2.4), so it is tolerated whether or not the server trimmed it.
  while (!header_value.empty() && is_ows(header_value.front())) {
    header_value.remove_prefix(1);
  }
  while (!header_value.empty() && is_ows(header_value.back())) {
    header_value.remove_suffix(1);
  }
  constexpr std::string_view scheme = "basic";
  if (header_value.size() <= scheme.size() ||
      !iequals(header_value.substr(0, scheme.size()), scheme) ||
      header_value[scheme.size()] != ' ') {
    return std::nullopt;
  }
  std::string_view token = header_value.substr(scheme.size());
  while (!token.empty() && token.front() == ' ') {
    token.remove_prefix(1);
  }
  // Anything after the token (a second word, auth-params) makes it malformed;
  // strict base64 rejects it since it never contains spaces.
  std::optional<std::string> decoded = base64_decode(token);
  if (!decoded || decoded->empty()) {
    return std::nullopt;
  }
  // Split at the FIRST colon: the password may contain colons, the user may not.
  const std::size_t colon = decoded->find(':');
  if (colon == std::string::npos || colon == 0) {
    return std::nullopt;
  }
  std::string_view user_text = std::string_view(*decoded).substr(0, colon);
  std::string_view password = std::string_view(*decoded).substr(colon + 1);
  if (password.empty()) {
    return std::nullopt;
  }
  auto user = Jid::parse(user_text);
  if (!user || user->local().empty() || !user->is_bare()) {
    return std::nullopt;
  }
  return BasicCredentials{std::move(*user), std::string(password)};
}

std::optional<Jid> BasicAuthenticator::authenticate(
    std::optional<std::string_view> header_value) const {
  if (!header_value) {
    return std::nullopt;
  }
  std::optional<BasicCredentials> credentials = parse_basic_authorization(*header_value);
  if (!credentials) {
    return std::nullopt;
  }
  if (!verifier_.verify(credentials->user, credentials->password)) {
    return std::nullopt;
  }
  return std::move(credentials->user);
}

}  // namespace mimrest
