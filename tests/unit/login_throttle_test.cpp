#include "mimrest/login_throttle.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

using mimrest::AuthConfig;
using mimrest::LoginThrottle;
using namespace std::chrono_literals;

namespace {

constexpr std::int64_t second = 1'000'000;  // microseconds

AuthConfig config(std::size_t max_failures, std::chrono::seconds window = 60s,
                  std::size_t max_tracked = 1000) {
  AuthConfig result;
  result.max_failures = max_failures;
  result.window = window;
  result.max_tracked = max_tracked;
  return result;
}

const std::string alice = "alice@localhost";
const std::string bob = "bob@localhost";
const std::string address = "192.0.2.1";
const std::string other_address = "198.51.100.7";

}  // namespace

TEST_CASE("failures beyond max_failures within the window block the account from that address") {
  LoginThrottle throttle(config(3));
  CHECK_FALSE(throttle.blocked(alice, address, 0));
  throttle.record_failure(alice, address, 0);
  throttle.record_failure(alice, address, 1 * second);
  CHECK_FALSE(throttle.blocked(alice, address, 2 * second));
  throttle.record_failure(alice, address, 2 * second);

  // The window started with the first failure: 60 s from t = 0.
  CHECK(throttle.blocked(alice, address, 2 * second) == std::optional(58s));
  CHECK(throttle.blocked(alice, address, 30 * second) == std::optional(30s));
  CHECK(throttle.blocked(alice, address, 59 * second) == std::optional(1s));

  // Once the window has passed, attempts are checked again and counting restarts.
  CHECK_FALSE(throttle.blocked(alice, address, 60 * second));
  throttle.record_failure(alice, address, 61 * second);
  throttle.record_failure(alice, address, 62 * second);
  CHECK_FALSE(throttle.blocked(alice, address, 62 * second));
  throttle.record_failure(alice, address, 63 * second);
  CHECK(throttle.blocked(alice, address, 63 * second) == std::optional(58s));
}

TEST_CASE("failures spread wider than the window never block") {
  LoginThrottle throttle(config(3, 10s));
  for (int i = 0; i < 20; ++i) {
    const std::int64_t now = i * 4 * second;  // a new window every third failure
    CHECK_FALSE(throttle.blocked(alice, address, now));
    throttle.record_failure(alice, address, now);
  }
}

TEST_CASE("other accounts and other addresses are not affected by one pair") {
  LoginThrottle throttle(config(3));
  for (int i = 0; i < 3; ++i) {
    throttle.record_failure(alice, address, 0);
  }
  CHECK(throttle.blocked(alice, address, second));
  CHECK_FALSE(throttle.blocked(bob, address, second));          // another account, same address
  CHECK_FALSE(throttle.blocked(alice, other_address, second));  // same account, elsewhere
  CHECK_FALSE(throttle.blocked("", address, second));           // no account named
}

TEST_CASE("one address over all accounts is blocked at ten times the limit") {
  LoginThrottle throttle(config(3));
  // 29 failures from one address, each for another account: no pair reaches 3.
  for (int i = 0; i < 29; ++i) {
    throttle.record_failure("user" + std::to_string(i) + "@localhost", address, i * 1000);
  }
  CHECK_FALSE(throttle.blocked(bob, address, second));
  CHECK_FALSE(throttle.blocked("", address, second));
  throttle.record_failure("", address, second);  // credentials naming no account count too

  // The address's window started with its first failure, at t = 0.
  CHECK(throttle.blocked(bob, address, second) == std::optional(59s));
  CHECK(throttle.blocked("", address, second) == std::optional(59s));
  CHECK(throttle.blocked("fresh@localhost", address, second));
  CHECK_FALSE(throttle.blocked(bob, other_address, second));
  CHECK_FALSE(throttle.blocked(bob, address, 60 * second));
}

TEST_CASE("when both counters block, the longer wait is given") {
  LoginThrottle throttle(config(1));
  // The address reaches 10 failures at t = 0 (window until 60 s).
  for (int i = 0; i < 10; ++i) {
    throttle.record_failure("user" + std::to_string(i) + "@localhost", address, 0);
  }
  // Alice's pair window starts later: at 10 s (until 70 s).
  throttle.record_failure(alice, address, 10 * second);
  CHECK(throttle.blocked(alice, address, 20 * second) == std::optional(50s));
  CHECK(throttle.blocked(bob, address, 20 * second) == std::optional(40s));
}

