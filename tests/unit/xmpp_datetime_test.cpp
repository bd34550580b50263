// XEP-0082 date-times to and from microseconds.
#include <catch2/catch.hpp>

#include "xmpp/datetime.hpp"

using mimrest::xmpp::format_datetime_us;
using mimrest::xmpp::parse_datetime_us;

TEST_CASE("the epoch and a known instant") {
  CHECK(parse_datetime_us("1970-01-01T00:00:00Z") == 0);
  // 2023-11-14T22:13:20Z is 1700000000 seconds.
  CHECK(parse_datetime_us("2023-11-14T22:13:20Z") == 1'700'000'000'000'000);
  CHECK(format_datetime_us(1'700'000'000'000'000) == "2023-11-14T22:13:20.000000Z");
}

TEST_CASE("fractions of a second: up to microseconds, more digits dropped") {
  CHECK(parse_datetime_us("2023-11-14T22:13:20.5Z") == 1'700'000'000'500'000);
  CHECK(parse_datetime_us("2023-11-14T22:13:20.123456Z") == 1'700'000'000'123'456);
  CHECK(parse_datetime_us("2023-11-14T22:13:20.1234567Z") == 1'700'000'000'123'456);
  CHECK_FALSE(parse_datetime_us("2023-11-14T22:13:20.Z"));
}

TEST_CASE("time zone offsets are applied") {
  CHECK(parse_datetime_us("2023-11-15T00:13:20+02:00") == 1'700'000'000'000'000);
  CHECK(parse_datetime_us("2023-11-14T20:13:20-02:00") == 1'700'000'000'000'000);
}

TEST_CASE("what is not a date-time is refused") {
  for (const char* text :
       {"", "2023-11-14", "2023-11-14T22:13:20", "2023-13-14T22:13:20Z", "2023-11-14T24:13:20Z",
        "2023-11-14T22:13:20Zjunk", "2023/11/14T22:13:20Z", "20x3-11-14T22:13:20Z",
        "2023-11-14T22:13:20+2:00"}) {
    INFO(text);
    CHECK_FALSE(parse_datetime_us(text));
  }
}

TEST_CASE("formatting and parsing agree, also before the epoch and across leap years") {
  for (std::int64_t us :
       {std::int64_t{0}, std::int64_t{1}, std::int64_t{-1},
        std::int64_t{951'782'400'000'000} /* 2000-02-29 */,
        std::int64_t{4'102'444'800'123'456} /* 2100-01-01 */, std::int64_t{-86'400'000'001}}) {
    INFO(us);
    CHECK(parse_datetime_us(format_datetime_us(us)) == us);
  }
  CHECK(format_datetime_us(951'782'400'000'000) == "2000-02-29T00:00:00.000000Z");
  CHECK(format_datetime_us(-1) == "1969-12-31T23:59:59.999999Z");
}
