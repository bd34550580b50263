// Internal: what every synchronous backend base does - run the plain function
// and complete with its result, or with a failure if it throws.
#pragma once

#include <optional>
#include <utility>

#include "mimrest/completion.hpp"
#include "mimrest/expected.hpp"

namespace mimrest::detail {

/// Completes `done` with `run()`, or with `unexpected(on_exception)` when
/// `run` throws. An exception from the completion itself is not caught here.
template <class Result, class Run, class Error>
void complete_sync(const Completion<Result>& done, Run&& run, Error on_exception) {
  std::optional<Result> result;
  try {
    result.emplace(run());
  } catch (...) {
    done(unexpected(std::move(on_exception)));
    return;
  }
  done(std::move(*result));
}

}  // namespace mimrest::detail
