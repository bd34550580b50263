#include "mimrest/verification_cache.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "await.hpp"
#include "test_jid.hpp"

using mimrest::CachingPasswordVerifier;
using mimrest::Completion;
using mimrest::Failure;
using mimrest::Jid;
using mimrest::PasswordVerifier;
using mimrest::VerificationCacheOptions;
using mimrest::VerifyResult;
using mimrest::test::jid;
using namespace std::chrono_literals;

namespace {

/// Whether `verifier` accepts the password; the check must complete inline
/// and succeed. Asserts: call it on the test's thread only.
bool verify(PasswordVerifier& verifier, const Jid& user, std::string_view password) {
  auto result = mimrest::test::await(verifier, &PasswordVerifier::async_verify, user, password);
  REQUIRE(result);
  return *result;
}

// Counts calls; accounts can change while the cache is in use.
class CountingVerifier final : public mimrest::SyncPasswordVerifier<> {
 public:
  void set(const std::string& user, const std::string& password) {
    std::lock_guard<std::mutex> lock(mutex_);
    accounts_[user] = password;
  }
  VerifyResult verify(const Jid& user, std::string_view password) override {
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

  CHECK(verify(cache, alice, "secret"));
  CHECK(inner.calls() == 1);
  CHECK(cache.size() == 1);
  CHECK(verify(cache, alice, "secret"));
  CHECK(verify(cache, alice, "secret"));
  CHECK(inner.calls() == 1);
}

TEST_CASE("failures are never cached and do not hit a cached success") {
  CountingVerifier inner;
  inner.set("alice@localhost", "secret");
  FakeClock clock;
  CachingPasswordVerifier cache(inner, options_with(clock));
  const Jid alice = jid("alice@localhost");

  CHECK_FALSE(verify(cache, alice, "wrong"));
  CHECK_FALSE(verify(cache, alice, "wrong"));
  CHECK(inner.calls() == 2);
  CHECK(cache.size() == 0);

  CHECK(verify(cache, alice, "secret"));
  CHECK(inner.calls() == 3);
  // A wrong password still asks the inner verifier, whatever is cached.
  CHECK_FALSE(verify(cache, alice, "wrong"));
  CHECK_FALSE(verify(cache, alice, "secret "));
  CHECK(inner.calls() == 5);
  // Another user with the same password is not a hit either.
  CHECK_FALSE(verify(cache, jid("bob@localhost"), "secret"));
  CHECK(inner.calls() == 6);
  CHECK(cache.size() == 1);
}

TEST_CASE("entries expire after the time to live") {
  CountingVerifier inner;
  inner.set("alice@localhost", "secret");
  FakeClock clock;
  CachingPasswordVerifier cache(inner, options_with(clock, 100, 60s));
  const Jid alice = jid("alice@localhost");

  CHECK(verify(cache, alice, "secret"));
  clock.advance(59s);
  CHECK(verify(cache, alice, "secret"));
  CHECK(inner.calls() == 1);
  clock.advance(1s);
  CHECK(verify(cache, alice, "secret"));
  CHECK(inner.calls() == 2);
  // The password changed in the host: the expired entry is not trusted any more.
  inner.set("alice@localhost", "new");
  clock.advance(60s);
  CHECK_FALSE(verify(cache, alice, "secret"));
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
    CHECK(verify(cache, jid("u" + std::to_string(i) + "@localhost"), "pw"));
    CHECK(cache.size() <= 3);
  }
  CHECK(cache.size() == 3);
  CHECK(inner.calls() == 10);
  // The three newest are still cached, the oldest were evicted.
  CHECK(verify(cache, jid("u9@localhost"), "pw"));
  CHECK(verify(cache, jid("u7@localhost"), "pw"));
  CHECK(inner.calls() == 10);
  CHECK(verify(cache, jid("u0@localhost"), "pw"));
  CHECK(inner.calls() == 11);
  CHECK(cache.size() == 3);
}

TEST_CASE("a zero bound or zero time to live caches nothing") {
  CountingVerifier inner;
  inner.set("alice@localhost", "secret");
  FakeClock clock;
  const Jid alice = jid("alice@localhost");

  CachingPasswordVerifier unbounded(inner, options_with(clock, 0));
  CHECK(verify(unbounded, alice, "secret"));
  CHECK(verify(unbounded, alice, "secret"));
  CHECK(unbounded.size() == 0);
  CHECK(inner.calls() == 2);

  CachingPasswordVerifier no_ttl(inner, options_with(clock, 10, 0s));
  CHECK(verify(no_ttl, alice, "secret"));
  CHECK(verify(no_ttl, alice, "secret"));
  CHECK(inner.calls() == 4);
}

TEST_CASE("a huge time to live does not overflow") {
  CountingVerifier inner;
  inner.set("alice@localhost", "secret");
  FakeClock clock;
  CachingPasswordVerifier cache(inner, options_with(clock, 10, std::chrono::seconds::max()));
  const Jid alice = jid("alice@localhost");
  CHECK(verify(cache, alice, "secret"));
  clock.advance(std::chrono::hours(24 * 365));
  CHECK(verify(cache, alice, "secret"));
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

  CHECK(verify(cache, alice, "secret"));
  inner.set("alice@localhost", "second");
  CHECK(verify(cache, alice, "second"));
  CHECK(verify(cache, bob, "pw"));
  CHECK(cache.size() == 3);
  CHECK(inner.calls() == 3);

  // Without invalidation the old password would still be accepted from cache.
  CHECK(verify(cache, alice, "secret"));
  CHECK(inner.calls() == 3);

  cache.invalidate(jid("ALICE@localhost/any"));
  CHECK(cache.size() == 1);
  CHECK_FALSE(verify(cache, alice, "secret"));
  CHECK(verify(cache, bob, "pw"));
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

  CHECK(verify(cache, alice, "secret"));
  CHECK(verify(cache, alice, "secret"));
  CHECK(inner.calls() == 1);

  // The host changed the password and bumped the version.
  inner.set("alice@localhost", "new");
  version = 2;
  CHECK_FALSE(verify(cache, alice, "secret"));
  CHECK(inner.calls() == 2);
  CHECK(cache.size() == 0);
  CHECK(verify(cache, alice, "new"));
  CHECK(verify(cache, alice, "new"));
  CHECK(inner.calls() == 3);
}

TEST_CASE("an invalidation during a slow verification keeps its result out of the cache") {
  // The inner verifier invalidates the cache while it runs, as a password
  // change racing with a login would.
  class InvalidatingVerifier final : public mimrest::SyncPasswordVerifier<> {
   public:
    CachingPasswordVerifier* cache = nullptr;
    int calls = 0;
    VerifyResult verify(const Jid& user, std::string_view) override {
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
  CHECK(verify(cache, alice, "secret"));
  CHECK(cache.size() == 0);
  CHECK(verify(cache, alice, "secret"));
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
        // No assertions off the test's thread: a missing or failed answer counts as wrong.
        auto result = mimrest::test::call_inline(cache, &PasswordVerifier::async_verify,
                                                 jids[static_cast<std::size_t>(i)], password);
        if (!result || !*result || **result != good) {
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

namespace {

/// Keeps every completion until the test finishes it, as a verifier that
/// answers from another thread would.
class DeferredVerifier final : public PasswordVerifier {
 public:
  void async_verify(const Jid&, std::string_view password, Completion<VerifyResult> done) override {
    std::lock_guard<std::mutex> lock(mutex_);
    pending_.emplace_back(std::string(password), std::move(done));
  }
  /// Completes the oldest pending check with whether its password was `right`.
  void answer_oldest(const std::string& right) {
    auto [password, done] = pop();
    done(password == right);
  }
  /// Completes the oldest pending check with `failure`.
  void fail_oldest(Failure failure) { pop().second(mimrest::unexpected(failure)); }
  /// Drops the oldest pending check without calling it.
  void drop_oldest() { pop(); }
  std::size_t pending() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return pending_.size();
  }

 private:
  /// The oldest pending check; an empty completion when there is none (no
  /// assertion here: it also runs on other threads).
  std::pair<std::string, Completion<VerifyResult>> pop() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (pending_.empty()) {
      return {};
    }
    auto oldest = std::move(pending_.front());
    pending_.erase(pending_.begin());
    return oldest;
  }

  mutable std::mutex mutex_;
  std::vector<std::pair<std::string, Completion<VerifyResult>>> pending_;
};

}  // namespace

TEST_CASE("a miss completes when the inner verifier does, on its thread") {
  DeferredVerifier inner;
  FakeClock clock;
  CachingPasswordVerifier cache(inner, options_with(clock));
  const Jid alice = jid("alice@localhost");

  std::thread answering;
  std::thread::id completed_on;
  const auto answered = mimrest::test::await_for<VerifyResult>([&](Completion<VerifyResult> done) {
    cache.async_verify(alice, "secret", [done, &completed_on](VerifyResult result) {
      completed_on = std::this_thread::get_id();
      done(std::move(result));
    });
    CHECK(inner.pending() == 1);  // asked, not answered yet
    answering = std::thread([&inner] { inner.answer_oldest("secret"); });
  });
  const std::thread::id answering_id = answering.get_id();
  answering.join();
  REQUIRE(answered);
  CHECK(*answered);
  CHECK(completed_on == answering_id);

  // Now cached: a hit completes inline without asking the inner verifier.
  CHECK(verify(cache, alice, "secret"));
  CHECK(inner.pending() == 0);
}

TEST_CASE("a failure of the inner verifier is passed through and not cached") {
  DeferredVerifier inner;
  FakeClock clock;
  CachingPasswordVerifier cache(inner, options_with(clock));
  const Jid alice = jid("alice@localhost");

  std::optional<VerifyResult> result;
  cache.async_verify(alice, "secret", [&result](VerifyResult r) { result = r; });
  inner.fail_oldest(Failure::unavailable);
  REQUIRE(result.has_value());
  REQUIRE_FALSE(*result);
  CHECK(result->error() == Failure::unavailable);
  CHECK(cache.size() == 0);

  // A wrong password is an answer, not a failure, and is not cached either.
  result.reset();
  cache.async_verify(alice, "wrong", [&result](VerifyResult r) { result = r; });
  inner.answer_oldest("secret");
  REQUIRE(result.has_value());
  REQUIRE(*result);
  CHECK_FALSE(**result);
  CHECK(cache.size() == 0);
}

TEST_CASE("a verification in flight outlives the cache") {
  DeferredVerifier inner;
  FakeClock clock;
  std::optional<VerifyResult> result;
  {
    CachingPasswordVerifier cache(inner, options_with(clock));
    cache.async_verify(jid("alice@localhost"), "secret", [&result](VerifyResult r) { result = r; });
  }
  inner.answer_oldest("secret");
  REQUIRE(result.has_value());
  REQUIRE(*result);
  CHECK(**result);
}

TEST_CASE("a completion the inner verifier drops abandons the caller's") {
  DeferredVerifier inner;
  FakeClock clock;
  CachingPasswordVerifier cache(inner, options_with(clock));
  bool called = false;
  bool abandoned = false;
  cache.async_verify(jid("alice@localhost"), "secret",
                     Completion<VerifyResult>([&called](VerifyResult) { called = true; },
                                              [&abandoned] { abandoned = true; }));
  CHECK_FALSE(abandoned);
  inner.drop_oldest();
  CHECK(abandoned);
  CHECK_FALSE(called);
}
