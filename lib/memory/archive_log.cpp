#include "memory/archive_log.hpp"

#include <algorithm>
#include <utility>

namespace mimrest::memory::detail {

const ArchivedMessage& ArchiveLog::append(std::int64_t now_us, std::optional<Jid> with,
                                          std::string stanza_xml) {
  std::int64_t timestamp = now_us;
  if (!rows_.empty()) {
    timestamp = std::max(now_us, rows_.back().message.timestamp_us + 1);
  }
  if (with) {
    with = with->bare();
  }
  rows_.push_back(Row{ArchivedMessage{std::to_string(timestamp), timestamp, std::move(stanza_xml)},
                      std::move(with)});
  return rows_.back().message;
}

std::vector<ArchivedMessage> ArchiveLog::recent(const std::optional<Jid>& with,
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
  // Rows are sorted by timestamp: skip the too-new ones with a binary search,
  // then walk back until enough matched.
  auto end = rows_.end();
  if (before_us) {
    end = std::lower_bound(
        rows_.begin(), rows_.end(), *before_us,
        [](const Row& row, std::int64_t before) { return row.message.timestamp_us < before; });
  }
  for (auto it = end; it != rows_.begin() && result.size() < limit;) {
    --it;
    if (bare_with && (!it->with || *it->with != *bare_with)) {
      continue;
    }
    result.push_back(it->message);
  }
  std::reverse(result.begin(), result.end());
  return result;
}

}  // namespace mimrest::memory::detail
