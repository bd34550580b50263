#include "sql/queries.hpp"

#include <algorithm>
#include <limits>

namespace mimrest::sql::detail {

std::optional<std::int64_t> find_jid(Connection& db, const std::string& jid) {
  Rows rows = db.query("SELECT id FROM mimrest_jids WHERE jid = $1", {jid});
  if (!rows.next()) {
    return std::nullopt;
  }
  return rows.integer(0);
}

std::int64_t intern_jid(Connection& db, const std::string& jid) {
  if (auto id = find_jid(db, jid)) {
    return *id;
  }
  std::optional<std::int64_t> created;
  {
    // Another process may record it at the same time: then this one waits
    // for it (PostgreSQL) and finds it.
    Rows rows = db.query(
        "INSERT INTO mimrest_jids (jid) VALUES ($1) ON CONFLICT (jid) DO NOTHING RETURNING id",
        {jid});
    if (rows.next()) {
      created = rows.integer(0);
    }
  }
  if (!created) {
    created = find_jid(db, jid);
    if (!created) {
      throw DbError(Failure::internal, "no id for a new JID");
    }
  }
  create_stream(db, *created);
  return *created;
}

void create_stream(Connection& db, std::int64_t id) {
  db.queue(
      "INSERT INTO mimrest_streams (owner, last, pushed) VALUES ($1, 0, 0) "
      "ON CONFLICT (owner) DO NOTHING",
      {id});
}

bool account_exists(Connection& db, const std::string& user) {
  return db.integer_or(
             "SELECT count(*) FROM mimrest_users WHERE jid = "
             "(SELECT id FROM mimrest_jids WHERE jid = $1)",
             {user}, 0) > 0;
}

void insert_row(Connection& db, std::uint64_t seq, std::int64_t owner,
                std::optional<std::int64_t> peer, RowKind kind, const std::string& stanza) {
  db.queue(
      "INSERT INTO mimrest_archive (seq, owner, peer, kind, stanza) VALUES ($1, $2, $3, $4, $5)",
      {static_cast<std::int64_t>(seq), owner, peer ? Param(*peer) : Param(),
       static_cast<std::int64_t>(kind), stanza});
}

std::vector<ArchivedMessage> read_rows(Connection& db, const std::string& owner,
                                       const std::optional<std::string>& peer,
                                       std::optional<std::int64_t> before_us,
                                       std::optional<std::int64_t> after_us, std::size_t limit) {
  std::vector<ArchivedMessage> result;
  if (limit == 0) {
    return result;
  }
  const std::int64_t after = after_us.value_or(std::numeric_limits<std::int64_t>::min());
  const std::int64_t before = before_us.value_or(std::numeric_limits<std::int64_t>::max());
  const auto capped = static_cast<std::int64_t>(std::min<std::size_t>(
      limit, static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max())));
  // Forward paging (after) reads the oldest rows; otherwise the newest.
  const bool forward = after_us.has_value();
  std::string_view sql;
  if (peer) {
    sql = forward ? "SELECT seq, stanza FROM mimrest_archive WHERE owner = "
                    "(SELECT id FROM mimrest_jids WHERE jid = $1) AND peer = "
                    "(SELECT id FROM mimrest_jids WHERE jid = $5) AND seq > $2 AND seq < $3 "
                    "ORDER BY seq LIMIT $4"
                  : "SELECT seq, stanza FROM mimrest_archive WHERE owner = "
                    "(SELECT id FROM mimrest_jids WHERE jid = $1) AND peer = "
                    "(SELECT id FROM mimrest_jids WHERE jid = $5) AND seq > $2 AND seq < $3 "
                    "ORDER BY seq DESC LIMIT $4";
  } else {
    sql = forward ? "SELECT seq, stanza FROM mimrest_archive WHERE owner = "
                    "(SELECT id FROM mimrest_jids WHERE jid = $1) AND seq > $2 AND seq < $3 "
                    "ORDER BY seq LIMIT $4"
                  : "SELECT seq, stanza FROM mimrest_archive WHERE owner = "
                    "(SELECT id FROM mimrest_jids WHERE jid = $1) AND seq > $2 AND seq < $3 "
                    "ORDER BY seq DESC LIMIT $4";
  }
  Rows rows = peer ? db.query(sql, {owner, after, before, capped, *peer})
                   : db.query(sql, {owner, after, before, capped});
  while (rows.next()) {
    const std::int64_t seq = rows.integer(0);
    result.push_back(ArchivedMessage{std::to_string(seq), seq, rows.text(1)});
  }
  if (!forward) {
    std::reverse(result.begin(), result.end());
  }
  return result;
}

