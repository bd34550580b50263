// Internal: the ends of the archive pages the Api served, so that a client
// paging on by a message's timestamp continues right after that message.
//
// The API pages by time (`before`, `after`: milliseconds), and several
// messages may share a millisecond (or, on an archive that stores whole
// seconds, a second): asking for what is strictly older than the oldest
// message of a page would skip the others of its millisecond. The Api
// remembers, per user and archive, which message each served page began
// and ended with; a `before` (`after`) equal to such an end's timestamp is
// then sent to the backend as that message's id as well, and the archive
// continues from the message itself (ArchivePage). Bounded: the least
// recently served ends are forgotten first, and a forgotten end falls back
// to time alone.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace mimrest::detail {

class ArchiveCursors {
 public:
  /// Keeps at most `capacity` ends; 0 keeps none.
  explicit ArchiveCursors(std::size_t capacity) : capacity_(capacity) {}

  enum class End { oldest, newest };

  /// Remembers that a page of `archive` (whose reader is `user`) ended with
  /// the message `id` at `timestamp_ms`.
  void remember(std::string_view user, std::string_view archive, End end, std::int64_t timestamp_ms,
                std::string_view id);
  /// The id of the message a served page of `archive` ended with at
  /// `timestamp_ms`, if one is remembered.
  std::optional<std::string> find(std::string_view user, std::string_view archive, End end,
                                  std::int64_t timestamp_ms);

  std::size_t size() const;

 private:
  static std::string key(std::string_view user, std::string_view archive, End end,
                         std::int64_t timestamp_ms);

  struct Entry {
    std::string key;
    std::string id;
  };
  using Order = std::list<Entry>;  // least recently used first

  const std::size_t capacity_;
  mutable std::mutex mutex_;
  Order order_;
  std::unordered_map<std::string_view, Order::iterator> index_;
};

}  // namespace mimrest::detail
