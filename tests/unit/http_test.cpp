#include "mimrest/http.hpp"

#include <catch2/catch.hpp>

using mimrest::Headers;

TEST_CASE("header names compare case-insensitively", "[http]") {
  Headers headers;
  headers.add("Content-Type", "application/json");
  CHECK(headers.get("content-type") == std::optional<std::string_view>("application/json"));
  CHECK(headers.contains("CONTENT-TYPE"));
  CHECK_FALSE(headers.contains("Accept"));
}

TEST_CASE("set replaces every field of that name, add keeps them", "[http]") {
  Headers headers;
  headers.add("Allow", "GET");
  headers.add("allow", "POST");
  CHECK(headers.fields().size() == 2);
  headers.set("ALLOW", "PUT");
  REQUIRE(headers.fields().size() == 1);
  CHECK(headers.get("allow") == std::optional<std::string_view>("PUT"));
}

TEST_CASE("iequals is ASCII case-insensitive and length-sensitive", "[http]") {
  CHECK(mimrest::iequals("Basic", "bASIC"));
  CHECK_FALSE(mimrest::iequals("Basic", "Basic "));
  CHECK_FALSE(mimrest::iequals("a", "b"));
}
