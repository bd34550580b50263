// How an asynchronous operation reports its result: a callback that is called
// exactly once, later or at once, from any thread.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

namespace mimrest {

/// A handle that finishes one asynchronous operation with a result of type T.
///
/// Rules, for whoever holds it (a backend, an adapter):
/// * Call it exactly once, inline (before the operation returns) or later,
///   from any thread. Calls after the first are ignored.
/// * It is cheap to copy; copies share one state, so calling any copy counts
///   as the one call. It is safe to call and destroy copies concurrently.
/// * If every copy is destroyed without a call, the operation is ABANDONED:
///   the creator's abandon handler runs (the core then answers the request
///   with 500 "Internal server error" instead of leaving it hanging).
/// * Calling it may run further work on the calling thread (the next step of
///   a request, the transport's write): do not hold a lock that this work
///   could need.
template <class T>
class Completion {
 public:
  /// An empty completion: calling it does nothing.
  Completion() = default;

  /// Runs `on_result(T)` on the first call. Implicit, so that a lambda can be
  /// passed where a Completion is expected.
  template <class F, class = std::enable_if_t<!std::is_same_v<std::decay_t<F>, Completion> &&
                                              std::is_invocable_v<std::decay_t<F>&, T>>>
  Completion(F&& on_result)  // NOLINT(google-explicit-constructor)
      : state_(std::make_shared<State<std::decay_t<F>, Nothing>>(std::forward<F>(on_result),
                                                                 Nothing{})) {}

  /// Also runs `on_abandon()` if every copy is destroyed without a call.
  template <class F, class A>
  Completion(F&& on_result, A&& on_abandon)
      : state_(std::make_shared<State<std::decay_t<F>, std::decay_t<A>>>(
            std::forward<F>(on_result), std::forward<A>(on_abandon))) {}

  /// Delivers the result (the first call only).
  void operator()(T result) const {
    if (state_) {
      state_->complete(std::move(result));
    }
  }

  /// Whether this handle belongs to an operation (not default-constructed).
  explicit operator bool() const noexcept { return state_ != nullptr; }

 private:
  struct Nothing {
    void operator()() const noexcept {}
  };

  struct Base {
    virtual ~Base() = default;
    virtual void complete(T&& result) = 0;
  };

  template <class F, class A>
  struct State final : Base {
    State(F f, A a) : on_result(std::move(f)), on_abandon(std::move(a)) {}
    ~State() override {
      if (!called.exchange(true)) {
        try {
          (*on_abandon)();
        } catch (...) {
          // Nothing sensible is left to do from a destructor.
        }
      }
    }
    void complete(T&& result) override {
      if (called.exchange(true)) {
        return;
      }
      on_abandon.reset();
      // Released once it has run: what it captured must not live on with
      // copies of the handle that the caller keeps.
      F callback = std::move(*on_result);
      on_result.reset();
      callback(std::move(result));
    }
    std::atomic<bool> called{false};
    std::optional<F> on_result;
    std::optional<A> on_abandon;
  };

  std::shared_ptr<Base> state_;
};

}  // namespace mimrest
