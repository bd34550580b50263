// Internal: the event log (resumable event streams) over the archives.
#pragma once

#include "mimrest/backend/event_log.hpp"
#include "sql/store.hpp"

namespace mimrest::sql::detail {

/// A user's events are the rows of their one-to-one archive that they
/// received (what their live stream was sent) and the rows of the rooms they
/// occupy now, by sequence.
class SqlEventLog final : public EventLog {
 public:
  explicit SqlEventLog(Store& store) : store_(store) {}
  void async_events_after(const Caller& user, std::uint64_t after, std::size_t limit,
                          Completion<EventsResult> done) override;
  void async_last_sequence(Completion<SequenceResult> done) override;

 private:
  Store& store_;
};

}  // namespace mimrest::sql::detail
