#include "mimrest/crypto.hpp"

#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <set>
#include <string>

using mimrest::base64_decode;
using mimrest::base64_encode;

TEST_CASE("base64 encodes the RFC 4648 test vectors") {
  CHECK(base64_encode("") == "");
  CHECK(base64_encode("f") == "Zg==");
  CHECK(base64_encode("fo") == "Zm8=");
  CHECK(base64_encode("foo") == "Zm9v");
  CHECK(base64_encode("foob") == "Zm9vYg==");
  CHECK(base64_encode("fooba") == "Zm9vYmE=");
  CHECK(base64_encode("foobar") == "Zm9vYmFy");
  CHECK(base64_encode("alice@localhost:secret") == "YWxpY2VAbG9jYWxob3N0OnNlY3JldA==");
  CHECK(base64_encode(std::string("\xFB\xFF\x00", 3)) == "+/8A");
}

TEST_CASE("base64 decodes the RFC 4648 test vectors") {
  CHECK(base64_decode("") == std::string());
  CHECK(base64_decode("Zg==") == std::string("f"));
  CHECK(base64_decode("Zm8=") == std::string("fo"));
  CHECK(base64_decode("Zm9v") == std::string("foo"));
  CHECK(base64_decode("Zm9vYg==") == std::string("foob"));
  CHECK(base64_decode("Zm9vYmE=") == std::string("fooba"));
  CHECK(base64_decode("Zm9vYmFy") == std::string("foobar"));
  CHECK(base64_decode("+/8A") == std::string("\xFB\xFF\x00", 3));
}

TEST_CASE("base64 round-trips every byte value and large inputs") {
  std::string all;
  for (int i = 0; i < 256; ++i) {
    all.push_back(static_cast<char>(i));
  }
  for (std::size_t n = 0; n <= all.size(); ++n) {
    const std::string bytes = all.substr(0, n);
    CHECK(base64_decode(base64_encode(bytes)) == bytes);
  }
  // Larger than the internal chunk size.
  std::string big(7 * 1024 * 1024 + 1, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) {
    big[i] = static_cast<char>(i * 31 + 7);
  }
  const std::string encoded = base64_encode(big);
  CHECK(encoded.size() == (big.size() + 2) / 3 * 4);
  CHECK(base64_decode(encoded) == big);
}

TEST_CASE("base64 decoding is strict") {
  for (const char* bad : {
           "Zg",         // missing padding
           "Zg=",        // short padding
           "Zm9",        // length not a multiple of 4
           "Zg===",      // too much padding
           "====",       // padding only
           "Z===",       // three padding characters
           "Zg==Zg==",   // data after padding
           "Z=g=",       // padding in the middle
           "Zm9v\n",     // trailing newline
           "Zm 9v",      // whitespace inside
           " Zm9v",      // leading whitespace
           "Zm9v YmFy",  // space between groups
           "Zm9-",       // URL-safe alphabet
           "Zm9_",       // URL-safe alphabet
           "Zm9*",       // not base64 at all
           "Zh==",       // non-zero bits under the padding
           "Zm9=",       // non-zero bits under the padding
       }) {
    INFO("input " << bad);
    CHECK_FALSE(base64_decode(bad).has_value());
  }
  using namespace std::string_literals;
  CHECK_FALSE(base64_decode("Zm9\0"s).has_value());
  CHECK_FALSE(base64_decode("Zm9v\xC3\xA9=="s).has_value());
}

TEST_CASE("random bytes have the requested length and vary") {
  CHECK(mimrest::random_bytes(0).empty());
  CHECK(mimrest::random_bytes(33).size() == 33);
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    seen.insert(mimrest::random_bytes(16));
  }
  CHECK(seen.size() == 100);
}

TEST_CASE("random UUIDs are version 4, lower case and canonical") {
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    const std::string uuid = mimrest::random_uuid();
    INFO(uuid);
    REQUIRE(uuid.size() == 36);
    for (std::size_t j = 0; j < uuid.size(); ++j) {
      if (j == 8 || j == 13 || j == 18 || j == 23) {
        CHECK(uuid[j] == '-');
      } else {
        const char c = uuid[j];
        CHECK(((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')));
      }
    }
    CHECK(uuid[14] == '4');
    CHECK((uuid[19] == '8' || uuid[19] == '9' || uuid[19] == 'a' || uuid[19] == 'b'));
    seen.insert(uuid);
  }
  CHECK(seen.size() == 200);
}

TEST_CASE("constant_time_equal compares content and length") {
  CHECK(mimrest::constant_time_equal("", ""));
  CHECK(mimrest::constant_time_equal("secret", "secret"));
  CHECK_FALSE(mimrest::constant_time_equal("secret", "secreT"));
  CHECK_FALSE(mimrest::constant_time_equal("secret", "secret1"));
  CHECK_FALSE(mimrest::constant_time_equal("secret", ""));
  CHECK_FALSE(mimrest::constant_time_equal("", "x"));
  using namespace std::string_literals;
  CHECK(mimrest::constant_time_equal("a\0b"s, "a\0b"s));
  CHECK_FALSE(mimrest::constant_time_equal("a\0b"s, "a\0c"s));
}

TEST_CASE("random UUIDs differ between a forked child and its parent") {
  // Ids are drawn from a buffer per thread: the child must not repeat what
  // the parent hands out next.
  static_cast<void>(mimrest::random_uuid());  // the buffer is filled
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    const std::string uuid = mimrest::random_uuid();
    const ssize_t written = write(fds[1], uuid.data(), uuid.size());
    _exit(written == static_cast<ssize_t>(uuid.size()) ? 0 : 1);
  }
  close(fds[1]);
  const std::string mine = mimrest::random_uuid();
  std::string theirs(36, '\0');
  std::size_t got = 0;
  while (got < theirs.size()) {
    const ssize_t n = read(fds[0], &theirs[got], theirs.size() - got);
    if (n <= 0) {
      break;
    }
    got += static_cast<std::size_t>(n);
  }
  close(fds[0]);
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  REQUIRE(got == theirs.size());
  CHECK(WIFEXITED(status));
  CHECK(theirs != mine);
}
