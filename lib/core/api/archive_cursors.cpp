#include "core/api/archive_cursors.hpp"

#include <iterator>
#include <utility>

namespace mimrest::detail {

std::string ArchiveCursors::key(std::string_view user, std::string_view archive, End end,
                                std::int64_t timestamp_ms) {
  // Newlines cannot occur in a JID; the archive names are the core's own.
  std::string text(user);
  text += '\n';
  text += archive;
  text += end == End::oldest ? "\nb" : "\na";
  text += std::to_string(timestamp_ms);
  return text;
}

void ArchiveCursors::remember(std::string_view user, std::string_view archive, End end,
                              std::int64_t timestamp_ms, std::string_view id) {
  if (capacity_ == 0) {
    return;
  }
  std::string entry_key = key(user, archive, end, timestamp_ms);
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = index_.find(entry_key);
  if (found != index_.end()) {
    found->second->id.assign(id);
    order_.splice(order_.end(), order_, found->second);
    return;
  }
  order_.push_back(Entry{std::move(entry_key), std::string(id)});
  auto last = std::prev(order_.end());
  index_.emplace(last->key, last);
  if (order_.size() > capacity_) {
    index_.erase(order_.front().key);
    order_.pop_front();
  }
}

std::optional<std::string> ArchiveCursors::find(std::string_view user, std::string_view archive,
                                                End end, std::int64_t timestamp_ms) {
  if (capacity_ == 0) {
    return std::nullopt;
  }
  const std::string entry_key = key(user, archive, end, timestamp_ms);
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = index_.find(entry_key);
  if (found == index_.end()) {
    return std::nullopt;
  }
  order_.splice(order_.end(), order_, found->second);
  return found->second->id;
}

std::size_t ArchiveCursors::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return order_.size();
}

}  // namespace mimrest::detail
