// How a backend operation fails: the one error model of every interface.
// Each interface adds the cases of its own domain (a room that does not
// exist, a contact not in the roster) to the two failures every backend can
// have, which are defined here once.
#pragma once

#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

#include "mimrest/export.hpp"

namespace mimrest {

/// A failure of the backend itself rather than of the request.
enum class Failure {
  internal,     ///< a fault (a database error, a bug): answered 500 "Internal server error"
  unavailable,  ///< out of service for now (a lost connection): answered 503
};

MIMREST_EXPORT std::string_view to_string(Failure failure) noexcept;

/// The error of an operation of an interface whose own cases are `Case` (an
/// enum, or a struct with details): either one of those, or a Failure. Both
/// convert implicitly, so an implementation writes
/// `return unexpected(RosterError::not_in_roster);` or
/// `return unexpected(Failure::unavailable);` alike.
template <class Case>
class Error {
 public:
  Error(Failure failure) : value_(failure) {}  // NOLINT(google-explicit-constructor)
  Error(Case domain_case) : value_(std::move(domain_case)) {}  // NOLINT

  /// Whether it is a Failure rather than one of the interface's cases.
  bool is_failure() const noexcept { return std::holds_alternative<Failure>(value_); }
  /// The failure; throws std::bad_variant_access when it is a domain case.
  Failure failure() const { return std::get<Failure>(value_); }
  /// The domain case; throws std::bad_variant_access when it is a failure.
  const Case& domain() const { return std::get<Case>(value_); }
  /// The domain case, or nullptr when it is a failure.
  const Case* if_domain() const noexcept { return std::get_if<Case>(&value_); }

  friend bool operator==(const Error& error, Failure failure) noexcept {
    return error.is_failure() && std::get<Failure>(error.value_) == failure;
  }
  friend bool operator!=(const Error& error, Failure failure) noexcept {
    return !(error == failure);
  }

 private:
  std::variant<Failure, Case> value_;
};

/// Compares with an enum case: `result.error() == RosterError::not_in_roster`.
template <class Case, class = std::enable_if_t<std::is_enum_v<Case>>>
bool operator==(const Error<Case>& error, Case domain_case) noexcept {
  const Case* held = error.if_domain();
  return held != nullptr && *held == domain_case;
}
template <class Case, class = std::enable_if_t<std::is_enum_v<Case>>>
bool operator!=(const Error<Case>& error, Case domain_case) noexcept {
  return !(error == domain_case);
}

}  // namespace mimrest
