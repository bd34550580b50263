#include "sql/events.hpp"

#include <algorithm>
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
        std::vector<LoggedEvent> events;
        auto user_id = find_jid(db, user);
        if (!user_id) {
          return events;
        }
        const auto from = static_cast<std::int64_t>(
            std::min<std::uint64_t>(after, std::numeric_limits<std::int64_t>::max()));
        const auto count = static_cast<std::int64_t>(std::min<std::size_t>(
            limit, static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max())));
        auto collect = [&events](Rows rows) {
          while (rows.next()) {
            events.push_back(LoggedEvent{static_cast<std::uint64_t>(rows.integer(0)),
                                         rows.integer(0), rows.text(1)});
          }
        };
        // Each archive on its own, at most `limit` rows each: the
        // index (owner, seq) answers every one; then merged.
        collect(
            db.query("SELECT seq, stanza FROM mimrest_archive WHERE owner = $1 AND kind = 1 "
                     "AND seq > $2 ORDER BY seq LIMIT $3",
                     {*user_id, from, count}));
        std::vector<std::int64_t> rooms;
        {
          Rows rows = db.query(
              "SELECT r.jid FROM mimrest_occupants o JOIN mimrest_rooms r "
              "ON r.id = o.room WHERE o.member = $1",
              {*user_id});
          while (rows.next()) {
            rooms.push_back(rows.integer(0));
          }
        }
        for (const std::int64_t room : rooms) {
          collect(
              db.query("SELECT seq, stanza FROM mimrest_archive WHERE owner = $1 AND seq > $2 "
                       "ORDER BY seq LIMIT $3",
                       {room, from, count}));
        }
        std::sort(events.begin(), events.end(), [](const LoggedEvent& a, const LoggedEvent& b) {
          return a.sequence < b.sequence;
        });
        if (events.size() > limit) {
          events.resize(limit);
        }
        return events;
      },
      std::move(done), true));
}

void SqlEventLog::async_last_sequence(Completion<SequenceResult> done) {
  store_.read(read_job<SequenceResult>(
      [](Connection& db) -> SequenceResult {
        return static_cast<std::uint64_t>(
            db.integer_or("SELECT value FROM mimrest_counters WHERE name = 'sequence'", {}, 0));
      },
      std::move(done)));
}

}  // namespace mimrest::sql::detail
