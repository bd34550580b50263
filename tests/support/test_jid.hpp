// A JID helper shared by the unit tests.
#pragma once

#include <string_view>

#include <catch2/catch.hpp>

#include "mimrest/jid.hpp"

namespace mimrest::test {

/// A prepared JID from text that must be valid. It asserts with REQUIRE, so
/// call it on the test's own thread only (Catch assertions are not
/// thread-safe).
inline Jid jid(std::string_view text) {
  auto parsed = Jid::parse(text);
  REQUIRE(parsed.has_value());
  return parsed.value();
}

}  // namespace mimrest::test
