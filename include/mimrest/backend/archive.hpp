// The one-to-one message archive (MAM): the asynchronous interface and its
// synchronous base.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "mimrest/backend/caller.hpp"
#include "mimrest/backend/error.hpp"
#include "mimrest/backend/sync.hpp"
#include "mimrest/completion.hpp"
#include "mimrest/expected.hpp"
#include "mimrest/export.hpp"
#include "mimrest/jid.hpp"

namespace mimrest {

/// One archived message.
struct MIMREST_EXPORT ArchivedMessage {
  std::string archive_id;     ///< unique within its archive; opaque (see ArchiveQuery)
  std::int64_t timestamp_us;  ///< when it was archived, microseconds since epoch
  std::string stanza_xml;     ///< the <message/> as archived
};

/// Which messages of a user's one-to-one archive a read returns, oldest
/// first: those strictly between the lower and the upper bound (each
/// optional); without a lower bound the NEWEST `limit` of them, with one the
/// OLDEST `limit` (forward paging).
///
/// A bound is a time (`before_us`, `after_us`) and may also name a message:
/// `before_id` / `after_id` are the archive_id of a message this archive
/// returned earlier, and then the bound is that message's place in the
/// archive rather than its time, so that paging from one page to the next
/// neither skips nor repeats messages that share a timestamp (an archive that
/// stores whole seconds has many). The Api sends an id only together with the
/// time of that message, so an archive that no longer knows the id (or does
/// not use ids) bounds that side by the time.
struct MIMREST_EXPORT ArchiveQuery {
  Caller owner;                               ///< whose archive (the caller)
  std::optional<Jid> with;                    ///< only messages exchanged with this bare JID
  std::optional<std::int64_t> before_us;      ///< only messages strictly older
  std::optional<std::int64_t> after_us;       ///< only messages strictly newer
  std::size_t limit = 50;                     ///< at most this many (the host may cap it)
  std::optional<std::string> before_id = {};  ///< only messages archived before this one
  std::optional<std::string> after_id = {};   ///< only messages archived after this one
};

using ArchiveResult = Expected<std::vector<ArchivedMessage>, Failure>;

/// Reads users' archives. The operation finishes through its Completion
/// (completion.hpp): exactly once, inline or later, from any thread. The query
/// is valid only during the call. Called concurrently from many threads.
class MIMREST_EXPORT MessageArchive {
 public:
  virtual ~MessageArchive() = default;
  virtual void async_messages(const ArchiveQuery& query, Completion<ArchiveResult> done) = 0;
};

/// For an archive that answers at once: override messages(). Calls are
/// serialised by `Mutex` (NullMutex when the function is thread-safe
/// itself); an exception it throws is answered as Failure::internal.
template <class Mutex = std::mutex>
class SyncMessageArchive : public MessageArchive, protected SyncCalls<Mutex> {
 public:
  virtual ArchiveResult messages(const ArchiveQuery& query) = 0;
  void async_messages(const ArchiveQuery& query, Completion<ArchiveResult> done) final {
    this->complete(done, [&] { return messages(query); });
  }
};

}  // namespace mimrest
