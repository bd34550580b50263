// The one-to-one message archive (MAM).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "mimrest/jid.hpp"

namespace mimrest {

/// One archived message.
struct ArchivedMessage {
  std::string archive_id;     ///< unique, increasing with time
  std::int64_t timestamp_us;  ///< when it was archived, microseconds since epoch
  std::string stanza_xml;     ///< the <message/> as archived
};

struct ArchiveQuery {
  Jid owner;                              ///< whose archive (bare JID)
  std::optional<Jid> with;                ///< only messages exchanged with this bare JID
  std::optional<std::int64_t> before_us;  ///< only messages strictly older
  std::size_t limit = 50;                 ///< at most this many (the host may cap it)
};

/// Reads a user's archive. Thread-safe.
class MessageArchive {
 public:
  virtual ~MessageArchive() = default;
  /// The newest `limit` messages matching the query, returned oldest first.
  virtual std::vector<ArchivedMessage> recent_messages(const ArchiveQuery& query) const = 0;
};

}  // namespace mimrest
