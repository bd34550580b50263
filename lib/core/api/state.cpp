#include "core/api/state.hpp"

namespace mimrest::detail {

bool StreamCounter::try_open(const Jid& user, std::size_t limit) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::size_t& open = open_[user];
  if (open >= limit) {
    if (open == 0) {
      open_.erase(user);
    }
    return false;
  }
  ++open;
  return true;
}

void StreamCounter::close(const Jid& user) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = open_.find(user);
  if (found == open_.end()) {
    return;
  }
  if (--found->second == 0) {
    open_.erase(found);
  }
}

}  // namespace mimrest::detail