TEST_CASE("a success clears the account's counter at that address, not the address's") {
  LoginThrottle throttle(config(3));
  throttle.record_failure(alice, address, 0);
  throttle.record_failure(alice, address, 0);
  throttle.record_success(alice, address);
  throttle.record_failure(alice, address, second);
  throttle.record_failure(alice, address, second);
  CHECK_FALSE(throttle.blocked(alice, address, second));  // 2 since the success, not 4
  throttle.record_failure(alice, address, second);
  CHECK(throttle.blocked(alice, address, second));

  // A success elsewhere does not clear this pair.
  throttle.record_success(alice, other_address);
  CHECK(throttle.blocked(alice, address, second));
  throttle.record_success(alice, address);
  CHECK_FALSE(throttle.blocked(alice, address, second));

  // The address keeps its 5 failures: 25 more over other accounts block it.
  for (int i = 0; i < 24; ++i) {
    throttle.record_failure("user" + std::to_string(i) + "@localhost", address, 2 * second);
  }
  CHECK_FALSE(throttle.blocked(bob, address, 2 * second));
  throttle.record_failure("user24@localhost", address, 2 * second);
  CHECK(throttle.blocked(bob, address, 2 * second));
  throttle.record_success(bob, address);
  CHECK(throttle.blocked(bob, address, 2 * second));
}

TEST_CASE("max_failures 0 turns throttling off") {
  LoginThrottle throttle(config(0));
  for (int i = 0; i < 1000; ++i) {
    throttle.record_failure(alice, address, i);
  }
  CHECK_FALSE(throttle.blocked(alice, address, 1000));
  CHECK_FALSE(throttle.blocked("", address, 1000));
  CHECK(throttle.tracked() == 0);
}

TEST_CASE("memory stays bounded under a flood of distinct addresses and accounts") {
  constexpr std::size_t max_tracked = 100;
  LoginThrottle throttle(config(3, 60s, max_tracked));
  bool bounded = true;
  for (int i = 0; i < 5000; ++i) {
    throttle.record_failure("user" + std::to_string(i) + "@localhost",
                            "10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256), i);
    bounded = bounded && throttle.tracked() <= 2 * max_tracked;
  }
  CHECK(bounded);
  CHECK(throttle.tracked() == 2 * max_tracked);

  // Distinct accounts from one address: only the pairs grow, and they are bounded too.
  for (int i = 0; i < 5000; ++i) {
    throttle.record_failure("name" + std::to_string(i) + "@localhost", address, 5000 + i);
    bounded = bounded && throttle.tracked() <= 2 * max_tracked;
  }
  CHECK(bounded);
}

TEST_CASE("the least recently touched counters are forgotten first") {
  LoginThrottle throttle(config(2, 60s, 3));
  throttle.record_failure(alice, address, 0);
  throttle.record_failure(alice, address, 0);
  REQUIRE(throttle.blocked(alice, address, 0));
  // Three other pairs from other addresses push Alice's pair and address out.
  for (int i = 0; i < 3; ++i) {
    throttle.record_failure("user" + std::to_string(i) + "@localhost",
                            "10.0.0." + std::to_string(i), 0);
  }
  CHECK_FALSE(throttle.blocked(alice, address, 0));
}

TEST_CASE("retry_after is rounded up to whole seconds, at least one") {
  LoginThrottle throttle(config(1));
  throttle.record_failure(alice, address, 0);
  CHECK(throttle.blocked(alice, address, 1) == std::optional(60s));  // 59.999999 s left
  CHECK(throttle.blocked(alice, address, second / 2) == std::optional(60s));
  CHECK(throttle.blocked(alice, address, second) == std::optional(59s));
  CHECK(throttle.blocked(alice, address, 59 * second + 1) == std::optional(1s));
  CHECK(throttle.blocked(alice, address, 60 * second - 1) == std::optional(1s));
  CHECK_FALSE(throttle.blocked(alice, address, 60 * second));
}
