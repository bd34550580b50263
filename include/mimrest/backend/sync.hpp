// What every synchronous base of a backend interface does for its
// implementer (as spdlog's base_sink does for its sinks): run the plain
// function under the lock of a policy, complete with what it returns, and
// turn an exception into Failure::internal. A host whose functions are not
// thread-safe keeps the default, std::mutex: its calls then never overlap.
// One whose functions are thread-safe already picks NullMutex and pays
// nothing.
#pragma once

#include <mutex>
#include <optional>
#include <utility>

#include "mimrest/backend/error.hpp"
#include "mimrest/completion.hpp"
#include "mimrest/expected.hpp"
#include "mimrest/export.hpp"

namespace mimrest {

/// A lock policy that does not lock: for implementations that are
/// thread-safe by themselves.
struct MIMREST_EXPORT NullMutex {
  void lock() noexcept {}
  void unlock() noexcept {}
};

/// The base of every Sync... class: runs one plain function per operation.
template <class Mutex>
class SyncCalls {
 protected:
  SyncCalls() = default;
  ~SyncCalls() = default;

  /// Completes `done` with `run()` (under the lock), or with
  /// Failure::internal when it throws. The completion runs after the lock is
  /// released: it may start the request's next step on this thread.
  template <class Result, class Run>
  void complete(const Completion<Result>& done, Run&& run) {
    std::optional<Result> result;
    try {
      std::lock_guard<Mutex> lock(mutex_);
      result.emplace(run());
    } catch (...) {
      done(unexpected(Failure::internal));
      return;
    }
    done(std::move(*result));
  }

 private:
  Mutex mutex_;
};

}  // namespace mimrest
