// libFuzzer target: strict base64 (base64_encode, base64_decode) and the
// Basic Authorization header parser (parse_basic_authorization).
//
// Input: the first byte picks the mode, the rest is the data.
//   mode % 4 == 0: the data is a header value, parsed as is;
//   mode % 4 == 1: the data is "user NUL password" and is built into a
//                  well-formed header ("Basic " + base64(user:password))
//                  with the scheme's case and the spaces picked by the mode;
//   mode % 4 == 2: the data is base64 text, decoded;
//   mode % 4 == 3: the data is bytes, encoded.
// Once per process (LLVMFuzzerInitialize), byte strings just past the 3 MiB chunk size of the
// OpenSSL calls are round-tripped too: the chunking depends on the size
// only, and inputs that large would slow the fuzzing down a thousandfold
// (every byte passes through instrumented comparisons).
//
// Properties:
// * decode(encode(x)) == x, and encode(x) has the RFC 4648 length and alphabet;
// * decoding is canonical: whatever decodes encodes back to the same text;
// * an accepted header names a prepared bare JID with a localpart and a
//   non-empty password, its token decodes to "<user as sent>:<password>",
//   and the header rebuilt from the credentials parses to the same ones;
// * a well-formed header is accepted exactly when the user part is a valid
//   bare JID with a localpart and the password is not empty (split at the
//   first colon: a colon in the user name moves into the password).
#include <mimrest/basic_auth.hpp>
#include <mimrest/crypto.hpp>
#include <mimrest/jid.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"

namespace {

using mimrest::fuzz::printable;

constexpr std::size_t kChunkBytes = 3 * 1024 * 1024;  // crypto.cpp's chunk

bool is_base64_text(std::string_view text) {
  const std::size_t padding_start = text.find('=');
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const bool alphabet = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                          (c >= '0' && c <= '9') || c == '+' || c == '/';
    if (i < padding_start ? !alphabet : c != '=') {
      return false;
    }
  }
  return padding_start == std::string_view::npos || text.size() - padding_start <= 2;
}

void check_encode(std::string_view bytes) {
  const std::string encoded = mimrest::base64_encode(bytes);
  MIMREST_FUZZ_CHECK(encoded.size() == (bytes.size() + 2) / 3 * 4,
                     std::to_string(bytes.size()) + " bytes -> " + std::to_string(encoded.size()));
  MIMREST_FUZZ_CHECK(is_base64_text(encoded), printable(encoded));
  const auto decoded = mimrest::base64_decode(encoded);
  MIMREST_FUZZ_CHECK(decoded && *decoded == bytes, printable(bytes) + " -> " + printable(encoded));
}

void check_decode(std::string_view text) {
  const auto decoded = mimrest::base64_decode(text);
  if (!decoded) {
    return;
  }
  MIMREST_FUZZ_CHECK(text.size() % 4 == 0 && is_base64_text(text), printable(text));
  MIMREST_FUZZ_CHECK(mimrest::base64_encode(*decoded) == text,
                     printable(text) + " -> " + printable(*decoded));
}

std::string_view trim_ows(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
    text.remove_prefix(1);
  }
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) {
    text.remove_suffix(1);
  }
  return text;
}

void check_header(std::string_view header) {
  const auto credentials = mimrest::parse_basic_authorization(header);
  if (!credentials) {
    return;
  }
  const mimrest::Jid& user = credentials->user;
  MIMREST_FUZZ_CHECK(user.is_bare() && !user.local().empty() && !credentials->password.empty(),
                     printable(header));
  // The token is whatever follows the scheme and its spaces.
  std::string_view token = trim_ows(header).substr(5);
  while (!token.empty() && token.front() == ' ') {
    token.remove_prefix(1);
  }
  const auto decoded = mimrest::base64_decode(token);
  MIMREST_FUZZ_CHECK(decoded.has_value(), printable(header));
  const std::size_t colon = decoded->find(':');
  MIMREST_FUZZ_CHECK(
      colon != std::string::npos && decoded->substr(colon + 1) == credentials->password,
      printable(header));
  const auto sent_user = mimrest::Jid::parse(std::string_view(*decoded).substr(0, colon));
  MIMREST_FUZZ_CHECK(sent_user && *sent_user == user, printable(header));

  // The header rebuilt from what was understood means the same.
  const std::string rebuilt =
      "Basic " + mimrest::base64_encode(user.bare_string() + ":" + credentials->password);
  const auto again = mimrest::parse_basic_authorization(rebuilt);
  MIMREST_FUZZ_CHECK(again && again->user == user && again->password == credentials->password,
                     printable(header) + " -> " + printable(rebuilt));
}

void check_built_header(std::uint8_t mode, std::string_view data) {
  const std::size_t nul = data.find('\0');
  const std::string_view user_text = data.substr(0, nul);
  const std::string_view password =
      nul == std::string_view::npos ? std::string_view{} : data.substr(nul + 1);
  static constexpr const char* kSchemes[] = {"Basic", "basic", "BASIC", "bAsIc"};
  std::string header = (mode & 0x20) != 0 ? " \t" : "";
  header += kSchemes[(mode >> 2) & 3];
  header.append(1 + ((mode >> 4) & 1), ' ');
  std::string pair(user_text);
  pair += ':';
  pair += password;
  header += mimrest::base64_encode(pair);
  if ((mode & 0x40) != 0) {
    header += "\t ";
  }

  const auto credentials = mimrest::parse_basic_authorization(header);
  // The user name ends at the first colon; the rest is the password.
  const std::size_t colon = pair.find(':');
  const std::string_view split_user = std::string_view(pair).substr(0, colon);
  const std::string_view split_password = std::string_view(pair).substr(colon + 1);
  const auto jid = mimrest::Jid::parse(split_user);
  const bool valid = jid && jid->is_bare() && !jid->local().empty() && !split_password.empty();
  MIMREST_FUZZ_CHECK(credentials.has_value() == valid,
                     printable(header) + " for " + printable(pair));
  if (credentials) {
    MIMREST_FUZZ_CHECK(credentials->user == *jid && credentials->password == split_password,
                       printable(pair));
  }
  check_header(header);
}

// Sizes around the chunk size (each remainder modulo 3), pseudo-random bytes.
void check_chunk_boundaries() {
  std::uint32_t state = 12345;
  for (const std::size_t size : {kChunkBytes, kChunkBytes + 1, kChunkBytes + 2}) {
    std::string bytes(size, '\0');
    for (char& c : bytes) {
      state = state * 1103515245u + 12345u;
      c = static_cast<char>(state >> 24);
    }
    check_encode(bytes);
    check_decode(mimrest::base64_encode(bytes));
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  check_chunk_boundaries();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) {
    return 0;
  }
  const std::uint8_t mode = data[0];
  const std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (mode % 4) {
    case 0:
      check_header(rest);
      break;
    case 1:
      check_built_header(mode, rest);
      break;
    case 2:
      check_decode(rest);
      break;
    default:
      check_encode(rest);
      break;
  }
  return 0;
}
