#include "memory/muc_light_store.hpp"

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

#include <pugixml.hpp>

#include "core/detail/archive_bounds.hpp"
#include "core/detail/stanza_xml.hpp"
#include "mimrest/crypto.hpp"

namespace mimrest::memory::detail {

namespace {

constexpr const char* affiliations_ns = "urn:xmpp:muclight:0#affiliations";
// Attempts at a fresh random node before giving up (a clash is already
// astronomically unlikely with 128 random bits).
constexpr int fresh_node_attempts = 8;

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

/// Prepared form of a domain, or the text as given when it is not one.
std::string prepare_domain(std::string_view domain) {
  auto parsed = Jid::parse(domain);
  if (parsed && parsed->local().empty() && parsed->is_bare()) {
    return parsed->domain();
  }
  return std::string(domain);
}

using Change = std::pair<Jid, Affiliation>;

/// <message from=room to=room type=groupchat id=..><x xmlns=..#affiliations>
/// <user affiliation=..>jid</user>...</x></message>
void build_affiliation_message(pugi::xml_document& document, const Jid& room,
                               const std::vector<Change>& changes) {
  auto message = document.append_child("message");
  const std::string room_jid = room.bare_string();
  set_attribute(message, "from", room_jid);
  set_attribute(message, "to", room_jid);
  set_attribute(message, "type", "groupchat");
  set_attribute(message, "id", random_uuid());
  auto x = message.append_child("x");
  set_attribute(x, "xmlns", affiliations_ns);
  for (const auto& [user, affiliation] : changes) {
    auto item = x.append_child("user");
    set_attribute(item, "affiliation", std::string(to_string(affiliation)));
    item.append_child(pugi::node_pcdata).set_value(user.bare_string().c_str());
  }
}

/// Delivers one stanza to every recipient's sessions. Runs with no lock held.
void deliver_to(const std::string& xml, std::uint64_t sequence,
                const std::vector<std::pair<Jid, DeliveryList>>& recipients) {
  auto stanza = RoutedStanza::make(xml, sequence);
  for (const auto& [user, sessions] : recipients) {
    sessions.deliver(stanza);
  }
}

Unexpected<RoomError> fail(RoomErrorKind kind) {
  return unexpected(RoomError{kind, {}, {}});
}

bool is_affiliated(const std::vector<RoomOccupant>& occupants, const Jid& user) {
  return std::any_of(occupants.begin(), occupants.end(),
                     [&](const RoomOccupant& occupant) { return occupant.user == user; });
}

// Narrows a find_room() result to rooms `user` (bare) occupies: reading or
// posting to a room needs an affiliation.
template <typename RoomPtr>
Expected<RoomPtr, RoomError> occupied_by(Expected<RoomPtr, RoomError> found, const Jid& user) {
  if (found && !is_affiliated((*found)->occupants, user)) {
    return fail(RoomErrorKind::not_occupant);
  }
  return found;
}

}  // namespace

MucLightStore::MucLightStore(MucLightOptions options, const UserDirectory& users, Clock now_us,
                             const SessionRegistry& sessions, Sequencer& sequencer,
                             std::vector<std::shared_ptr<MessageObserver>> observers)
    : options_(std::move(options)),
      users_(users),
      now_us_(std::move(now_us)),
      sessions_(sessions),
      sequencer_(sequencer),
      observers_(std::move(observers)) {}

ServiceDomainResult MucLightStore::service_domain(std::string_view user_domain) {
  return service_of(user_domain);
}

void MucLightStore::tell_observers(const Jid& room, const Jid& sender,
                                   const ArchivedMessage& message) const {
  for (const auto& observer : observers_) {
    observer->room_archived(room, sender, message);
  }
}

std::optional<std::string> MucLightStore::service_of(std::string_view user_domain) const {
  if (!options_.enabled) {
    return std::nullopt;
  }
  const std::string domain = prepare_domain(user_domain);
  if (!users_.is_local_domain(domain)) {
    return std::nullopt;
  }
  return muc_light_service(options_.host_pattern, domain);
}

Expected<MucLightStore::Room*, RoomError> MucLightStore::find_room(const Jid& room) {
  auto it = rooms_.find(room.bare());
  if (it == rooms_.end()) {
    return fail(RoomErrorKind::room_not_found);
  }
  return &it->second;
}

Expected<const MucLightStore::Room*, RoomError> MucLightStore::find_room(const Jid& room) const {
  auto it = rooms_.find(room.bare());
  if (it == rooms_.end()) {
    return fail(RoomErrorKind::room_not_found);
  }
  return &it->second;
}

void MucLightStore::add_recipient(Recipients& recipients, const Jid& user) const {
  recipients.emplace_back(user, sessions_.sessions_of(user));
}

CreateRoomResult MucLightStore::create_room(const Caller& owner, const std::optional<Jid>& room,
                                            const RoomConfig& config) {
  const Jid creator = owner.bare();
  const auto service = service_of(creator.domain());
  if (!service) {
    return fail(RoomErrorKind::room_not_found);
  }
  if (room) {
    if (room->local().empty() || !room->is_bare()) {
      return unexpected(RoomError{RoomErrorKind::validation_failed, "id", "not a room JID"});
    }
    if (room->domain() != *service) {
      return fail(RoomErrorKind::not_allowed);
    }
  }

  Recipients recipients;
  std::optional<Jid> created;
  {
    std::lock_guard lock(mutex_);
    for (int attempt = 0; attempt < fresh_node_attempts && !created; ++attempt) {
      std::optional<Jid> candidate = room;
      if (!candidate) {
        auto generated = Jid::from_parts(to_hex(random_bytes(16)), *service);
        if (!generated) {
          return fail(RoomErrorKind::room_not_found);
        }
        candidate = std::move(*generated);
      }
      Room fresh;
      fresh.created = next_created_;
      fresh.config = config;
      fresh.occupants.push_back(RoomOccupant{creator, Affiliation::owner});
      if (rooms_.try_emplace(*candidate, std::move(fresh)).second) {
        ++next_created_;
        created = std::move(candidate);
      } else if (room) {
        return fail(RoomErrorKind::already_exists);
      }
    }
    if (!created) {
      return fail(RoomErrorKind::already_exists);
    }
    add_recipient(recipients, creator);
  }
  // The creator learns of their ownership, as MongooseIM does; creation itself
  // is not archived.
  pugi::xml_document notice;
  build_affiliation_message(notice, *created, {{creator, Affiliation::owner}});
  deliver_to(serialize_stanza(notice), 0, recipients);
  return *created;
}

UserRoomsResult MucLightStore::user_rooms(const Caller& user) {
  const Jid member = user.bare();
  std::vector<std::pair<std::uint64_t, RoomSummary>> found;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [jid, room] : rooms_) {
      if (is_affiliated(room.occupants, member)) {
        found.push_back({room.created, RoomSummary{jid, room.config}});
      }
    }
  }
  std::sort(found.begin(), found.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<RoomSummary> summaries;
  summaries.reserve(found.size());
  for (auto& entry : found) {
    summaries.push_back(std::move(entry.second));
  }
  return summaries;
}

