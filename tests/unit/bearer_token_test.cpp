#include "mimrest/bearer_token.hpp"

#include <catch2/catch.hpp>

#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "mimrest/crypto.hpp"

using mimrest::bearer_token_hash;
using mimrest::is_bearer_token_shaped;
using mimrest::make_bearer_token;
using mimrest::parse_bearer_authorization;

namespace {

bool is_base64url(const std::string& text) {
  for (const char c : text) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    if (!ok) {
      return false;
    }
  }
  return true;
}

std::string hex(const std::string& bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (const unsigned char byte : bytes) {
    out.push_back(digits[byte >> 4]);
    out.push_back(digits[byte & 0x0f]);
  }
  return out;
}

}  // namespace

TEST_CASE("a token is 43 base64url characters without padding") {
  for (int i = 0; i < 100; ++i) {
    const std::string token = make_bearer_token();
    INFO(token);
    CHECK(token.size() == 43);
    CHECK(is_base64url(token));
    CHECK(token.find('=') == std::string::npos);
    CHECK(is_bearer_token_shaped(token));
  }
}

TEST_CASE("tokens are unique") {
  std::set<std::string> tokens;
  constexpr int count = 10000;
  for (int i = 0; i < count; ++i) {
    tokens.insert(make_bearer_token());
  }
  CHECK(tokens.size() == count);
}

TEST_CASE("the hash is the SHA-256 of the token: 32 bytes, stable") {
  const std::string token = make_bearer_token();
  const std::string hash = bearer_token_hash(token);
  CHECK(hash.size() == 32);
  CHECK(bearer_token_hash(token) == hash);
  CHECK(bearer_token_hash(make_bearer_token()) != hash);
  // A known value: SHA-256("abc").
  CHECK(hex(bearer_token_hash("abc")) ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(bearer_token_hash("").size() == 32);
}

TEST_CASE("is_bearer_token_shaped checks length and alphabet") {
  const std::string good(43, 'a');
  CHECK(is_bearer_token_shaped(good));
  CHECK(is_bearer_token_shaped(std::string(21, '-') + std::string(22, '_')));
  CHECK_FALSE(is_bearer_token_shaped(""));
  CHECK_FALSE(is_bearer_token_shaped(std::string(42, 'a')));
  CHECK_FALSE(is_bearer_token_shaped(std::string(44, 'a')));
  CHECK_FALSE(is_bearer_token_shaped(std::string(42, 'a') + "="));
  CHECK_FALSE(is_bearer_token_shaped(std::string(42, 'a') + "+"));
  CHECK_FALSE(is_bearer_token_shaped(std::string(42, 'a') + "/"));
  CHECK_FALSE(is_bearer_token_shaped(std::string(42, 'a') + " "));
  CHECK_FALSE(is_bearer_token_shaped(std::string(42, 'a') + std::string(1, '\0')));
  CHECK_FALSE(is_bearer_token_shaped(std::string(41, 'a') + "\xC3\xA4"));
}

TEST_CASE("parse_bearer_authorization takes the scheme in any case and spaces") {
  const std::string token = make_bearer_token();
  for (const std::string scheme : {"Bearer", "bearer", "BEARER", "bEaReR"}) {
    INFO(scheme);
    const std::string header = scheme + " " + token;  // the result points into it
    const auto parsed = parse_bearer_authorization(header);
    REQUIRE(parsed);
    CHECK(*parsed == token);
  }
  const std::string spaced = "Bearer    " + token;
  CHECK(parse_bearer_authorization(spaced) == std::optional<std::string_view>(token));
  const std::string trailing = "Bearer " + token + "  ";
  CHECK(parse_bearer_authorization(trailing) == std::optional<std::string_view>(token));
  const std::string leading = "  Bearer " + token;
  CHECK(parse_bearer_authorization(leading) == std::optional<std::string_view>(token));
}

TEST_CASE("parse_bearer_authorization rejects other schemes, shapes and extra words") {
  const std::string token = make_bearer_token();
  const std::string cases[] = {
      "",
      "Bearer",
      "Bearer ",
      "Bearer" + token,                                         // no space
      "Bearer\t" + token,                                       // tab is not a separator
      "Bearers " + token,                                       // another scheme
      "Basic " + token,                                         // another scheme
      "Basic " + mimrest::base64_encode("alice@localhost:pw"),  // Basic credentials
      "Token " + token,
      "Bearer " + token + " extra",            // a second word
      "Bearer " + token + " " + token,         // two tokens
      "Bearer " + token + "," + token,         // a list
      "Bearer " + token + "=",                 // padded
      "Bearer " + token.substr(1),             // too short
      "Bearer " + token + "a",                 // too long
      "Bearer " + std::string(42, 'a') + "+",  // standard base64 alphabet
      "Bearer " + std::string(42, 'a') + "/",
      "Bearer " + std::string(42, 'a') + ".",
      "Bearer " + token + "\n",  // newline
      "Bearer token=" + token,   // auth-param form
  };
  for (const std::string& header : cases) {
    INFO("header [" << header << "]");
    CHECK_FALSE(parse_bearer_authorization(header).has_value());
  }
}
