#include "core/detail/stringprep.hpp"

#include <catch2/catch.hpp>

#include <optional>
#include <random>
#include <string>

using mimrest::detail::stringprep;
using mimrest::detail::stringprep_libidn;
using mimrest::detail::StringprepProfile;

namespace {

constexpr StringprepProfile all_profiles[] = {
    StringprepProfile::nodeprep, StringprepProfile::nameprep, StringprepProfile::resourceprep};

const char* name_of(StringprepProfile profile) {
  switch (profile) {
    case StringprepProfile::nodeprep:
      return "nodeprep";
    case StringprepProfile::nameprep:
      return "nameprep";
    case StringprepProfile::resourceprep:
      return "resourceprep";
  }
  return "?";
}

// Counts the inputs on which the ASCII path and Libidn disagree, reporting
// the first few.
int disagreements(const std::string& input, int reported_so_far) {
  int count = 0;
  for (const auto profile : all_profiles) {
    const std::optional<std::string> fast = stringprep(input, profile);
    const std::optional<std::string> reference = stringprep_libidn(input, profile);
    if (fast != reference) {
      if (reported_so_far + count < 5) {
        UNSCOPED_INFO(name_of(profile) << " of bytes " << Catch::Detail::stringify(input) << ": "
                                       << (fast ? *fast : "(refused)") << " vs Libidn "
                                       << (reference ? *reference : "(refused)"));
      }
      ++count;
    }
  }
  return count;
}

}  // namespace

TEST_CASE("every ASCII string of up to two characters is prepared as Libidn does") {
  int failures = disagreements("", 0);
  for (int first = 1; first < 0x80; ++first) {
    failures += disagreements(std::string(1, static_cast<char>(first)), failures);
    for (int second = 1; second < 0x80; ++second) {
      const std::string input{static_cast<char>(first), static_cast<char>(second)};
      failures += disagreements(input, failures);
    }
  }
  CHECK(failures == 0);
}

TEST_CASE("longer random ASCII strings are prepared as Libidn does") {
  std::mt19937 random(20261128);
  std::uniform_int_distribution<int> length(3, 64);
  std::uniform_int_distribution<int> byte(1, 0x7F);
  int failures = 0;
  for (int i = 0; i < 5000; ++i) {
    std::string input(static_cast<std::size_t>(length(random)), ' ');
    for (char& c : input) {
      c = static_cast<char>(byte(random));
    }
    failures += disagreements(input, failures);
  }
  CHECK(failures == 0);
}

TEST_CASE("what each profile does to ASCII") {
  CHECK(stringprep("Alice.Smith", StringprepProfile::nodeprep) == "alice.smith");
  CHECK_FALSE(stringprep("a b", StringprepProfile::nodeprep));
  CHECK_FALSE(stringprep("a@b", StringprepProfile::nodeprep));
  CHECK_FALSE(stringprep("a\tb", StringprepProfile::nodeprep));
  CHECK(stringprep("Example.COM", StringprepProfile::nameprep) == "example.com");
  CHECK(stringprep("Phone 1/A@B", StringprepProfile::resourceprep) == "Phone 1/A@B");
  CHECK_FALSE(stringprep("a\x7F", StringprepProfile::resourceprep));
}

TEST_CASE("text that is not ASCII goes to Libidn") {
  for (const auto profile : all_profiles) {
    // U+00C5 U+00DF: case folded (and sharp s expanded) by the node and
    // name profiles, kept by resourceprep.
    const std::string text = "\xC3\x85\xC3\x9F";
    CHECK(stringprep(text, profile) == stringprep_libidn(text, profile));
    CHECK(stringprep(text, profile).has_value());
  }
  CHECK(stringprep("\xC3\x85x", StringprepProfile::nodeprep) == "\xC3\xA5x");
  CHECK(stringprep("\xC3\x85x", StringprepProfile::resourceprep) == "\xC3\x85x");
}

TEST_CASE("NUL bytes and invalid UTF-8 are refused on both paths") {
  for (const auto profile : all_profiles) {
    CHECK_FALSE(stringprep(std::string("a\0b", 3), profile));
    CHECK_FALSE(stringprep_libidn(std::string("a\0b", 3), profile));
    CHECK_FALSE(stringprep("a\xC3", profile));
    CHECK_FALSE(stringprep("\xED\xA0\x80", profile));  // a UTF-16 surrogate
  }
}
