// A backend that completes every operation LATER, on other threads: another
// backend's interfaces behind the library's executor adapter, on a small
// thread pool that runs each call after a random delay. Tests run the whole
// Api suite through it to check that the core does not depend on inline
// completion.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "mimrest/backend/backend.hpp"
#include "mimrest/backend/on_executor.hpp"

namespace mimrest::test {

/// Runs tasks on a few threads, each after a random delay of up to
/// `max_delay`. The destructor runs what is queued, then joins.
class DelayPool final : public Executor {
 public:
  explicit DelayPool(unsigned threads = 3,
                     std::chrono::microseconds max_delay = std::chrono::microseconds(300))
      : max_delay_(max_delay) {
    for (unsigned i = 0; i < threads; ++i) {
      threads_.emplace_back([this, i] { run(i); });
    }
  }
  ~DelayPool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    ready_.notify_all();
    for (auto& thread : threads_) {
      thread.join();
    }
  }
  DelayPool(const DelayPool&) = delete;
  DelayPool& operator=(const DelayPool&) = delete;

  void post(std::function<void()> task) override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      tasks_.push_back(std::move(task));
    }
    ready_.notify_one();
  }

 private:
  void run(unsigned seed) {
    std::minstd_rand random(seed + 1);
    std::uniform_int_distribution<std::int64_t> delay(0, max_delay_.count());
    while (true) {
      std::function<void()> task;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        ready_.wait(lock, [&] { return stopping_ || !tasks_.empty(); });
        if (tasks_.empty()) {
          return;
        }
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      std::this_thread::sleep_for(std::chrono::microseconds(delay(random)));
      task();
    }
  }

  std::chrono::microseconds max_delay_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

/// Every interface of `inner`, completing later on `pool`'s threads: the
/// library's executor adapter with the delaying pool as its executor.
class AsyncBackend {
 public:
  AsyncBackend(Backend inner, DelayPool& pool) : posted_(inner, pool) {}
  Backend backend() const { return posted_.backend(); }

 private:
  BackendOnExecutor posted_;
};

}  // namespace mimrest::test
