#include "memory/archive_log.hpp"

#include <algorithm>
#include <utility>

namespace mimrest::memory::detail {

std::uint64_t ArchiveLog::append(std::int64_t now_us, std::uint64_t sequence,
                                 std::optional<Jid> with, std::string stanza_xml, bool pushed) {
  std::int64_t timestamp = now_us;
  if (size_ != 0) {
    timestamp = std::max(now_us, last().timestamp_us + 1);
  }
  if (with) {
    with = with->bare();
  }
  if (size_ % kBlockRows == 0) {
    blocks_.push_back(std::make_unique<std::vector<Row>>());
    blocks_.back()->reserve(kBlockRows);
  }
  blocks_.back()->push_back(
      Row{ArchivedMessage{std::to_string(timestamp), timestamp, std::move(stanza_xml)}, sequence,
          std::move(with), pushed});
  ++size_;
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
  std::size_t begin = 0;
  std::size_t end = size_;
  if (after_us) {
    begin = partition_point(0, size_,
                            [&](const Row& row) { return row.message.timestamp_us <= *after_us; });
  }
  if (before_us) {
    end = partition_point(begin, size_,
                          [&](const Row& row) { return row.message.timestamp_us < *before_us; });
  }
  if (begin >= end) {
    return result;
  }
  if (after_us) {
    // Forward paging: the oldest `limit` after the cursor.
    for (std::size_t i = begin; i != end && result.size() < limit; ++i) {
      if (matches(row(i))) {
        result.push_back(row(i).message);
      }
    }
    return result;
  }
  for (std::size_t i = end; i != begin && result.size() < limit;) {
    --i;
    if (matches(row(i))) {
      result.push_back(row(i).message);
    }
  }
  std::reverse(result.begin(), result.end());
  return result;
}

void ArchiveLog::events_between(std::uint64_t after, std::uint64_t up_to,
                                std::vector<LoggedEvent>& out) const {
  // Sequences grow along the log: start at the first row past `after`.
  for (std::size_t i =
           partition_point(0, size_, [&](const Row& row) { return row.sequence <= after; });
       i != size_ && row(i).sequence <= up_to; ++i) {
    const Row& r = row(i);
    if (r.pushed) {
      out.push_back(LoggedEvent{r.sequence, r.message.timestamp_us, r.message.stanza_xml});
    }
  }
}

}  // namespace mimrest::memory::detail
