// The one-to-one message archive (MAM): the asynchronous interface and its
// synchronous base.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "mimrest/backend/failure.hpp"
#include "mimrest/completion.hpp"
#include "mimrest/expected.hpp"
#include "mimrest/jid.hpp"

namespace mimrest {

/// One archived message.
struct ArchivedMessage {
  std::string archive_id;     ///< unique, increasing with time
  std::int64_t timestamp_us;  ///< when it was archived, microseconds since epoch
  std::string stanza_xml;     ///< the <message/> as archived
};

/// Which messages a read returns: those strictly between `after_us` and
/// `before_us` (each bound optional). Without `after_us` the NEWEST `limit` of
/// them, with it the OLDEST `limit` (forward paging); oldest first either way.
struct ArchiveQuery {
  Jid owner;                              ///< whose archive (bare JID)
  std::optional<Jid> with;                ///< only messages exchanged with this bare JID
  std::optional<std::int64_t> before_us;  ///< only messages strictly older
  std::optional<std::int64_t> after_us;   ///< only messages strictly newer
  std::size_t limit = 50;                 ///< at most this many (the host may cap it)
};

using ArchiveResult = Expected<std::vector<ArchivedMessage>, Failure>;

/// Reads users' archives. The operation finishes through its Completion
/// (completion.hpp): exactly once, inline or later, from any thread. The query
/// is valid only during the call. Called concurrently from many threads.
class MessageArchive {
 public:
  virtual ~MessageArchive() = default;
  virtual void async_messages(const ArchiveQuery& query, Completion<ArchiveResult> done) = 0;
};

/// For an archive that answers at once: override messages(); an exception
/// it throws is answered as Failure::internal. Must be thread-safe.
class SyncMessageArchive : public MessageArchive {
 public:
  virtual ArchiveResult messages(const ArchiveQuery& query) = 0;
  void async_messages(const ArchiveQuery& query, Completion<ArchiveResult> done) final;
};

}  // namespace mimrest