RoomInfoResult MucLightStore::room_info(const Caller& user, const Jid& room) {
  std::lock_guard lock(mutex_);
  auto found = occupied_by(find_room(room), user.bare());
  if (!found) {
    return unexpected(found.error());
  }
  const Room& state = **found;
  RoomInfo info{room.bare(), state.config, {}};
  info.occupants.reserve(state.occupants.size());
  for (const auto& occupant : state.occupants) {
    if (occupant.affiliation == Affiliation::owner) {
      info.occupants.push_back(occupant);
    }
  }
  for (const auto& occupant : state.occupants) {
    if (occupant.affiliation != Affiliation::owner) {
      info.occupants.push_back(occupant);
    }
  }
  return info;
}

RoomResult MucLightStore::set_config(const Caller& user, const Jid& room,
                                     const RoomConfig& config) {
  std::lock_guard lock(mutex_);
  auto found = find_room(room);
  if (!found) {
    return unexpected(found.error());
  }
  Room& state = **found;
  auto occupant = std::find_if(state.occupants.begin(), state.occupants.end(),
                               [&](const RoomOccupant& o) { return o.user == user.bare(); });
  if (occupant == state.occupants.end()) {
    return fail(RoomErrorKind::not_occupant);
  }
  if (occupant->affiliation != Affiliation::owner && !options_.all_can_configure) {
    return fail(RoomErrorKind::not_allowed);
  }
  state.config = config;
  return {};
}

