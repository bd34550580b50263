#include "mimrest/crypto.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstring>
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

namespace {

// random_uuid() takes its bytes from a buffer of RAND_bytes output per
// thread, refilled for 64 ids at a time: one RAND_bytes call (its lock and
// the getpid of OpenSSL's fork check) per 64 ids rather than per id. A
// forked child must not hand out the ids its parent will: the child
// handler of pthread_atfork moves the generation on, and a buffer filled in
// another generation is thrown away. Used bytes are wiped.
std::atomic<unsigned> fork_generation_counter{0};

void after_fork_in_child() {
  fork_generation_counter.fetch_add(1, std::memory_order_relaxed);
}

unsigned fork_generation() {
  static const bool registered = [] {
    if (pthread_atfork(nullptr, nullptr, after_fork_in_child) != 0) {
      throw std::runtime_error("pthread_atfork failed");
    }
    return true;
  }();
  static_cast<void>(registered);
  return fork_generation_counter.load(std::memory_order_relaxed);
}

struct UuidBytes {
  static constexpr std::size_t kIds = 64;
  unsigned char bytes[16 * kIds];
  std::size_t used = sizeof bytes;
  unsigned generation = 0;

  UuidBytes() = default;
  UuidBytes(const UuidBytes&) = delete;
  UuidBytes& operator=(const UuidBytes&) = delete;
  ~UuidBytes() { OPENSSL_cleanse(bytes, sizeof bytes); }

  /// The next 16 bytes, wiped in the buffer once copied.
  void take(unsigned char (&out)[16]) {
    const unsigned now = fork_generation();
    if (used == sizeof bytes || generation != now) {
      if (RAND_bytes(bytes, static_cast<int>(sizeof bytes)) != 1) {
        throw std::runtime_error("OpenSSL RAND_bytes failed");
      }
      used = 0;
      generation = now;
    }
    std::memcpy(out, bytes + used, sizeof out);
    OPENSSL_cleanse(bytes + used, sizeof out);
    used += sizeof out;
  }
};

}  // namespace

std::string random_uuid() {
  thread_local UuidBytes pool;
  unsigned char bytes[16];
  pool.take(bytes);
  bytes[6] = static_cast<unsigned char>((bytes[6] & 0x0F) | 0x40);  // version 4
  bytes[8] = static_cast<unsigned char>((bytes[8] & 0x3F) | 0x80);  // RFC 4122
  static constexpr char hex[] = "0123456789abcdef";
  std::string out(36, '-');
  std::size_t at = 0;
  for (std::size_t i = 0; i < sizeof bytes; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) {
      ++at;  // the dash
    }
    out[at++] = hex[bytes[i] >> 4];
    out[at++] = hex[bytes[i] & 0x0F];
  }
  OPENSSL_cleanse(bytes, sizeof bytes);
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
