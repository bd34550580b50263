// A value or a typed error: how mimrest reports expected failures (bad input,
// room not found, ...) without exceptions.
#pragma once

#include <optional>
#include <type_traits>
#include <utility>
#include <variant>

namespace mimrest {

template <class E>
struct Unexpected {
  E error;
};

/// Wraps an error so that it converts to any Expected<T, E>.
template <class E>
Unexpected<std::decay_t<E>> unexpected(E&& error) {
  return {std::forward<E>(error)};
}

template <class T, class E>
class Expected {
 public:
  Expected(T value) : storage_(std::in_place_index<0>, std::move(value)) {}
  template <class G>
  Expected(Unexpected<G> error) : storage_(std::in_place_index<1>, std::move(error.error)) {}

  bool has_value() const noexcept { return storage_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  // Accessing the wrong alternative throws std::bad_variant_access: never
  // undefined behaviour, also in release builds.
  T& value() & { return std::get<0>(storage_); }
  const T& value() const& { return std::get<0>(storage_); }
  T&& value() && { return std::get<0>(std::move(storage_)); }
  const E& error() const { return std::get<1>(storage_); }

  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, E> storage_;
};

template <class E>
class Expected<void, E> {
 public:
  Expected() = default;
  template <class G>
  Expected(Unexpected<G> error) : error_(std::move(error.error)) {}

  bool has_value() const noexcept { return !error_.has_value(); }
  explicit operator bool() const noexcept { return has_value(); }
  /// The error; throws std::bad_optional_access when there is none (never
  /// undefined behaviour, also in release builds).
  const E& error() const { return error_.value(); }

 private:
  std::optional<E> error_;
};

}  // namespace mimrest
