// Internal: write and read requests made of a function and a Completion.
#pragma once

#include <optional>
#include <type_traits>
#include <utility>

#include "mimrest/backend/muc_light.hpp"
#include "mimrest/backend/reference_backend.hpp"
#include "mimrest/backend/roster.hpp"
#include "mimrest/completion.hpp"
#include "mimrest/expected.hpp"
#include "sql/store.hpp"

namespace mimrest::sql::detail {

/// `Result` (an Expected) holding the storage failure: every interface's
/// error converts from a Failure.
template <class Result>
Result failure_result(Failure failure) {
  return unexpected(failure);
}

/// Declares nothing (the request locks what it needs as it runs).
struct NoDeclaration {
  void operator()(Declaration& /*declaration*/) const {}
};

/// A write request: `fn(Connection&, WriteContext&) -> Result`. A result
/// without a value rolls its statements back. `fn` must not consume what it
/// captured: it may run twice (after a lost connection). `declare` says what
/// it touches (WriteJob::declare).
template <class Result, class Fn, class Declare = NoDeclaration>
class FnWriteJob final : public WriteJob {
 public:
  FnWriteJob(Fn fn, Completion<Result> done, Declare declare = {})
      : fn_(std::move(fn)), done_(std::move(done)), declare_(std::move(declare)) {}
  void declare(Declaration& declaration) const override { declare_(declaration); }
  bool run(Connection& db, WriteContext& context) override {
    result_.reset();
    result_.emplace(fn_(db, context));
    return result_->has_value();
  }
  void committed() override { done_(std::move(*result_)); }
  void failed(Failure failure) override { done_(failure_result<Result>(failure)); }

 private:
  Fn fn_;
  Completion<Result> done_;
  Declare declare_;
  std::optional<Result> result_;
};

template <class Result, class Fn>
std::unique_ptr<WriteJob> write_job(Fn fn, Completion<Result> done) {
  return std::make_unique<FnWriteJob<Result, Fn>>(std::move(fn), std::move(done));
}

template <class Result, class Fn, class Declare>
std::unique_ptr<WriteJob> write_job(Declare declare, Fn fn, Completion<Result> done) {
  return std::make_unique<FnWriteJob<Result, Fn, Declare>>(std::move(fn), std::move(done),
                                                           std::move(declare));
}

/// A read request: `fn(Connection&) -> Result`, in one snapshot when asked.
template <class Result, class Fn>
class FnReadJob final : public ReadJob {
 public:
  FnReadJob(Fn fn, Completion<Result> done, bool snapshot)
      : fn_(std::move(fn)), done_(std::move(done)), snapshot_(snapshot) {}
  bool snapshot() const override { return snapshot_; }
  void run(Connection& db) override {
    result_.reset();
    result_.emplace(fn_(db));
  }
  void complete() override { done_(std::move(*result_)); }
  void failed(Failure failure) override { done_(failure_result<Result>(failure)); }

 private:
  Fn fn_;
  Completion<Result> done_;
  bool snapshot_;
  std::optional<Result> result_;
};

template <class Result, class Fn>
std::unique_ptr<ReadJob> read_job(Fn fn, Completion<Result> done, bool snapshot = false) {
  return std::make_unique<FnReadJob<Result, Fn>>(std::move(fn), std::move(done), snapshot);
}

}  // namespace mimrest::sql::detail
