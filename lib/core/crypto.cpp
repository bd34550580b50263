#include "mimrest/crypto.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <climits>
#include <stdexcept>

namespace mimrest {
namespace {

// Value of a base64 alphabet character, or -1.
int base64_value(char c) noexcept {
  if (c >= 'A' && c <= 'Z') {
    return c - 'A';
  }
  if (c >= 'a' && c <= 'z') {
    return c - 'a' + 26;
  }
  if (c >= '0' && c <= '9') {
    return c - '0' + 52;
  }
  if (c == '+') {
    return 62;
  }
  if (c == '/') {
    return 63;
  }
  return -1;
}

// EVP_*Block take an int length; work in chunks well below INT_MAX.
constexpr std::size_t chunk_bytes = 3 * 1024 * 1024;  // multiple of 3 and of 4 / 3

}  // namespace

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4 + 1);
  while (!bytes.empty()) {
    const std::string_view chunk = bytes.substr(0, chunk_bytes);
    bytes.remove_prefix(chunk.size());
    const std::size_t start = out.size();
    out.resize(start + (chunk.size() + 2) / 3 * 4 + 1);  // +1 for the NUL it writes
    const int written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(&out[start]),
                                        reinterpret_cast<const unsigned char*>(chunk.data()),
                                        static_cast<int>(chunk.size()));
    out.resize(start + static_cast<std::size_t>(written < 0 ? 0 : written));
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) {
    return std::nullopt;
  }
  // EVP_DecodeBlock skips whitespace and accepts stray padding, so the strict
  // RFC 4648 checks are done here first.
  std::size_t padding = 0;
  if (!text.empty() && text.back() == '=') {
    padding = text.size() >= 2 && text[text.size() - 2] == '=' ? 2 : 1;
  }
  const std::size_t data_chars = text.size() - padding;
  for (std::size_t i = 0; i < data_chars; ++i) {
    if (base64_value(text[i]) < 0) {
      return std::nullopt;
    }
  }
  // Non-zero bits hidden under the padding make a second encoding of the same
  // bytes; reject them so each byte string has one accepted form.
  if (padding == 1 && (base64_value(text[data_chars - 1]) & 0x03) != 0) {
    return std::nullopt;
  }
  if (padding == 2 && (base64_value(text[data_chars - 1]) & 0x0F) != 0) {
    return std::nullopt;
  }

  std::string out;
  out.reserve(text.size() / 4 * 3);
  const std::size_t text_chunk = chunk_bytes / 3 * 4;
  while (!text.empty()) {
    const std::string_view chunk = text.substr(0, text_chunk);
    text.remove_prefix(chunk.size());
    const std::size_t start = out.size();
    out.resize(start + chunk.size() / 4 * 3);
    const int written = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(&out[start]),
                                        reinterpret_cast<const unsigned char*>(chunk.data()),
                                        static_cast<int>(chunk.size()));
    if (written < 0 || static_cast<std::size_t>(written) != chunk.size() / 4 * 3) {
      return std::nullopt;
    }
  }
  // EVP_DecodeBlock counts padding as zero bytes.
  out.resize(out.size() - padding);
  return out;
}

std::string random_bytes(std::size_t count) {
  std::string out(count, '\0');
  std::size_t done = 0;
  while (done < count) {
    const std::size_t step = std::min<std::size_t>(count - done, INT_MAX);
    if (RAND_bytes(reinterpret_cast<unsigned char*>(&out[done]), static_cast<int>(step)) != 1) {
      // Predictable identifiers or keys would be worse than failing loudly.
      throw std::runtime_error("OpenSSL RAND_bytes failed");
    }
    done += step;
  }
  return out;
}

std::string random_uuid() {
  std::string bytes = random_bytes(16);
  bytes[6] = static_cast<char>((static_cast<unsigned char>(bytes[6]) & 0x0F) | 0x40);  // version 4
  bytes[8] = static_cast<char>((static_cast<unsigned char>(bytes[8]) & 0x3F) | 0x80);  // RFC 4122
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) {
      out.push_back('-');
    }
    const auto b = static_cast<unsigned char>(bytes[i]);
    out.push_back(hex[b >> 4]);
    out.push_back(hex[b & 0x0F]);
  }
  return out;
}

bool constant_time_equal(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) {
    return false;
  }
  if (a.empty()) {
    return true;
  }
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace mimrest
