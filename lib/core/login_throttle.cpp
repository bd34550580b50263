#include "mimrest/login_throttle.hpp"

#include <algorithm>

namespace mimrest {

namespace {

std::string pair_key(std::string_view account, std::string_view address) {
  // A bare JID never contains NUL, so the separator keeps pairs apart.
  std::string key;
  key.reserve(account.size() + 1 + address.size());
  key.append(account).append(1, '\0').append(address);
  return key;
}

// How many failures one address may have over all accounts.
constexpr std::size_t kAddressFactor = 10;

}  // namespace

const LoginThrottle::Counter* LoginThrottle::Table::find(const std::string& key) const {
  auto found = index_.find(key);
  return found == index_.end() ? nullptr : &found->second->second;
}

LoginThrottle::Counter& LoginThrottle::Table::touch(const std::string& key) {
  if (auto found = index_.find(key); found != index_.end()) {
    order_.splice(order_.end(), order_, found->second);
    return found->second->second;
  }
  order_.emplace_back(key, Counter{});
  index_.emplace(key, std::prev(order_.end()));
  while (index_.size() > capacity_ && !order_.empty()) {
    index_.erase(order_.front().first);
    order_.pop_front();
  }
  return order_.back().second;
}

void LoginThrottle::Table::erase(const std::string& key) {
  if (auto found = index_.find(key); found != index_.end()) {
    order_.erase(found->second);
    index_.erase(found);
  }
}

LoginThrottle::LoginThrottle(AuthConfig config)
    : config_(config),
      pairs_(std::max<std::size_t>(config.max_tracked, 1)),
      addresses_(std::max<std::size_t>(config.max_tracked, 1)) {}

std::optional<std::chrono::seconds> LoginThrottle::blocked_by(const Counter* counter,
                                                              std::size_t limit,
                                                              std::int64_t now_us) const {
  const std::int64_t window_us =
      std::chrono::duration_cast<std::chrono::microseconds>(config_.window).count();
  if (counter == nullptr || counter->failures < limit ||
      now_us - counter->window_start_us >= window_us) {
    return std::nullopt;
  }
  const std::int64_t left_us = counter->window_start_us + window_us - now_us;
  return std::chrono::seconds(std::max<std::int64_t>(1, (left_us + 999'999) / 1'000'000));
}

std::optional<std::chrono::seconds> LoginThrottle::blocked(std::string_view account,
                                                           std::string_view address,
                                                           std::int64_t now_us) {
  if (config_.max_failures == 0) {
    return std::nullopt;
  }
  std::lock_guard<std::mutex> lock(mutex_);
  auto by_address = blocked_by(addresses_.find(std::string(address)),
                               config_.max_failures * kAddressFactor, now_us);
  auto by_pair = account.empty() ? std::nullopt
                                 : blocked_by(pairs_.find(pair_key(account, address)),
                                              config_.max_failures, now_us);
  if (by_address && by_pair) {
    return std::max(*by_address, *by_pair);
  }
  return by_address ? by_address : by_pair;
}

void LoginThrottle::record_failure(std::string_view account, std::string_view address,
                                   std::int64_t now_us) {
  if (config_.max_failures == 0) {
    return;
  }
  const std::int64_t window_us =
      std::chrono::duration_cast<std::chrono::microseconds>(config_.window).count();
  auto count = [&](Counter& counter) {
    if (counter.failures == 0 || now_us - counter.window_start_us >= window_us) {
      counter.window_start_us = now_us;
      counter.failures = 0;
    }
    ++counter.failures;
  };
  std::lock_guard<std::mutex> lock(mutex_);
  count(addresses_.touch(std::string(address)));
  if (!account.empty()) {
    count(pairs_.touch(pair_key(account, address)));
  }
}

void LoginThrottle::record_success(std::string_view account, std::string_view address) {
  std::lock_guard<std::mutex> lock(mutex_);
  pairs_.erase(pair_key(account, address));
}

std::size_t LoginThrottle::tracked() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return pairs_.size() + addresses_.size();
}

}  // namespace mimrest
