// Failed-login throttling: after too many failures for one account from one
// client address (or from one address over all accounts) within a window,
// further attempts are refused without a password check until the window
// has passed.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "mimrest/api_config.hpp"
#include "mimrest/export.hpp"

namespace mimrest {

/// Counts failures per (account, address) and per address, each in a window
/// that starts at its first failure. Memory is bounded: at most
/// AuthConfig::max_tracked counters of each kind are kept, the least
/// recently touched forgotten first (so a flood of distinct addresses or
/// names cannot grow it). Thread-safe.
class MIMREST_EXPORT LoginThrottle {
 public:
  explicit LoginThrottle(AuthConfig config);

  /// When an attempt for `account` (a bare JID; empty when the credentials
  /// name none) from `address` must be refused: how long until it may be
  /// tried again (at least one second). nullopt: check it.
  std::optional<std::chrono::seconds> blocked(std::string_view account, std::string_view address,
                                              std::int64_t now_us);
  void record_failure(std::string_view account, std::string_view address, std::int64_t now_us);
  /// A success clears the (account, address) counter, not the address's.
  void record_success(std::string_view account, std::string_view address);

  /// Counters kept now (both kinds), for tests and monitoring.
  std::size_t tracked() const;

 private:
  struct Counter {
    std::int64_t window_start_us = 0;
    std::size_t failures = 0;
  };
  /// One kind of counter, least recently touched first.
  class Table {
   public:
    explicit Table(std::size_t capacity) : capacity_(capacity) {}
    const Counter* find(const std::string& key) const;
    Counter& touch(const std::string& key);
    void erase(const std::string& key);
    std::size_t size() const { return index_.size(); }

   private:
    using Order = std::list<std::pair<std::string, Counter>>;
    std::size_t capacity_;
    Order order_;
    std::unordered_map<std::string, Order::iterator> index_;
  };

  std::optional<std::chrono::seconds> blocked_by(const Counter* counter, std::size_t limit,
                                                 std::int64_t now_us) const;

  const AuthConfig config_;
  mutable std::mutex mutex_;
  Table pairs_;
  Table addresses_;
};

}  // namespace mimrest
