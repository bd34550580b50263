#include "sql/events.hpp"

#include <limits>
#include <utility>

#include "sql/jobs.hpp"
#include "sql/queries.hpp"

namespace mimrest::sql::detail {

void SqlEventLog::async_events_after(const Caller& user, std::uint64_t after, std::size_t limit,
                                     Completion<EventsResult> done) {
  if (limit == 0) {
    done(EventsResult(std::vector<LoggedEvent>{}));
    return;
  }
  store_.read(read_job<EventsResult>(
      [user = user.bare_string(), after, limit](Connection& db) -> EventsResult {
        auto user_id = find_jid(db, user);
        if (!user_id) {
          return std::vector<LoggedEvent>{};
        }
        return read_events(db, *user_id, after, std::numeric_limits<std::uint64_t>::max(), limit);
      },
      std::move(done), true));
}

void SqlEventLog::async_last_sequence(Completion<SequenceResult> done) {
  store_.read(read_job<SequenceResult>(
      [](Connection& db) -> SequenceResult { return last_sequence(db); }, std::move(done)));
}

}  // namespace mimrest::sql::detail
