#include "mimrest/verification_cache.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "test_jid.hpp"

using mimrest::CachingPasswordVerifier;
using mimrest::Jid;
using mimrest::VerificationCacheOptions;
using mimrest::test::jid;
using namespace std::chrono_literals;

namespace {

// Counts calls; accounts can change while the cache is in use.
class CountingVerifier final : public mimrest::PasswordVerifier {
 public:
  void set(const std::string& user, const std::string& password) {
    std::lock_guard<std::mutex> lock(mutex_);
    accounts_[user] = password;
  }
  bool verify(const Jid& user, std::string_view password) override {
    calls_.fetch_add(1);
    std::lock_guard<std::mutex> lock(mutex_);
    const auto it = accounts_.find(user.bare_string());
    return it != accounts_.end() && it->second == password;
  }
  int calls() const { return calls_.load(); }

 private:
  std::mutex mutex_;
  std::map<std::string, std::string> accounts_;
  std::atomic<int> calls_{0};
};

struct FakeClock {
  std::chrono::steady_clock::time_point now{};
  void advance(std::chrono::seconds by) { now += by; }
};

VerificationCacheOptions options_with(FakeClock& clock, std::size_t max_entries = 100,
                                      std::chrono::seconds ttl = 60s) {
  VerificationCacheOptions options;
  options.max_entries = max_entries;
  options.time_to_live = ttl;
  options.now = [&clock] { return clock.now; };
  return options;
}

}  // namespace

TEST_CASE("a cached success avoids the inner call") {
  CountingVerifier inner;
  inner.set("alice@localhost", "secret");
  FakeClock clock;
  CachingPasswordVerifier cache(inner, options_with(clock));
  const Jid alice = jid("alice@localhost");

  CHECK(cache.verify(alice, "secret"));
  CHECK(inner.calls() == 1);
  CHECK(cache.size() == 1);
  CHECK(cache.verify(alice, "secret"));
  CHECK(cache.verify(alice, "secret"));
  CHECK(inner.calls() == 1);
}

TEST_CASE("failures are never cached and do not hit a cached success") {
  CountingVerifier inner;
  inner.set("alice@localhost", "secret");
  FakeClock clock;
  CachingPasswordVerifier cache(inner, options_with(clock));
  const Jid alice = jid("alice@localhost");

  CHECK_FALSE(cache.verify(alice, "wrong"));
  CHECK_FALSE(cache.verify(alice, "wrong"));
  CHECK(inner.calls() == 2);
  CHECK(cache.size() == 0);

  CHECK(cache.verify(alice, "secret"));
  CHECK(inner.calls() == 3);
  // A wrong password still asks the inner verifier, whatever is cached.
  CHECK_FALSE(cache.verify(alice, "wrong"));
  CHECK_FALSE(cache.verify(alice, "secret "));
  CHECK(inner.calls() == 5);
  // Another user with the same password is not a hit either.
  CHECK_FALSE(cache.verify(jid("bob@localhost"), "secret"));
  CHECK(inner.calls() == 6);
  CHECK(cache.size() == 1);
}

TEST_CASE("entries expire after the time to live") {
  CountingVerifier inner;
  inner.set("alice@localhost", "secret");
  FakeClock clock;
  CachingPasswordVerifier cache(inner, options_with(clock, 100, 60s));
  const Jid alice = jid("alice@localhost");

  CHECK(cache.verify(alice, "secret"));
  clock.advance(59s);
  CHECK(cache.verify(alice, "secret"));
  CHECK(inner.calls() == 1);
  clock.advance(1s);
  CHECK(cache.verify(alice, "secret"));
  CHECK(inner.calls() == 2);
  // The password changed in the host: the expired entry is not trusted any more.
  inner.set("alice@localhost", "new");
  clock.advance(60s);
  CHECK_FALSE(cache.verify(alice, "secret"));
  CHECK(cache.size() == 0);
}

TEST_CASE("the cache never holds more than max_entries, evicting the oldest") {
  CountingVerifier inner;
  for (int i = 0; i < 10; ++i) {
    inner.set("u" + std::to_string(i) + "@localhost", "pw");
  }
  FakeClock clock;
  CachingPasswordVerifier cache(inner, options_with(clock, 3));

  for (int i = 0; i < 10; ++i) {
    CHECK(cache.verify(jid("u" + std::to_string(i) + "@localhost"), "pw"));
    CHECK(cache.size() <= 3);
  }
  CHECK(cache.size() == 3);
  CHECK(inner.calls() == 10);
  // The three newest are still cached, the oldest were evicted.
  CHECK(cache.verify(jid("u9@localhost"), "pw"));
  CHECK(cache.verify(jid("u7@localhost"), "pw"));
  CHECK(inner.calls() == 10);
  CHECK(cache.verify(jid("u0@localhost"), "pw"));
  CHECK(inner.calls() == 11);
  CHECK(cache.size() == 3);
}

