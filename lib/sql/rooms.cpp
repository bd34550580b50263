#include "sql/rooms.hpp"

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

#include <pugixml.hpp>

#include "core/detail/archive_bounds.hpp"
#include "core/detail/stanza_xml.hpp"
#include "mimrest/crypto.hpp"
#include "sql/jobs.hpp"

namespace mimrest::sql::detail {

namespace {

constexpr const char* kAffiliationsNs = "urn:xmpp:muclight:0#affiliations";
// Attempts at a fresh random node before giving up (a clash is already
// astronomically unlikely with 128 random bits).
constexpr int kFreshNodeAttempts = 8;

using mimrest::detail::kStanzaParseOptions;
using mimrest::detail::serialize_stanza;

void set_attribute(pugi::xml_node node, const char* name, const std::string& value) {
  auto attribute = node.attribute(name);
  if (!attribute) {
    attribute = node.append_attribute(name);
  }
  attribute.set_value(value.c_str());
}

std::string to_hex(const std::string& bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(bytes.size() * 2);
  for (unsigned char byte : bytes) {
    hex.push_back(digits[byte >> 4]);
    hex.push_back(digits[byte & 0x0f]);
  }
  return hex;
}

using Change = std::pair<std::string, Affiliation>;

/// <message from=room to=room type=groupchat id=..><x xmlns=..#affiliations>
/// <user affiliation=..>jid</user>...</x></message>
std::string affiliation_message(const std::string& room, const std::vector<Change>& changes) {
  pugi::xml_document document;
  auto message = document.append_child("message");
  set_attribute(message, "from", room);
  set_attribute(message, "to", room);
  set_attribute(message, "type", "groupchat");
  set_attribute(message, "id", random_uuid());
  auto x = message.append_child("x");
  set_attribute(x, "xmlns", kAffiliationsNs);
  for (const auto& [user, affiliation] : changes) {
    auto item = x.append_child("user");
    set_attribute(item, "affiliation", std::string(to_string(affiliation)));
    item.append_child(pugi::node_pcdata).set_value(user.c_str());
  }
  return serialize_stanza(document);
}

Unexpected<RoomError> fail(RoomErrorKind kind) {
  return unexpected(RoomError(kind));
}

std::int64_t affiliation_code(Affiliation affiliation) {
  return affiliation == Affiliation::owner ? 0 : 1;
}

/// The room and its occupants when `user` occupies it.
struct Occupied {
  RoomRow room;
  std::vector<OccupantRow> occupants;
  std::size_t self = 0;  ///< index of the user in occupants
};

Expected<Occupied, RoomError> occupied(Connection& db, const std::string& room,
                                       const std::string& user) {
  auto found = find_room(db, room);
  if (!found) {
    return fail(RoomErrorKind::room_not_found);
  }
  Occupied result{*found, room_occupants(db, found->id), 0};
  auto self = std::find_if(result.occupants.begin(), result.occupants.end(),
                           [&](const OccupantRow& o) { return o.jid == user; });
  if (self == result.occupants.end()) {
    return fail(RoomErrorKind::not_occupant);
  }
  result.self = static_cast<std::size_t>(self - result.occupants.begin());
  return result;
}

std::vector<Jid> recipients_of(const std::vector<OccupantRow>& occupants) {
  std::vector<Jid> recipients;
  recipients.reserve(occupants.size());
  for (const auto& occupant : occupants) {
    recipients.push_back(stored_jid(occupant.jid));
  }
  return recipients;
}

/// Archives `stanza` in the room's archive as the next item of the streams
/// of `occupants` (and of `removed`, who hears of it although no longer one
/// of them), and delivers it to them once committed. Returns the sequence.
std::uint64_t broadcast(Connection& db, WriteContext& context, std::int64_t room_jid,
                        const std::vector<OccupantRow>& occupants,
                        const std::optional<std::pair<std::int64_t, Jid>>& removed,
                        std::string stanza) {
  std::vector<std::int64_t> readers;
  std::vector<Jid> users = recipients_of(occupants);
  readers.reserve(occupants.size() + 1);
  for (const auto& occupant : occupants) {
    readers.push_back(occupant.member);
  }
  if (removed) {
    readers.push_back(removed->first);
    users.push_back(removed->second);
  }
  std::vector<std::uint64_t> prevs;
  const auto seq = context.next_sequence(db, room_jid, readers, &prevs);
  insert_row(db, seq, room_jid, std::nullopt, RowKind::room, stanza);
  std::vector<Recipient> recipients;
  recipients.reserve(users.size());
  for (std::size_t i = 0; i < users.size(); ++i) {
    recipients.emplace_back(std::move(users[i]), prevs[i]);
  }
  context.deliver(std::move(recipients), RoutedStanza::make(std::move(stanza), seq));
  return seq;
}

}  // namespace

RoomResult change_affiliation(Connection& db, WriteContext& context, const Hosting& hosting,
                              const std::string& actor, const std::string& room,
                              const std::string& target, Affiliation affiliation) {
  auto found = find_room(db, room);
  if (!found) {
    return fail(RoomErrorKind::room_not_found);
  }
  auto occupants = room_occupants(db, found->id);
  auto acting = std::find_if(occupants.begin(), occupants.end(),
                             [&](const OccupantRow& o) { return o.jid == actor; });
  if (acting == occupants.end()) {
    return fail(RoomErrorKind::not_occupant);
  }
  const bool actor_is_owner = acting->affiliation == Affiliation::owner;
  auto targeted = std::find_if(occupants.begin(), occupants.end(),
                               [&](const OccupantRow& o) { return o.jid == target; });
  std::vector<Change> changes;
  std::optional<std::pair<std::int64_t, Jid>> removed;

  if (affiliation == Affiliation::member) {
    if (!actor_is_owner) {
      return fail(RoomErrorKind::not_allowed);
    }
    if (targeted != occupants.end()) {
      return {};  // already an occupant
    }
    const std::int64_t member = context.jid(db, target);
    const std::int64_t position = occupants.empty() ? 1 : occupants.back().position + 1;
    db.execute(
        "INSERT INTO mimrest_occupants (room, member, affiliation, position) "
        "VALUES ($1, $2, 1, $3)",
        {found->id, member, position});
    occupants.push_back(OccupantRow{member, target, Affiliation::member, position});
    changes.emplace_back(target, Affiliation::member);
  } else if (affiliation == Affiliation::none) {
    if (target != actor && !actor_is_owner) {
      return fail(RoomErrorKind::not_allowed);
    }
    if (targeted == occupants.end()) {
      return {};  // not an occupant: nothing to remove, nothing to tell
    }
    const bool was_owner = targeted->affiliation == Affiliation::owner;
    removed.emplace(targeted->member, stored_jid(target));  // hears it too
    db.execute("DELETE FROM mimrest_occupants WHERE room = $1 AND member = $2",
               {found->id, targeted->member});
    occupants.erase(targeted);
    changes.emplace_back(target, Affiliation::none);
    if (was_owner && !occupants.empty()) {
      // Occupants are in joining order: the first is the longest-standing.
      db.execute("UPDATE mimrest_occupants SET affiliation = $3 WHERE room = $1 AND member = $2",
                 {found->id, occupants.front().member, affiliation_code(Affiliation::owner)});
      occupants.front().affiliation = Affiliation::owner;
      changes.emplace_back(occupants.front().jid, Affiliation::owner);
    }
  } else {
    // Ownership only changes hands when the owner leaves.
    return fail(RoomErrorKind::not_allowed);
  }

  std::string message = affiliation_message(room, changes);
  if (occupants.empty()) {
    // The last occupant left: the room and its archive go; the leaver is told.
    db.execute("DELETE FROM mimrest_archive WHERE owner = $1", {found->jid});
    db.execute("DELETE FROM mimrest_rooms WHERE id = $1", {found->id});
    if (removed) {
      context.notice(std::move(removed->second), message);
    }
    return {};
  }
  auto row = std::make_shared<const std::string>(message);
  const auto seq = broadcast(db, context, found->jid, occupants, removed, std::move(message));
  hosting.observe_room(context, stored_jid(room), stored_jid(actor), seq, row);
  return {};
}

void SqlMucLight::async_service_domain(std::string_view user_domain,
                                       Completion<ServiceDomainResult> done) {
  done(hosting_.service_domain(user_domain));
}

void SqlMucLight::async_create_room(const Caller& owner, const std::optional<Jid>& room,
                                    const RoomConfig& config, Completion<CreateRoomResult> done) {
  const Jid creator = owner.bare();
  const auto service = hosting_.service_domain(creator.domain());
  if (!service) {
    done(fail(RoomErrorKind::room_not_found));
    return;
  }
  if (room) {
    if (room->local().empty() || !room->is_bare()) {
      done(unexpected(RoomError{RoomErrorKind::validation_failed, "id", "not a room JID"}));
      return;
    }
    if (room->domain() != *service) {
      done(fail(RoomErrorKind::not_allowed));
      return;
    }
  }
  std::optional<std::string> wanted;
  if (room) {
    wanted = room->bare_string();
  }
  store_.write(write_job<CreateRoomResult>(
      [creator = creator.bare_string(), wanted](Declaration& declaration) {
        declaration.user(creator);
        if (wanted) {
          declaration.user(*wanted);  // two creations of one name: one after the other
        }
      },
      [creator = creator.bare_string(), wanted, service = *service, config](
          Connection& db, WriteContext& context) -> CreateRoomResult {
        for (int attempt = 0; attempt < kFreshNodeAttempts; ++attempt) {
          std::string candidate;
          if (wanted) {
            candidate = *wanted;
          } else {
            auto generated = Jid::from_parts(to_hex(random_bytes(16)), service);
            if (!generated) {
              return fail(RoomErrorKind::room_not_found);
            }
            candidate = generated->bare_string();
          }
          if (find_room(db, candidate)) {
            if (wanted) {
              return fail(RoomErrorKind::already_exists);
            }
            continue;
          }
          const std::int64_t jid = context.jid(db, candidate);
          Rows inserted = db.query(
              "INSERT INTO mimrest_rooms (jid, name, subject) VALUES ($1, $2, $3) RETURNING id",
              {jid, config.name, config.subject});
          if (!inserted.next()) {
            throw DbError(Failure::internal, "no id for a new room");
          }
          const std::int64_t room_id = inserted.integer(0);
          db.execute(
              "INSERT INTO mimrest_occupants (room, member, affiliation, position) "
              "VALUES ($1, $2, 0, 1)",
              {room_id, context.jid(db, creator)});
          // The creator learns of their ownership, as MongooseIM does;
          // creation itself is not archived.
          context.notice(stored_jid(creator),
                         affiliation_message(candidate, {{creator, Affiliation::owner}}));
          return stored_jid(candidate);
        }
        return fail(RoomErrorKind::already_exists);
      },
      std::move(done)));
}

void SqlMucLight::async_user_rooms(const Caller& user, Completion<UserRoomsResult> done) {
  store_.read(read_job<UserRoomsResult>(
      [member = user.bare_string()](Connection& db) -> UserRoomsResult {
        std::vector<RoomSummary> rooms;
        Rows rows = db.query(
            "SELECT j.jid, r.name, r.subject FROM mimrest_occupants o "
            "JOIN mimrest_rooms r ON r.id = o.room JOIN mimrest_jids j ON j.id = r.jid "
            "WHERE o.member = (SELECT id FROM mimrest_jids WHERE jid = $1) ORDER BY r.id",
            {member});
        while (rows.next()) {
          rooms.push_back(
              RoomSummary{stored_jid(rows.text(0)), RoomConfig{rows.text(1), rows.text(2)}});
        }
        return rooms;
      },
      std::move(done)));
}

void SqlMucLight::async_room_info(const Caller& user, const Jid& room,
                                  Completion<RoomInfoResult> done) {
  store_.read(read_job<RoomInfoResult>(
      [member = user.bare_string(), room = room.bare()](Connection& db) -> RoomInfoResult {
        auto found = occupied(db, room.bare_string(), member);
        if (!found) {
          return unexpected(found.error());
        }
        RoomInfo info{room, {}, {}};
        Rows rows =
            db.query("SELECT name, subject FROM mimrest_rooms WHERE id = $1", {found->room.id});
        if (rows.next()) {
          info.config = RoomConfig{rows.text(0), rows.text(1)};
        }
        for (int pass = 0; pass < 2; ++pass) {
          const Affiliation wanted = pass == 0 ? Affiliation::owner : Affiliation::member;
          for (const auto& occupant : found->occupants) {
            if (occupant.affiliation == wanted) {
              info.occupants.push_back(RoomOccupant{stored_jid(occupant.jid), wanted});
            }
          }
        }
        return info;
      },
      std::move(done), true));
}

void SqlMucLight::async_set_config(const Caller& user, const Jid& room, const RoomConfig& config,
                                   Completion<RoomResult> done) {
  const bool all_can_configure = hosting_.config().all_can_configure;
  store_.write(write_job<RoomResult>(
      [room = room.bare_string()](Declaration& declaration) { declaration.room(room); },
      [member = user.bare_string(), room = room.bare_string(), config, all_can_configure](
          Connection& db, WriteContext&) -> RoomResult {
        auto found = occupied(db, room, member);
        if (!found) {
          return unexpected(found.error());
        }
        if (found->occupants[found->self].affiliation != Affiliation::owner && !all_can_configure) {
          return fail(RoomErrorKind::not_allowed);
        }
        db.execute("UPDATE mimrest_rooms SET name = $2, subject = $3 WHERE id = $1",
                   {found->room.id, config.name, config.subject});
        return {};
      },
      std::move(done)));
}

void SqlMucLight::async_set_affiliation(const Caller& actor, const Jid& room, const Jid& target,
                                        Affiliation affiliation, Completion<RoomResult> done) {
  store_.write(write_job<RoomResult>(
      [room = room.bare_string(), target = target.bare_string(),
       affiliation](Declaration& declaration) {
        declaration.room(room);
        if (affiliation == Affiliation::member) {
          declaration.user(target);
        } else {
          declaration.existing(target);
        }
      },
      [actor = actor.bare_string(), room = room.bare_string(), target = target.bare_string(),
       affiliation, &hosting = hosting_](Connection& db, WriteContext& context) -> RoomResult {
        return change_affiliation(db, context, hosting, actor, room, target, affiliation);
      },
      std::move(done)));
}

void SqlMucLight::async_send_message(const Caller& sender, const Jid& room, std::string stanza_xml,
                                     Completion<RoomResult> done) {
  const Jid sender_jid = sender.bare();
  const Jid room_jid = room.bare();
  pugi::xml_document document;
  const auto parsed =
      document.load_buffer(stanza_xml.data(), stanza_xml.size(), kStanzaParseOptions);
  auto message = document.document_element();
  if (!parsed || std::string_view(message.name()) != "message") {
    done(unexpected(RoomError{RoomErrorKind::validation_failed, "stanza", "not a message stanza"}));
    return;
  }
  // MUC Light names the sender in the resource of the room's address.
  set_attribute(message, "from", room_jid.bare_string() + "/" + sender_jid.bare_string());
  auto archived = std::make_shared<const std::string>(serialize_stanza(document));
  store_.write(write_job<RoomResult>(
      [room = room_jid.bare_string()](Declaration& declaration) { declaration.room(room); },
      [member = sender_jid.bare_string(), room = room_jid.bare_string(), archived, sender_jid,
       room_jid, &hosting = hosting_](Connection& db, WriteContext& context) -> RoomResult {
        auto found = occupied(db, room, member);
        if (!found) {
          return unexpected(found.error());
        }
        const auto seq =
            broadcast(db, context, found->room.jid, found->occupants, std::nullopt, *archived);
        hosting.observe_room(context, room_jid, sender_jid, seq, archived);
        return {};
      },
      std::move(done)));
}

void SqlMucLight::async_messages(const RoomArchiveQuery& query,
                                 Completion<RoomMessagesResult> done) {
  const std::size_t limit = std::min(query.limit, hosting_.config().max_result_limit);
  store_.read(read_job<RoomMessagesResult>(
      [member = query.user.bare_string(), room = query.room.bare_string(),
       before = mimrest::detail::upper_bound_us(query),
       after = mimrest::detail::lower_bound_us(query),
       limit](Connection& db) -> RoomMessagesResult {
        auto found = occupied(db, room, member);
        if (!found) {
          return unexpected(found.error());
        }
        return read_rows(db, room, std::nullopt, before, after, limit);
      },
      std::move(done), true));
}

}  // namespace mimrest::sql::detail
