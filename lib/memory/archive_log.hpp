// Internal: one message archive (a user's or a room's) with MAM-like paging.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "mimrest/backend/archive.hpp"
#include "mimrest/jid.hpp"

namespace mimrest::memory::detail {

/// Rows in archiving order. Not synchronized: its owner locks around it.
class ArchiveLog {
 public:
  /// Archives `stanza_xml` at max(now_us, last timestamp + 1), so timestamps
  /// are unique and strictly increasing; the id is that timestamp in decimal.
  const ArchivedMessage& append(std::int64_t now_us, std::optional<Jid> with,
                                std::string stanza_xml);
  /// The newest `limit` rows exchanged with `with` (bare compare; all when
  /// nullopt) strictly older than `before_us`, oldest first.
  std::vector<ArchivedMessage> recent(const std::optional<Jid>& with,
                                      std::optional<std::int64_t> before_us,
                                      std::size_t limit) const;
  std::size_t size() const noexcept { return rows_.size(); }

 private:
  struct Row {
    ArchivedMessage message;
    std::optional<Jid> with;  // bare
  };
  std::vector<Row> rows_;
};

}  // namespace mimrest::memory::detail