TEST_CASE("a zero bound or zero time to live caches nothing") {
  CountingVerifier inner;
  inner.set("alice@localhost", "secret");
  FakeClock clock;
  const Jid alice = jid("alice@localhost");

  CachingPasswordVerifier unbounded(inner, options_with(clock, 0));
  CHECK(unbounded.verify(alice, "secret"));
  CHECK(unbounded.verify(alice, "secret"));
  CHECK(unbounded.size() == 0);
  CHECK(inner.calls() == 2);

  CachingPasswordVerifier no_ttl(inner, options_with(clock, 10, 0s));
  CHECK(no_ttl.verify(alice, "secret"));
  CHECK(no_ttl.verify(alice, "secret"));
  CHECK(inner.calls() == 4);
}

TEST_CASE("a huge time to live does not overflow") {
  CountingVerifier inner;
  inner.set("alice@localhost", "secret");
  FakeClock clock;
  CachingPasswordVerifier cache(inner, options_with(clock, 10, std::chrono::seconds::max()));
  const Jid alice = jid("alice@localhost");
  CHECK(cache.verify(alice, "secret"));
  clock.advance(std::chrono::hours(24 * 365));
  CHECK(cache.verify(alice, "secret"));
  CHECK(inner.calls() == 1);
}

TEST_CASE("invalidate drops every entry of that user only") {
  CountingVerifier inner;
  inner.set("alice@localhost", "secret");
  inner.set("bob@localhost", "pw");
  FakeClock clock;
  CachingPasswordVerifier cache(inner, options_with(clock));
  const Jid alice = jid("alice@localhost");
  const Jid bob = jid("bob@localhost");

  CHECK(cache.verify(alice, "secret"));
  inner.set("alice@localhost", "second");
  CHECK(cache.verify(alice, "second"));
  CHECK(cache.verify(bob, "pw"));
  CHECK(cache.size() == 3);
  CHECK(inner.calls() == 3);

  // Without invalidation the old password would still be accepted from cache.
  CHECK(cache.verify(alice, "secret"));
  CHECK(inner.calls() == 3);

  cache.invalidate(jid("ALICE@localhost/any"));
  CHECK(cache.size() == 1);
  CHECK_FALSE(cache.verify(alice, "secret"));
  CHECK(cache.verify(bob, "pw"));
  CHECK(inner.calls() == 4);
}

TEST_CASE("a changed credentials version drops the entry") {
  CountingVerifier inner;
  inner.set("alice@localhost", "secret");
  FakeClock clock;
  std::atomic<std::uint64_t> version{1};
  VerificationCacheOptions options = options_with(clock);
  options.credentials_version = [&version](const Jid&) { return version.load(); };
  CachingPasswordVerifier cache(inner, options);
  const Jid alice = jid("alice@localhost");

  CHECK(cache.verify(alice, "secret"));
  CHECK(cache.verify(alice, "secret"));
  CHECK(inner.calls() == 1);

  // The host changed the password and bumped the version.
  inner.set("alice@localhost", "new");
  version = 2;
  CHECK_FALSE(cache.verify(alice, "secret"));
  CHECK(inner.calls() == 2);
  CHECK(cache.size() == 0);
  CHECK(cache.verify(alice, "new"));
  CHECK(cache.verify(alice, "new"));
  CHECK(inner.calls() == 3);
}

TEST_CASE("an invalidation during a slow verification keeps its result out of the cache") {
  // The inner verifier invalidates the cache while it runs, as a password
  // change racing with a login would.
  class InvalidatingVerifier final : public mimrest::PasswordVerifier {
   public:
    CachingPasswordVerifier* cache = nullptr;
    int calls = 0;
    bool verify(const Jid& user, std::string_view) override {
      ++calls;
      cache->invalidate(user);
      return true;
    }
  };
  InvalidatingVerifier inner;
  FakeClock clock;
  CachingPasswordVerifier cache(inner, options_with(clock));
  inner.cache = &cache;
  const Jid alice = jid("alice@localhost");
  CHECK(cache.verify(alice, "secret"));
  CHECK(cache.size() == 0);
  CHECK(cache.verify(alice, "secret"));
  CHECK(inner.calls == 2);
}

TEST_CASE("concurrent verifications give correct answers") {
  CountingVerifier inner;
  constexpr int users = 8;
  for (int i = 0; i < users; ++i) {
    inner.set("u" + std::to_string(i) + "@localhost", "pw" + std::to_string(i));
  }
  VerificationCacheOptions options;  // the real clock
  options.max_entries = 4;
  CachingPasswordVerifier cache(inner, options);
  std::vector<Jid> jids;
  for (int i = 0; i < users; ++i) {
    jids.push_back(jid("u" + std::to_string(i) + "@localhost"));
  }

  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int n = 0; n < 500; ++n) {
        const int i = (n + t) % users;
        const bool good = (n % 3) != 0;
        const std::string password = good ? "pw" + std::to_string(i) : "bad";
        if (cache.verify(jids[static_cast<std::size_t>(i)], password) != good) {
          wrong.fetch_add(1);
        }
        if (n % 97 == 0) {
          cache.invalidate(jids[static_cast<std::size_t>(i)]);
        }
        if (cache.size() > 4) {
          wrong.fetch_add(1);
        }
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  CHECK(wrong.load() == 0);
  CHECK(cache.size() <= 4);
  // Wrong passwords always reach the inner verifier, so at least that many calls.
  CHECK(inner.calls() >= 4 * 167);
}