RoomResult MucLightStore::set_affiliation(const Caller& actor, const Jid& room, const Jid& target,
                                          Affiliation affiliation) {
  const Jid actor_jid = actor.bare();
  const Jid target_jid = target.bare();
  const Jid room_jid = room.bare();
  pugi::xml_document broadcast;
  std::string broadcast_xml;
  std::uint64_t sequence = 0;
  std::optional<ArchivedMessage> archived_row;
  Recipients recipients;
  {
    std::lock_guard lock(mutex_);
    auto found = find_room(room_jid);
    if (!found) {
      return unexpected(found.error());
    }
    Room& state = **found;
    auto& occupants = state.occupants;
    auto acting = std::find_if(occupants.begin(), occupants.end(),
                               [&](const RoomOccupant& o) { return o.user == actor_jid; });
    if (acting == occupants.end()) {
      return fail(RoomErrorKind::not_occupant);
    }
    const bool actor_is_owner = acting->affiliation == Affiliation::owner;
    auto targeted = std::find_if(occupants.begin(), occupants.end(),
                                 [&](const RoomOccupant& o) { return o.user == target_jid; });
    std::vector<Change> changes;

    if (affiliation == Affiliation::member) {
      if (!actor_is_owner) {
        return fail(RoomErrorKind::not_allowed);
      }
      if (targeted != occupants.end()) {
        return {};  // already an occupant
      }
      occupants.push_back(RoomOccupant{target_jid, Affiliation::member});
      changes.emplace_back(target_jid, Affiliation::member);
    } else if (affiliation == Affiliation::none) {
      if (target_jid != actor_jid && !actor_is_owner) {
        return fail(RoomErrorKind::not_allowed);
      }
      if (targeted == occupants.end()) {
        return {};  // not an occupant: nothing to remove, nothing to tell
      }
      const bool was_owner = targeted->affiliation == Affiliation::owner;
      occupants.erase(targeted);
      changes.emplace_back(target_jid, Affiliation::none);
      if (was_owner && !occupants.empty()) {
        // Occupants are kept in joining order: the first is the longest-standing.
        occupants.front().affiliation = Affiliation::owner;
        changes.emplace_back(occupants.front().user, Affiliation::owner);
      }
    } else {
      // Ownership only changes hands when the owner leaves.
      return fail(RoomErrorKind::not_allowed);
    }

    build_affiliation_message(broadcast, room_jid, changes);
    broadcast_xml = serialize_stanza(broadcast);
    for (const auto& occupant : occupants) {
      add_recipient(recipients, occupant.user);
    }
    if (affiliation == Affiliation::none) {
      add_recipient(recipients, target_jid);  // the removed user hears it too
    }
    if (occupants.empty()) {
      rooms_.erase(room_jid);  // the last occupant left: the room and its archive go
    } else {
      sequence = state.archive.append(now_us_(), sequencer_.next(), std::nullopt, broadcast_xml);
      archived_row = state.archive.last();
    }
  }
  if (archived_row) {
    tell_observers(room_jid, actor_jid, *archived_row);
  }
  deliver_to(broadcast_xml, sequence, recipients);
  return {};
}

RoomResult MucLightStore::send_message(const Caller& sender, const Jid& room,
                                       std::string stanza_xml) {
  const Jid sender_jid = sender.bare();
  const Jid room_jid = room.bare();
  pugi::xml_document document;
  const auto parsed =
      document.load_buffer(stanza_xml.data(), stanza_xml.size(), kStanzaParseOptions);
  auto message = document.document_element();
  if (!parsed || std::string_view(message.name()) != "message") {
    return unexpected(
        RoomError{RoomErrorKind::validation_failed, "stanza", "not a message stanza"});
  }
  // MUC Light names the sender in the resource of the room's address.
  set_attribute(message, "from", room_jid.bare_string() + "/" + sender_jid.bare_string());
  std::string archived = serialize_stanza(document);

  Recipients recipients;
  std::uint64_t sequence = 0;
  std::optional<ArchivedMessage> archived_row;
  {
    std::lock_guard lock(mutex_);
    auto found = occupied_by(find_room(room_jid), sender_jid);
    if (!found) {
      return unexpected(found.error());
    }
    Room& state = **found;
    sequence = state.archive.append(now_us_(), sequencer_.next(), std::nullopt, archived);
    archived_row = state.archive.last();
    for (const auto& occupant : state.occupants) {
      add_recipient(recipients, occupant.user);
    }
  }
  tell_observers(room_jid, sender_jid, *archived_row);
  // One stanza for every occupant, addressed to the room: converted once.
  deliver_to(archived, sequence, recipients);
  return {};
}

RoomMessagesResult MucLightStore::messages(const RoomArchiveQuery& query) {
  std::lock_guard lock(mutex_);
  auto found = occupied_by(find_room(query.room), query.user.bare());
  if (!found) {
    return unexpected(found.error());
  }
  const Room& state = **found;
  return state.archive.range(std::nullopt, mimrest::detail::lower_bound_us(query),
                             mimrest::detail::upper_bound_us(query),
                             std::min(query.limit, options_.max_result_limit));
}

void MucLightStore::events_between(const Jid& user, std::uint64_t after, std::uint64_t up_to,
                                   std::vector<LoggedEvent>& out) const {
  const Jid member = user.bare();
  std::lock_guard lock(mutex_);
  for (const auto& [jid, room] : rooms_) {
    if (is_affiliated(room.occupants, member)) {
      room.archive.events_between(after, up_to, out);
    }
  }
}

void MucLightStore::leave_all(const Jid& user) {
  const Jid member = user.bare();
  std::vector<Jid> rooms;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [jid, room] : rooms_) {
      if (is_affiliated(room.occupants, member)) {
        rooms.push_back(jid);
      }
    }
  }
  for (const auto& room : rooms) {
    set_affiliation(member, room, member, Affiliation::none);
  }
}

}  // namespace mimrest::memory::detail
