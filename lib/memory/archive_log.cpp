#include "memory/archive_log.hpp"

#include <algorithm>
#include <utility>

namespace mimrest::memory::detail {

std::uint64_t ArchiveLog::append(std::int64_t now_us, std::uint64_t sequence,
                                 std::optional<Jid> with, std::string stanza_xml, bool pushed) {
  std::int64_t timestamp = now_us;
  if (!rows_.empty()) {
    timestamp = std::max(now_us, rows_.back().message.timestamp_us + 1);
  }
  if (with) {
    with = with->bare();
  }
  rows_.push_back(Row{ArchivedMessage{std::to_string(timestamp), timestamp, std::move(stanza_xml)},
                      sequence, std::move(with), pushed});
  return sequence;
}

std::vector<ArchivedMessage> ArchiveLog::range(const std::optional<Jid>& with,
                                               std::optional<std::int64_t> after_us,
                                               std::optional<std::int64_t> before_us,
                                               std::size_t limit) const {
  std::vector<ArchivedMessage> result;
  if (limit == 0) {
    return result;
  }
  std::optional<Jid> bare_with;
  if (with) {
    bare_with = with->bare();
  }
  auto matches = [&](const Row& row) {
    return !bare_with || (row.with && *row.with == *bare_with);
  };
  // Rows are sorted by timestamp: find the window with binary searches.
  auto begin = rows_.begin();
  auto end = rows_.end();
  if (after_us) {
    begin = std::upper_bound(
        rows_.begin(), rows_.end(), *after_us,
        [](std::int64_t after, const Row& row) { return after < row.message.timestamp_us; });
  }
  if (before_us) {
    end = std::lower_bound(begin, rows_.end(), *before_us, [](const Row& row, std::int64_t before) {
      return row.message.timestamp_us < before;
    });
  }
  if (begin >= end) {
    return result;
  }
  if (after_us) {
    // Forward paging: the oldest `limit` after the cursor.
    for (auto it = begin; it != end && result.size() < limit; ++it) {
      if (matches(*it)) {
        result.push_back(it->message);
      }
    }
    return result;
  }
  for (auto it = end; it != begin && result.size() < limit;) {
    --it;
    if (matches(*it)) {
      result.push_back(it->message);
    }
  }
  std::reverse(result.begin(), result.end());
  return result;
}

void ArchiveLog::events_between(std::uint64_t after, std::uint64_t up_to,
                                std::vector<LoggedEvent>& out) const {
  // Sequences grow along the log: start at the first row past `after`.
  auto it =
      std::upper_bound(rows_.begin(), rows_.end(), after,
                       [](std::uint64_t value, const Row& row) { return value < row.sequence; });
  for (; it != rows_.end() && it->sequence <= up_to; ++it) {
    if (!it->pushed) {
      continue;
    }
    out.push_back(LoggedEvent{it->sequence, it->message.timestamp_us, it->message.stanza_xml});
  }
}

}  // namespace mimrest::memory::detail
