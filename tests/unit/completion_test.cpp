#include "mimrest/completion.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "await.hpp"

using mimrest::Completion;

TEST_CASE("a completion runs its callback on the first call only") {
  std::vector<int> seen;
  Completion<int> done([&seen](int value) { seen.push_back(value); });
  CHECK(static_cast<bool>(done));
  done(1);
  done(2);
  done(3);
  CHECK(seen == std::vector<int>{1});
}

TEST_CASE("copies share one state: calling any copy is the one call") {
  std::vector<std::string> seen;
  Completion<std::string> original([&seen](std::string value) { seen.push_back(value); });
  Completion<std::string> copy = original;
  Completion<std::string> another;
  another = copy;
  copy("from the copy");
  original("from the original");
  another("from another copy");
  CHECK(seen == std::vector<std::string>{"from the copy"});
}

TEST_CASE("the abandon handler runs when every copy is dropped uncalled") {
  int called = 0;
  int abandoned = 0;
  {
    Completion<int> done([&called](int) { ++called; }, [&abandoned] { ++abandoned; });
    {
      Completion<int> copy = done;
      Completion<int> moved = std::move(copy);
    }
    CHECK(abandoned == 0);  // one copy is still alive
  }
  CHECK(abandoned == 1);
  CHECK(called == 0);
}

TEST_CASE("the abandon handler does not run after a call") {
  int called = 0;
  int abandoned = 0;
  {
    Completion<int> done([&called](int) { ++called; }, [&abandoned] { ++abandoned; });
    Completion<int> copy = done;
    copy(7);
  }
  CHECK(called == 1);
  CHECK(abandoned == 0);
}

TEST_CASE("a completion without an abandon handler may be dropped uncalled") {
  int called = 0;
  {
    Completion<int> done([&called](int) { ++called; });
  }
  CHECK(called == 0);
}

TEST_CASE("an exception from the abandon handler does not escape the destructor") {
  bool abandoned = false;
  auto drop = [&abandoned] {
    Completion<int> done([](int) {},
                         [&abandoned] {
                           abandoned = true;
                           throw std::runtime_error("ignored");
                         });
  };
  CHECK_NOTHROW(drop());
  CHECK(abandoned);
}

TEST_CASE("a completion may be called from another thread") {
  const auto result =
      mimrest::test::await_for<std::thread::id>([](Completion<std::thread::id> done) {
        std::thread([done] { done(std::this_thread::get_id()); }).detach();
      });
  CHECK(result != std::this_thread::get_id());
}

TEST_CASE("concurrent calls from many threads run the callback once") {
  std::atomic<int> calls{0};
  std::atomic<int> winner{-1};
  Completion<int> done([&](int value) {
    calls.fetch_add(1);
    winner.store(value);
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([done, t] {
      for (int n = 0; n < 100; ++n) {
        done(t);
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  CHECK(calls.load() == 1);
  CHECK(winner.load() >= 0);
  CHECK(winner.load() < 8);
}

TEST_CASE("copies dropped on several threads abandon exactly once") {
  std::atomic<int> abandoned{0};
  {
    Completion<int> done([](int) {}, [&abandoned] { abandoned.fetch_add(1); });
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([copy = done]() mutable { copy = Completion<int>(); });
    }
    for (auto& thread : threads) {
      thread.join();
    }
    CHECK(abandoned.load() == 0);
  }
  CHECK(abandoned.load() == 1);
}

TEST_CASE("the callback is released once it has run") {
  auto resource = std::make_shared<int>(42);
  std::weak_ptr<int> watch = resource;
  Completion<int> done([resource](int) {});
  Completion<int> kept = done;  // a copy the caller keeps
  resource.reset();
  CHECK_FALSE(watch.expired());  // held by the callback
  done(1);
  CHECK(watch.expired());  // freed, although copies of the handle live on
  CHECK(static_cast<bool>(kept));
}

TEST_CASE("the abandon handler is released after a call") {
  auto resource = std::make_shared<int>(42);
  std::weak_ptr<int> watch = resource;
  Completion<int> done([](int) {}, [resource] {});
  resource.reset();
  CHECK_FALSE(watch.expired());
  done(1);
  CHECK(watch.expired());
}

TEST_CASE("an empty completion does nothing when called") {
  Completion<int> empty;
  CHECK_FALSE(static_cast<bool>(empty));
  CHECK_NOTHROW(empty(1));
  Completion<int> copy = empty;
  CHECK_FALSE(static_cast<bool>(copy));
}

TEST_CASE("move-only results are handed over") {
  std::unique_ptr<int> received;
  Completion<std::unique_ptr<int>> done(
      [&received](std::unique_ptr<int> value) { received = std::move(value); });
  done(std::make_unique<int>(5));
  REQUIRE(received);
  CHECK(*received == 5);
}