std::optional<RoomRow> find_room(Connection& db, const std::string& room) {
  Rows rows = db.query(
      "SELECT r.id, r.jid FROM mimrest_rooms r JOIN mimrest_jids j ON j.id = r.jid "
      "WHERE j.jid = $1",
      {room});
  if (!rows.next()) {
    return std::nullopt;
  }
  return RoomRow{rows.integer(0), rows.integer(1)};
}

std::vector<OccupantRow> room_occupants(Connection& db, std::int64_t room_id) {
  std::vector<OccupantRow> result;
  Rows rows = db.query(
      "SELECT o.member, j.jid, o.affiliation, o.position FROM mimrest_occupants o "
      "JOIN mimrest_jids j ON j.id = o.member WHERE o.room = $1 ORDER BY o.position",
      {room_id});
  while (rows.next()) {
    result.push_back(OccupantRow{rows.integer(0), rows.text(1),
                                 rows.integer(2) == 0 ? Affiliation::owner : Affiliation::member,
                                 rows.integer(3)});
  }
  return result;
}

std::vector<LoggedEvent> read_events(Connection& db, std::int64_t user, std::uint64_t after,
                                     std::uint64_t up_to, std::size_t limit) {
  std::vector<LoggedEvent> events;
  constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  const auto from = static_cast<std::int64_t>(std::min(after, kMax));
  const auto to = static_cast<std::int64_t>(std::min(up_to, kMax));
  const auto count =
      static_cast<std::int64_t>(std::min<std::size_t>(limit, static_cast<std::size_t>(kMax)));
  auto collect = [&events](Rows rows) {
    while (rows.next()) {
      events.push_back(
          LoggedEvent{static_cast<std::uint64_t>(rows.integer(0)), rows.integer(0), rows.text(1)});
    }
  };
  // Each archive on its own, at most `limit` rows each: the primary key
  // (owner, seq) answers every one; then merged.
  collect(
      db.query("SELECT seq, stanza FROM mimrest_archive WHERE owner = $1 AND kind = 1 "
               "AND seq > $2 AND seq <= $3 ORDER BY seq LIMIT $4",
               {user, from, to, count}));
  std::vector<std::int64_t> rooms;
  {
    Rows rows = db.query(
        "SELECT r.jid FROM mimrest_occupants o JOIN mimrest_rooms r "
        "ON r.id = o.room WHERE o.member = $1",
        {user});
    while (rows.next()) {
      rooms.push_back(rows.integer(0));
    }
  }
  for (const std::int64_t room : rooms) {
    collect(
        db.query("SELECT seq, stanza FROM mimrest_archive WHERE owner = $1 AND seq > $2 "
                 "AND seq <= $3 ORDER BY seq LIMIT $4",
                 {room, from, to, count}));
  }
  std::sort(events.begin(), events.end(),
            [](const LoggedEvent& a, const LoggedEvent& b) { return a.sequence < b.sequence; });
  if (events.size() > limit) {
    events.resize(limit);
  }
  return events;
}

std::uint64_t last_sequence(Connection& db) {
  return static_cast<std::uint64_t>(db.integer_or("SELECT max(last) FROM mimrest_streams", {}, 0));
}

Jid stored_jid(const std::string& text) {
  auto parsed = Jid::parse(text);
  if (!parsed) {
    throw DbError(Failure::internal, "stored JID does not parse: " + text);
  }
  return std::move(parsed.value());
}

}  // namespace mimrest::sql::detail
