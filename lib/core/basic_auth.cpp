#include "mimrest/basic_auth.hpp"

#include "core/detail/text.hpp"
#include "mimrest/crypto.hpp"
#include "mimrest/http.hpp"

namespace mimrest {

std::optional<BasicCredentials> parse_basic_authorization(std::string_view header_value) {
  // Surrounding optional whitespace is not part of a field value (RFC 7230
  // section 3.2.4), so it is tolerated whether or not the server trimmed it.
  header_value = detail::trim(header_value);
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

}  // namespace mimrest
