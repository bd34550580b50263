// Runs a backend's work on an executor of its own: every operation called
// on the adapter copies its arguments and is posted there, so that the
// backend's code only ever runs on the executor's threads (a network
// backend's I/O threads, a database's pool) and the caller returns at once.
// The completions run wherever the wrapped backend completes them.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "mimrest/backend/backend.hpp"
#include "mimrest/export.hpp"

namespace mimrest {

/// Something that runs functions later: an Asio strand or io_context, a
/// thread pool. post() is called concurrently from many threads; a posted
/// function runs once (or is destroyed unrun when the executor shuts down:
/// its completions then answer as abandoned).
class MIMREST_EXPORT Executor {
 public:
  virtual ~Executor() = default;
  virtual void post(std::function<void()> work) = 0;
};

/// Every capability of `inner`, each operation posted to `executor` first.
/// Both must outlive the operations started through it (as Backend
/// requires of its objects); the adapter itself may go earlier.
class MIMREST_EXPORT BackendOnExecutor {
 public:
  BackendOnExecutor(Backend inner, Executor& executor);
  ~BackendOnExecutor();
  BackendOnExecutor(const BackendOnExecutor&) = delete;
  BackendOnExecutor& operator=(const BackendOnExecutor&) = delete;

  /// The wrapped interfaces: null where `inner` has none.
  Backend backend() const noexcept { return wrapped_; }

 private:
  Backend wrapped_;
  std::vector<std::shared_ptr<void>> parts_;
};

}  // namespace mimrest
