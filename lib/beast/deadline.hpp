// One timeout concern of a session (its pending read, its pending write):
// when the operation must end, set where the operation starts, and a timer
// that closes the session once that time has passed.
#pragma once

#include <chrono>
#include <utility>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/steady_timer.hpp>

namespace mimrest::beast::detail {

/// The timer is armed lazily: setting a deadline only records it, and a wait
/// that fires before the deadline re-arms itself for the rest. A session
/// that starts an operation per request (a read, most of them with a later
/// deadline than the one before) thus costs no timer operation per request;
/// the timer is re-armed at once only for an earlier deadline than the one
/// armed. Used on the session's strand only.
class Deadline {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr Clock::time_point never = Clock::time_point::max();

  explicit Deadline(const boost::asio::any_io_executor& executor) : timer_(executor) {}

  /// The operation under way must end by `at`; else `session->timed_out()`
  /// runs on the strand (the wait holds the session, which owns this).
  template <class Session>
  void expire_at(Clock::time_point at, Session* session) {
    at_ = at;
    if (at == never || (waits_ > 0 && armed_ <= at)) {
      return;
    }
    arm(session->shared_from_this());
  }
  template <class Session>
  void expire_after(Clock::duration duration, Session* session) {
    expire_at(Clock::now() + duration, session);
  }
  /// No operation of this concern is under way.
  void clear() noexcept { at_ = never; }
  /// The session closes: the wait ends (and lets go of the session).
  void cancel() {
    at_ = never;
    timer_.cancel();
  }
  Clock::time_point at() const noexcept { return at_; }

 private:
  template <class SessionPtr>
  void arm(SessionPtr session) {
    armed_ = at_;
    timer_.expires_at(at_);  // cancels a wait that was pending
    ++waits_;
    timer_.async_wait([this, session = std::move(session)](boost::system::error_code ec) {
      --waits_;
      if (ec == boost::asio::error::operation_aborted || at_ == never) {
        return;
      }
      if (Clock::now() >= at_) {
        at_ = never;
        session->timed_out();
      } else if (waits_ == 0) {
        arm(session);
      }
    });
  }

  boost::asio::steady_timer timer_;
  Clock::time_point at_ = never;     ///< when the operation under way must end
  Clock::time_point armed_ = never;  ///< the expiry of the latest wait
  int waits_ = 0;
};

}  // namespace mimrest::beast::detail
