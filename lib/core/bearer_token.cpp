#include "mimrest/bearer_token.hpp"

#include <openssl/sha.h>

#include "core/detail/text.hpp"
#include "mimrest/crypto.hpp"
#include "mimrest/http.hpp"

namespace mimrest {

namespace {

constexpr std::size_t kTokenBytes = 32;
constexpr std::size_t kTokenChars = 43;  // base64url of 32 bytes, unpadded

bool is_base64url_char(char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

}  // namespace

std::string make_bearer_token() {
  std::string token = base64_encode(random_bytes(kTokenBytes));
  while (!token.empty() && token.back() == '=') {
    token.pop_back();
  }
  for (char& c : token) {
    c = c == '+' ? '-' : (c == '/' ? '_' : c);
  }
  return token;
}

std::string bearer_token_hash(std::string_view token) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(), digest);
  return std::string(reinterpret_cast<const char*>(digest), sizeof digest);
}

bool is_bearer_token_shaped(std::string_view text) noexcept {
  if (text.size() != kTokenChars) {
    return false;
  }
  for (char c : text) {
    if (!is_base64url_char(c)) {
      return false;
    }
  }
  return true;
}

std::optional<std::string_view> parse_bearer_authorization(std::string_view header_value) {
  header_value = detail::trim(header_value);
  constexpr std::string_view scheme = "bearer";
  if (header_value.size() <= scheme.size() ||
      !iequals(header_value.substr(0, scheme.size()), scheme) ||
      header_value[scheme.size()] != ' ') {
    return std::nullopt;
  }
  std::string_view token = header_value.substr(scheme.size());
  while (!token.empty() && token.front() == ' ') {
    token.remove_prefix(1);
  }
  if (!is_bearer_token_shaped(token)) {
    return std::nullopt;
  }
  return token;
}

}  // namespace mimrest
