// Calling asynchronous operations from tests: start one with a Completion
// that captures its result, then hand the result back.
//
//   auto items = await<RosterItemsResult>([&](auto done) { roster.async_items(alice, done); });
//   auto same = await(roster, &mimrest::Roster::async_items, alice);
//
// await() REQUIREs that the operation completed before it returned (the memory
// backend and every Sync* base complete inline); await_for() waits for a
// completion called on another thread. Both assert, so call them on the
// test's own thread only (Catch assertions are not thread-safe); from other
// threads use call_inline(), which asserts nothing.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>

#include <catch2/catch.hpp>

#include "mimrest/backend/muc_light.hpp"
#include "mimrest/completion.hpp"

namespace mimrest::test {

namespace detail {

template <class T>
struct completion_result;
template <class R>
struct completion_result<Completion<R>> {
  using type = R;
};

/// R of the Completion<R> that is the last parameter of an async_ operation.
template <class... Params>
using operation_result = typename completion_result<
    std::decay_t<std::tuple_element_t<sizeof...(Params) - 1, std::tuple<Params...>>>>::type;

}  // namespace detail

/// Runs `start(Completion<R>)`; the result if the completion was called before
/// `start` returned, nullopt otherwise. Asserts nothing: safe on any thread.
template <class R, class Start>
std::optional<R> call_inline(Start&& start) {
  auto result = std::make_shared<std::optional<R>>();
  std::forward<Start>(start)(
      Completion<R>([result](R value) { result->emplace(std::move(value)); }));
  return std::move(*result);
}

/// Runs `start(Completion<R>)` and returns the result; REQUIREs that the
/// completion was called before `start` returned.
template <class R, class Start>
R await(Start&& start) {
  std::optional<R> result = call_inline<R>(std::forward<Start>(start));
  REQUIRE(result.has_value());
  return std::move(*result);
}

/// `(object.*operation)(args..., done)` through call_inline().
template <class Object, class Class, class... Params, class... Args>
std::optional<detail::operation_result<Params...>> call_inline(Object& object,
                                                               void (Class::*operation)(Params...),
                                                               Args&&... args) {
  using R = detail::operation_result<Params...>;
  return call_inline<R>([&](Completion<R> done) {
    (object.*operation)(std::forward<Args>(args)..., std::move(done));
  });
}

/// `(object.*operation)(args..., done)` through await().
template <class Object, class Class, class... Params, class... Args>
detail::operation_result<Params...> await(Object& object, void (Class::*operation)(Params...),
                                          Args&&... args) {
  using R = detail::operation_result<Params...>;
  return await<R>([&](Completion<R> done) {
    (object.*operation)(std::forward<Args>(args)..., std::move(done));
  });
}

/// Runs `start(Completion<R>)` and waits up to `timeout` for the completion,
/// which may be called on any thread; REQUIREs that it was.
template <class R, class Start>
R await_for(Start&& start, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  struct Shared {
    std::mutex mutex;
    std::condition_variable called;
    std::optional<R> result;
  };
  auto shared = std::make_shared<Shared>();
  std::forward<Start>(start)(Completion<R>([shared](R value) {
    std::lock_guard<std::mutex> lock(shared->mutex);
    shared->result.emplace(std::move(value));
    shared->called.notify_all();
  }));
  std::unique_lock<std::mutex> lock(shared->mutex);
  const bool done =
      shared->called.wait_for(lock, timeout, [&] { return shared->result.has_value(); });
  REQUIRE(done);
  return std::move(*shared->result);
}

/// The MUC Light service of a user domain, which must be answered inline;
/// nullopt when there is none (or the question failed).
inline std::optional<std::string> service_domain(MucLight& muc, std::string_view user_domain) {
  auto result = await(muc, &MucLight::async_service_domain, user_domain);
  return result ? *result : std::nullopt;
}

}  // namespace mimrest::test
