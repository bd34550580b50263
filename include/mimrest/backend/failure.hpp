// How a backend says that an operation failed for a reason of its own (a
// database error, a lost connection) rather than because of the request.
#pragma once

#include <string_view>

namespace mimrest {

enum class Failure {
  internal,     ///< a fault of the backend: answered 500 "Internal server error"
  unavailable,  ///< temporarily out of service: answered 503 "Service unavailable"
};

std::string_view to_string(Failure failure) noexcept;

}  // namespace mimrest
