// Replaying what a user missed (an optional capability, for resumable event
// streams): the asynchronous interface and its synchronous base.
//
// The backend numbers every archived message - one-to-one rows of every
// user's archive and room rows alike - from ONE increasing sequence, in the
// order the rows become visible (committed), and puts that number on the
// RoutedStanza it delivers live (RoutedStanza::sequence). A stream that saw
// sequence N can then ask for everything after N.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
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

/// One archived message as the user's live stream would have received it.
struct MIMREST_EXPORT LoggedEvent {
  std::uint64_t sequence = 0;
  std::int64_t timestamp_us = 0;  ///< when it was archived
  std::string stanza_xml;         ///< type="chat", or type="groupchat" from room/sender
};

using EventsResult = Expected<std::vector<LoggedEvent>, Failure>;
using SequenceResult = Expected<std::uint64_t, Failure>;

/// Every async_ operation finishes through its Completion (completion.hpp):
/// exactly once, inline or later, from any thread; arguments are valid only
/// during the call. Called concurrently from many threads.
class MIMREST_EXPORT EventLog {
 public:
  virtual ~EventLog() = default;
  /// The messages of `user`'s one-to-one archive and of the archives of the
  /// rooms `user` occupies now, with a sequence greater than `after`, oldest
  /// (lowest sequence) first, at most `limit` of them.
  virtual void async_events_after(const Caller& user, std::uint64_t after, std::size_t limit,
                                  Completion<EventsResult> done) = 0;
  /// The highest sequence handed out so far (0 when none).
  virtual void async_last_sequence(Completion<SequenceResult> done) = 0;
};

/// For an event log that answers at once: override the plain functions. Calls
/// are serialised by `Mutex` (NullMutex when they are thread-safe
/// themselves); an exception one throws is answered as Failure::internal.
template <class Mutex = std::mutex>
class SyncEventLog : public EventLog, protected SyncCalls<Mutex> {
 public:
  virtual EventsResult events_after(const Caller& user, std::uint64_t after, std::size_t limit) = 0;
  virtual SequenceResult last_sequence() = 0;

  void async_events_after(const Caller& user, std::uint64_t after, std::size_t limit,
                          Completion<EventsResult> done) final {
    this->complete(done, [&] { return events_after(user, after, limit); });
  }
  void async_last_sequence(Completion<SequenceResult> done) final {
    this->complete(done, [&] { return last_sequence(); });
  }
};

}  // namespace mimrest
