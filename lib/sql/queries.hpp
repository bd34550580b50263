// Internal: statements several parts of the backend share, run inside their
// read or write transactions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "mimrest/backend/archive.hpp"
#include "mimrest/backend/event_log.hpp"
#include "mimrest/backend/muc_light.hpp"
#include "mimrest/jid.hpp"
#include "sql/connection.hpp"

namespace mimrest::sql::detail {

/// Archive row kinds.
enum class RowKind : std::int64_t { sent = 0, received = 1, room = 2 };

/// The number of a JID the database knows, if it knows it.
std::optional<std::int64_t> find_jid(Connection& db, const std::string& jid);
/// The number of a JID, recorded when new with its stream counter (write
/// transactions only).
std::int64_t intern_jid(Connection& db, const std::string& jid);
/// Creates the stream counter of a JID number unless it exists.
void create_stream(Connection& db, std::int64_t id);
/// Whether `user` (bare) has an account.
bool account_exists(Connection& db, const std::string& user);

/// Archives one row (queued: answered with the commit).
void insert_row(Connection& db, std::uint64_t seq, std::int64_t owner,
                std::optional<std::int64_t> peer, RowKind kind, const std::string& stanza);

/// What `user`'s stream held after `after` and up to `up_to`: the rows
/// received in the user's one-to-one archive and those of the rooms the user
/// occupies now, oldest first, at most `limit`. Run in one snapshot.
std::vector<LoggedEvent> read_events(Connection& db, std::int64_t user, std::uint64_t after,
                                     std::uint64_t up_to, std::size_t limit);

/// The highest sequence handed out (0 when none).
std::uint64_t last_sequence(Connection& db);

/// The rows of `owner` strictly between the bounds, optionally only those
/// exchanged with `peer`: the newest `limit` (or the oldest with `after`),
/// oldest first.
std::vector<ArchivedMessage> read_rows(Connection& db, const std::string& owner,
                                       const std::optional<std::string>& peer,
                                       std::optional<std::int64_t> before_us,
                                       std::optional<std::int64_t> after_us, std::size_t limit);

struct RoomRow {
  std::int64_t id = 0;   ///< mimrest_rooms.id
  std::int64_t jid = 0;  ///< the room JID's number (owner of its archive rows)
};
std::optional<RoomRow> find_room(Connection& db, const std::string& room);

struct OccupantRow {
  std::int64_t member = 0;
  std::string jid;
  Affiliation affiliation = Affiliation::member;
  std::int64_t position = 0;
};
/// In joining order.
std::vector<OccupantRow> room_occupants(Connection& db, std::int64_t room_id);

/// A prepared JID from the database (stored prepared); throws DbError when
/// it does not parse.
Jid stored_jid(const std::string& text);

}  // namespace mimrest::sql::detail
