// The open connections of one server, and shedding.
#include "beast/connections.hpp"

#include <utility>

namespace mimrest::beast::detail {
namespace {

bool sheddable(Activity activity, Shed level) {
  return activity == Activity::waiting ||
         (activity == Activity::idle && level == Shed::waiting_or_idle);
}

}  // namespace

bool publish(std::atomic<Activity>& activity, Activity next) noexcept {
  Activity current = activity.load();
  do {
    if (current == Activity::shed) {
      return false;
    }
  } while (!activity.compare_exchange_weak(current, next));
  return true;
}

std::uint64_t ConnectionList::add(std::weak_ptr<Closable> connection,
                                  std::atomic<Activity>* activity) {
  count_.fetch_add(1);
  std::lock_guard<std::mutex> lock(mutex_);
  const std::uint64_t id = next_id_++;
  open_.emplace(id, Entry{std::move(connection), activity});
  return id;
}

void ConnectionList::rebind(std::uint64_t id, std::weak_ptr<Closable> connection,
                            std::atomic<Activity>* activity) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = open_.find(id);
  if (it != open_.end()) {
    it->second = Entry{std::move(connection), activity};
  }
}

void ConnectionList::remove(std::uint64_t id, bool shed) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    open_.erase(id);
  }
  count_.fetch_sub(1);
  if (shed && on_shed) {
    on_shed();
  }
}

bool ConnectionList::shed_oldest(Shed level) {
  std::weak_ptr<Closable> claimed;
  bool found = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& [id, entry] : open_) {
      Activity current = entry.activity->load();
      while (sheddable(current, level) && !found) {
        found = entry.activity->compare_exchange_weak(current, Activity::shed);
      }
      if (found) {
        claimed = entry.connection;
        break;
      }
    }
  }
  if (!found) {
    return false;
  }
  // Outside the lock: the last reference may go here, and the connection
  // then removes itself from the list.
  if (auto connection = claimed.lock()) {
    connection->shut();
  }
  return true;
}

std::vector<std::shared_ptr<Closable>> ConnectionList::open() {
  std::vector<std::weak_ptr<Closable>> weak;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    weak.reserve(open_.size());
    for (const auto& [id, entry] : open_) {
      weak.push_back(entry.connection);
    }
  }
  std::vector<std::shared_ptr<Closable>> out;
  out.reserve(weak.size());
  for (const auto& connection : weak) {
    if (auto locked = connection.lock()) {
      out.push_back(std::move(locked));
    }
  }
  return out;
}

}  // namespace mimrest::beast::detail
