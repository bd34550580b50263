// The gateway's rooms: MUC Light's API on XEP-0045 rooms, with the user's
// rooms kept as XEP-0402 bookmarks. lib/xmpp/README.md tells what MUC
// cannot express and how the gateway answers then.
#include <algorithm>
#include <memory>
#include <set>
#include <utility>

#include "core/detail/stanza_xml.hpp"
#include "mimrest/crypto.hpp"
#include "xmpp/session_parts.hpp"
#include "xmpp/user_session.hpp"

namespace mimrest::xmpp {

namespace {

constexpr std::string_view kMucNs = "http://jabber.org/protocol/muc";
constexpr std::string_view kMucOwnerNs = "http://jabber.org/protocol/muc#owner";
constexpr std::string_view kMucAdminNs = "http://jabber.org/protocol/muc#admin";
constexpr std::string_view kDiscoInfoNs = "http://jabber.org/protocol/disco#info";
constexpr std::string_view kPubsubNs = "http://jabber.org/protocol/pubsub";
constexpr std::string_view kBookmarksNode = "urn:xmpp:bookmarks:1";
constexpr std::string_view kRoomConfigForm = "http://jabber.org/protocol/muc#roomconfig";
constexpr std::string_view kPublishOptionsForm =
    "http://jabber.org/protocol/pubsub#publish-options";

RoomError room_failure(RoomErrorKind kind) {
  return RoomError(kind);
}

void add_field(pugi::xml_node form, std::string_view var, std::string_view value) {
  pugi::xml_node field = append_element(form, "field");
  field.append_attribute("var").set_value(std::string(var).c_str());
  append_element(field, "value").text().set(std::string(value).c_str());
}

pugi::xml_node submit_form(pugi::xml_node parent, std::string_view form_type) {
  pugi::xml_node form = append_element(parent, "x", kDataNs);
  form.append_attribute("type").set_value("submit");
  pugi::xml_node type = append_element(form, "field");
  type.append_attribute("var").set_value("FORM_TYPE");
  type.append_attribute("type").set_value("hidden");
  append_element(type, "value").text().set(std::string(form_type).c_str());
  return form;
}

/// The value of a form field, or nullopt when the form has no such field.
std::optional<std::string> field_value(pugi::xml_node form, std::string_view var) {
  for (pugi::xml_node field = form.first_child(); field; field = field.next_sibling()) {
    if (std::string_view(field.name()) == "field" &&
        std::string_view(field.attribute("var").value()) == var) {
      return text_of(child_element(field, "value", kDataNs));
    }
  }
  return std::nullopt;
}

bool contains(const std::vector<Jid>& jids, const Jid& jid) {
  return std::find(jids.begin(), jids.end(), jid) != jids.end();
}

/// The status codes of a MUC presence's <x/>.
std::set<int> status_codes(pugi::xml_node x) {
  std::set<int> codes;
  for (pugi::xml_node status = x.first_child(); status; status = status.next_sibling()) {
    if (std::string_view(status.name()) == "status") {
      codes.insert(status.attribute("code").as_int());
    }
  }
  return codes;
}

/// A room error for the condition of a refused entry.
RoomError entry_error(const std::string& condition) {
  // A destroyed room leaves a tombstone on Prosody (muc_tombstones): "gone".
  if (condition == "item-not-found" || condition == "gone") {
    return room_failure(RoomErrorKind::room_not_found);
  }
  return room_failure(RoomErrorKind::not_occupant);  // registration-required, forbidden...
}

bool is_entry_refusal(const std::string& condition) {
  return condition == "item-not-found" || condition == "gone" ||
         condition == "registration-required" || condition == "forbidden" ||
         condition == "not-allowed" || condition == "not-authorized";
}

}  // namespace

bool UserSession::is_room(const Jid& jid) const {
  return service_ && jid.is_bare() && !jid.local().empty() && jid.domain() == *service_;
}

// --- Stanzas from rooms --------------------------------------------------------

bool UserSession::on_room_message(const Stanza& message, const Jid& room, std::string_view type) {
  const std::string id(message.attribute("id"));
  if (type == "error") {
    auto reflection = reflections_.find(id);
    if (reflection != reflections_.end()) {
      const std::string condition =
          error_condition(message.child("error", ns::client), ns::stanzas);
      log("room message refused: " + condition);
      reflection->second(unexpected(is_entry_refusal(condition)
                                        ? entry_error(condition)
                                        : RoomError(RoomErrorKind::not_allowed)));
      reflections_.erase(reflection);
    }
    auto waiters = subject_waiters_.find(room);
    if (waiters != subject_waiters_.end() && id.rfind("subject-", 0) == 0) {
      auto waiting = std::move(waiters->second);
      subject_waiters_.erase(waiters);
      for (auto& waiter : waiting) {
        waiter(false);
      }
    }
    return true;
  }
  if (type != "groupchat") {
    return false;  // an invitation, a private message: not the room's
  }
  auto entry = rooms_.find(room);
  if (entry == rooms_.end()) {
    return true;  // not in it (any more)
  }
  JoinedRoom& joined = *entry->second;
  const bool has_body = static_cast<bool>(message.child("body", ns::client));
  if (pugi::xml_node subject = message.child("subject", ns::client); subject && !has_body) {
    joined.subject = text_of(subject);
    shared_->rooms.set_subject(room, *joined.subject);
    if (joined.joined) {
      joined.complete();  // the subject ends the entry (XEP-0045 7.2.15)
    }
    auto waiters = subject_waiters_.find(room);
    if (waiters != subject_waiters_.end()) {
      auto waiting = std::move(waiters->second);
      subject_waiters_.erase(waiters);
      for (auto& waiter : waiting) {
        waiter(true);
      }
    }
    return true;
  }
  if (message.child("delay", kDelayNs)) {
    return true;  // history, not a live message
  }
  auto sender = Jid::parse(message.attribute("from"));
  if (!sender || sender->resource().empty()) {
    return true;  // the room's own notices (configuration changed...)
  }
  auto reflection = reflections_.find(id);
  if (reflection != reflections_.end()) {
    reflection->second({});
    reflections_.erase(reflection);
  }
  // As MUC Light addresses room messages: the sender's bare JID as the
  // resource, where the room lets occupants see it.
  auto from = Jid::parse(message.attribute("from"));
  auto occupant = from ? joined.occupants.find(from->resource()) : joined.occupants.end();
  if (occupant != joined.occupants.end()) {
    Stanza copy = message;
    copy.set_attribute("from", room.bare_string() + "/" + occupant->second.bare_string());
    deliver(copy.xml());
  } else {
    deliver(message.xml());
  }
  return true;
}

void UserSession::on_room_presence(const Stanza& presence, const Jid& from, std::string_view type) {
  const Jid room = from.bare();
  auto entry = rooms_.find(room);
  if (entry == rooms_.end()) {
    return;
  }
  std::shared_ptr<JoinedRoom> joined = entry->second;
  if (type == "error") {
    if (!joined->joined) {
      const std::string condition =
          error_condition(presence.child("error", ns::client), ns::stanzas);
      rooms_.erase(entry);
      joined->fail(condition.empty() ? "undefined-condition" : condition);
    }
    return;
  }
  pugi::xml_node x = presence.child("x", kMucUserNs);
  const std::set<int> codes = status_codes(x);
  const bool self = codes.count(110) != 0 || from.resource() == user_.bare_string();
  pugi::xml_node item = child_element(x, "item", kMucUserNs);
  if (self) {
    if (type == "unavailable") {
      rooms_.erase(entry);
      joined->fail("gone");
      // Removed from the members (321), banned (301) or the room destroyed:
      // it is not one of the user's rooms any more.
      if (codes.count(321) != 0 || codes.count(301) != 0 ||
          child_element(x, "destroy", kMucUserNs)) {
        remove_bookmark(room);
        shared_->rooms.forget(room);
      }
      return;
    }
    joined->joined = true;
    if (codes.count(201) != 0) {
      joined->created = true;
      joined->subject = "";
      joined->complete();  // a new room: no subject to wait for
    }
    return;
  }
  if (type == "unavailable") {
    joined->occupants.erase(from.resource());
  } else if (auto real = Jid::parse(item.attribute("jid").value())) {
    joined->occupants.insert_or_assign(from.resource(), real->bare());
  }
}

void UserSession::on_invited(const Jid& room) {
  if (known_rooms_.insert(room).second) {
    add_bookmark(room, "", [] {});
  }
  if (streams_.load() > 0) {
    join(room, false, [](Expected<bool, std::string>) {});
  }
}

// --- Entering and leaving ---------------------------------------------------------

void UserSession::join(const Jid& room, bool create,
                       std::function<void(Expected<bool, std::string>)> then) {
  auto entry = rooms_.find(room);
  if (entry != rooms_.end()) {
    if (entry->second->joined && entry->second->waiters.empty()) {
      then(false);
    } else {
      entry->second->waiters.push_back(std::move(then));
    }
    return;
  }
  auto enter = [this, room](std::function<void(Expected<bool, std::string>)> waiter) {
    auto found = rooms_.find(room);
    if (found != rooms_.end()) {  // entered meanwhile by another request
      if (found->second->joined && found->second->waiters.empty()) {
        waiter(false);
      } else {
        found->second->waiters.push_back(std::move(waiter));
      }
      return;
    }
    auto joined = std::make_shared<JoinedRoom>();
    joined->waiters.push_back(std::move(waiter));
    rooms_.insert_or_assign(room, joined);
    Stanza presence("presence");
    presence.set_attribute("to", room.bare_string() + "/" + user_.bare_string());
    pugi::xml_node x = presence.append_child("x", kMucNs);
    append_element(x, "history").append_attribute("maxstanzas").set_value("0");
    client_->send(std::move(presence));
    after(shared_->client.iq_timeout, [this, room, joined] {
      auto current = rooms_.find(room);
      if (!joined->waiters.empty() && current != rooms_.end() && current->second == joined) {
        if (joined->joined) {
          joined->subject = joined->subject.value_or("");
          joined->complete();  // in, though no subject came
        } else {
          rooms_.erase(current);
          joined->fail("remote-server-timeout");
        }
      }
    });
  };
  if (create) {
    enter(std::move(then));
    return;
  }
  // Entering a room that does not exist would create it: ask first.
  room_exists(room,
              [enter, then = std::move(then)](Expected<std::string, IqFailure> exists) mutable {
                if (!exists) {
                  then(unexpected(exists.error().kind == IqFailure::Kind::error_reply
                                      ? exists.error().condition
                                      : std::string("remote-server-timeout")));
                  return;
                }
                enter(std::move(then));
              });
}

void UserSession::leave(const Jid& room) {
  if (rooms_.erase(room) == 0 || !client_) {
    return;
  }
  Stanza presence("presence");
  presence.set_attribute("to", room.bare_string() + "/" + user_.bare_string());
  presence.set_attribute("type", "unavailable");
  client_->send(std::move(presence));
}

void UserSession::join_rooms_for_streams() {
  bookmarks([this, self = shared_from_this()](Expected<std::vector<Bookmark>, IqFailure> marks) {
    std::set<Jid> rooms = known_rooms_;
    if (marks) {
      for (const Bookmark& mark : *marks) {
        rooms.insert(mark.room);
      }
    }
    for (const Jid& room : rooms) {
      if (is_room(room)) {
        join(room, false, [](Expected<bool, std::string>) {});
      }
    }
  });
}

// --- Questions to a room ------------------------------------------------------------

void UserSession::room_exists(const Jid& room,
                              std::function<void(Expected<std::string, IqFailure>)> then) {
  Stanza get("iq");
  get.set_attribute("type", "get");
  get.set_attribute("to", room.bare_string());
  get.append_child("query", kDiscoInfoNs);
  iq(std::move(get), [then = std::move(then)](IqResult info) {
    if (!info) {
      then(unexpected(info.error()));
      return;
    }
    pugi::xml_node query = info->child("query", kDiscoInfoNs);
    pugi::xml_node form = child_element(query, "x", kDataNs);
    std::string name = field_value(form, "muc#roomconfig_roomname").value_or("");
    if (name.empty()) {
      name = child_element(query, "identity", kDiscoInfoNs).attribute("name").value();
    }
    then(std::move(name));
  });
}

void UserSession::affiliations(const Jid& room,
                               std::function<void(Expected<Affiliations, IqFailure>)> then) {
  struct Lists {
    Affiliations found;
    int pending = 2;
    std::optional<IqFailure> failure;
    std::function<void(Expected<Affiliations, IqFailure>)> then;
  };
  auto lists = std::make_shared<Lists>();
  lists->then = std::move(then);
  for (const char* affiliation : {"owner", "member"}) {
    Stanza get("iq");
    get.set_attribute("type", "get");
    get.set_attribute("to", room.bare_string());
    pugi::xml_node item = append_element(get.append_child("query", kMucAdminNs), "item");
    item.append_attribute("affiliation").set_value(affiliation);
    const bool owners = std::string_view(affiliation) == "owner";
    iq(std::move(get), [lists, owners](IqResult answer) {
      if (!answer) {
        lists->failure = answer.error();
      } else {
        pugi::xml_node query = answer->child("query", kMucAdminNs);
        for (pugi::xml_node listed = query.first_child(); listed; listed = listed.next_sibling()) {
          auto jid = Jid::parse(listed.attribute("jid").value());
          if (jid && std::string_view(listed.name()) == "item") {
            (owners ? lists->found.owners : lists->found.members).push_back(jid->bare());
          }
        }
      }
      if (--lists->pending == 0) {
        if (lists->failure) {
          lists->then(unexpected(*lists->failure));
        } else {
          // The server's order is its own (Prosody's is a hash's): by JID,
          // so that every reader sees one order.
          for (auto* list : {&lists->found.owners, &lists->found.members}) {
            std::sort(list->begin(), list->end(),
                      [](const Jid& a, const Jid& b) { return a.bare_string() < b.bare_string(); });
          }
          lists->then(std::move(lists->found));
        }
      }
    });
  }
}

template <class Result>
void UserSession::with_affiliation(const Jid& room, Completion<Result> done,
                                   std::function<void(Affiliation, const Affiliations&)> then) {
  affiliations(
      room, [this, room, done, then = std::move(then)](Expected<Affiliations, IqFailure> lists) {
        if (!lists) {
          const IqFailure& failure = lists.error();
          if (failure.kind == IqFailure::Kind::error_reply && is_entry_refusal(failure.condition)) {
            done(unexpected(entry_error(failure.condition)));
          } else {
            log("room " + room.bare_string() + ": " + failure.condition);
            done(unexpected(failure_of(failure)));
          }
          return;
        }
        const Affiliation affiliation = contains(lists->owners, user_)    ? Affiliation::owner
                                        : contains(lists->members, user_) ? Affiliation::member
                                                                          : Affiliation::none;
        if (affiliation == Affiliation::none) {
          done(unexpected(room_failure(RoomErrorKind::not_occupant)));
          return;
        }
        then(affiliation, *lists);
      });
}

void UserSession::subject_of(const Jid& room, std::function<void(std::string)> then) {
  auto entry = rooms_.find(room);
  if (entry != rooms_.end() && entry->second->joined && entry->second->subject) {
    then(*entry->second->subject);
    return;
  }
  // A room's subject reaches its occupants only: enter (and stay).
  join(room, false, [this, room, then = std::move(then)](Expected<bool, std::string> entered) {
    auto joined = rooms_.find(room);
    if (entered && joined != rooms_.end() && joined->second->subject) {
      then(*joined->second->subject);
      return;
    }
    then(shared_->rooms.subject(room).value_or(""));
  });
}

// --- Changing a room ------------------------------------------------------------------

void UserSession::configure(const Jid& room, const RoomConfig& config, bool fresh,
                            std::function<void(Expected<void, IqFailure>)> then) {
  Stanza get("iq");
  get.set_attribute("type", "get");
  get.set_attribute("to", room.bare_string());
  get.append_child("query", kMucOwnerNs);
  iq(std::move(get), [this, room, name = config.name, fresh,
                      then = std::move(then)](IqResult form) mutable {
    if (!form) {
      then(unexpected(form.error()));
      return;
    }
    pugi::xml_node offered = child_element(form->child("query", kMucOwnerNs), "x", kDataNs);
    Stanza set("iq");
    set.set_attribute("type", "set");
    set.set_attribute("to", room.bare_string());
    pugi::xml_node submitted = submit_form(set.append_child("query", kMucOwnerNs), kRoomConfigForm);
    // Only the fields this server's form has (they differ between servers).
    auto set_field = [&](std::string_view var, std::string_view value) {
      if (field_value(offered, var)) {
        add_field(submitted, var, value);
      }
    };
    set_field("muc#roomconfig_roomname", name);
    if (fresh) {
      set_field("muc#roomconfig_persistentroom", "1");
      set_field("muc#roomconfig_membersonly", "1");
      // Occupants see each other's JIDs: room messages name their senders.
      set_field("muc#roomconfig_whois", "anyone");
      set_field("muc#roomconfig_publicroom", "0");
      set_field("mam", "1");  // ejabberd's switch for the room's archive
    }
    iq(std::move(set), [then = std::move(then)](IqResult done) {
      if (!done) {
        then(unexpected(done.error()));
      } else {
        then({});
      }
    });
  });
}

void UserSession::set_subject(const Jid& room, const std::string& subject,
                              std::function<void(Expected<void, std::string>)> then) {
  join(room, false, [this, room, subject, then = std::move(then)](Expected<bool, std::string> in) {
    if (!in) {
      then(unexpected(in.error()));
      return;
    }
    auto done = std::make_shared<std::function<void(Expected<void, std::string>)>>(then);
    subject_waiters_.try_emplace(room).first->second.push_back([done](bool changed) {
      if (*done) {
        (*done)(changed ? Expected<void, std::string>()
                        : Expected<void, std::string>(unexpected(std::string("forbidden"))));
        *done = nullptr;
      }
    });
    Stanza message("message");
    message.set_attribute("to", room.bare_string());
    message.set_attribute("type", "groupchat");
    message.set_attribute("id", "subject-" + std::to_string(++next_id_));
    message.append_child("subject", ns::client).text().set(subject.c_str());
    client_->send(std::move(message));
    after(shared_->client.iq_timeout, [done] {
      if (*done) {
        (*done)(unexpected(std::string("remote-server-timeout")));
        *done = nullptr;
      }
    });
  });
}

// --- Bookmarks (XEP-0402) ----------------------------------------------------------------

void UserSession::bookmarks(std::function<void(Expected<std::vector<Bookmark>, IqFailure>)> then) {
  Stanza get("iq");
  get.set_attribute("type", "get");
  pugi::xml_node items = append_element(get.append_child("pubsub", kPubsubNs), "items");
  items.append_attribute("node").set_value(std::string(kBookmarksNode).c_str());
  iq(std::move(get), [then = std::move(then)](IqResult answer) {
    std::vector<Bookmark> marks;
    if (!answer) {
      if (answer.error().kind == IqFailure::Kind::error_reply &&
          answer.error().condition == "item-not-found") {
        then(std::move(marks));  // no bookmark yet
      } else {
        then(unexpected(answer.error()));
      }
      return;
    }
    pugi::xml_node list = child_element(answer->child("pubsub", kPubsubNs), "items", kPubsubNs);
    for (pugi::xml_node item = list.first_child(); item; item = item.next_sibling()) {
      auto room = Jid::parse(item.attribute("id").value());
      pugi::xml_node conference = child_element(item, "conference", kBookmarksNode);
      if (room && conference) {
        marks.push_back(Bookmark{room->bare(), conference.attribute("name").value()});
      }
    }
    then(std::move(marks));
  });
}

void UserSession::add_bookmark(const Jid& room, const std::string& name,
                               std::function<void()> then) {
  auto publish = [this, room, name](bool all_options) {
    Stanza set("iq");
    set.set_attribute("type", "set");
    pugi::xml_node pubsub = set.append_child("pubsub", kPubsubNs);
    pugi::xml_node node = append_element(pubsub, "publish");
    node.append_attribute("node").set_value(std::string(kBookmarksNode).c_str());
    pugi::xml_node item = append_element(node, "item");
    item.append_attribute("id").set_value(room.bare_string().c_str());
    pugi::xml_node conference = append_element(item, "conference", kBookmarksNode);
    if (!name.empty()) {
      conference.append_attribute("name").set_value(name.c_str());
    }
    conference.append_attribute("autojoin").set_value("true");
    append_element(conference, "nick").text().set(user_.bare_string().c_str());
    pugi::xml_node form =
        submit_form(append_element(pubsub, "publish-options"), kPublishOptionsForm);
    add_field(form, "pubsub#persist_items", "true");
    add_field(form, "pubsub#access_model", "whitelist");
    if (all_options) {
      add_field(form, "pubsub#max_items", "max");
      add_field(form, "pubsub#send_last_published_item", "never");
    }
    return set;
  };
  // XEP-0402's options first; a server that knows fewer of them (ejabberd
  // 23.01) gets the two every PEP service has.
  iq(publish(true),
     [this, self = shared_from_this(), publish, room, then = std::move(then)](IqResult answer) {
       if (answer || answer.error().kind != IqFailure::Kind::error_reply) {
         then();
         return;
       }
       iq(publish(false), [this, room, then](IqResult retried) {
         if (!retried) {
           log("bookmark of " + room.bare_string() + " not stored: " + retried.error().condition);
         }
         then();
       });
     });
}

void UserSession::remove_bookmark(const Jid& room) {
  known_rooms_.erase(room);
  if (!client_) {
    return;
  }
  Stanza set("iq");
  set.set_attribute("type", "set");
  pugi::xml_node retract = append_element(set.append_child("pubsub", kPubsubNs), "retract");
  retract.append_attribute("node").set_value(std::string(kBookmarksNode).c_str());
  retract.append_attribute("notify").set_value("true");
  append_element(retract, "item").append_attribute("id").set_value(room.bare_string().c_str());
  iq(std::move(set), [](IqResult) {});
}

// --- The operations -------------------------------------------------------------------------

void UserSession::create_room(const Jid& room, const RoomConfig& config,
                              Completion<CreateRoomResult> done) {
  touch();
  post([this, room, config, done] {
    if (!open_.load()) {
      done(unexpected(Failure::unavailable));
      return;
    }
    join(room, true, [this, room, config, done](Expected<bool, std::string> entered) {
      if (!entered) {
        // Refused entry: a members-only room of others.
        if (is_entry_refusal(entered.error()) || entered.error() == "conflict") {
          done(unexpected(room_failure(RoomErrorKind::already_exists)));
        } else {
          log("entering new room " + room.bare_string() + ": " + entered.error());
          done(unexpected(Failure::unavailable));
        }
        return;
      }
      if (!*entered) {
        done(unexpected(room_failure(RoomErrorKind::already_exists)));
        return;
      }
      configure(room, config, true, [this, room, config, done](Expected<void, IqFailure> set) {
        if (!set) {
          log("configuring " + room.bare_string() + ": " + set.error().condition);
          done(unexpected(failure_of(set.error())));
          return;
        }
        set_subject(room, config.subject,
                    [this, room, config, done](Expected<void, std::string> subject) {
                      if (!subject) {
                        log("subject of " + room.bare_string() + ": " + subject.error());
                      }
                      add_bookmark(room, config.name, [room, done] { done(room); });
                    });
      });
    });
  });
}

void UserSession::user_rooms(Completion<UserRoomsResult> done) {
  touch();
  post([this, done] {
    if (!open_.load()) {
      done(unexpected(Failure::unavailable));
      return;
    }
    bookmarks([this, self = shared_from_this(),
               done](Expected<std::vector<Bookmark>, IqFailure> marks) {
      if (!marks) {
        log("bookmarks: " + marks.error().condition);
        done(unexpected(failure_of(marks.error())));
        return;
      }
      std::vector<Jid> rooms;
      for (const Bookmark& mark : *marks) {
        if (is_room(mark.room) && !contains(rooms, mark.room)) {
          rooms.push_back(mark.room);
        }
      }
      for (const Jid& room : known_rooms_) {
        if (!contains(rooms, room)) {
          rooms.push_back(room);
        }
      }
      struct Gather {
        std::vector<std::optional<RoomSummary>> slots;
        std::size_t pending = 0;
        Completion<UserRoomsResult> done;
      };
      auto gather = std::make_shared<Gather>();
      gather->slots.resize(rooms.size());
      gather->pending = rooms.size();
      gather->done = done;
      auto finish_one = [gather] {
        if (--gather->pending == 0) {
          std::vector<RoomSummary> list;
          for (auto& slot : gather->slots) {
            if (slot) {
              list.push_back(std::move(*slot));
            }
          }
          gather->done(std::move(list));
        }
      };
      if (rooms.empty()) {
        done(std::vector<RoomSummary>{});
        return;
      }
      for (std::size_t i = 0; i < rooms.size(); ++i) {
        const Jid room = rooms[i];
        // Still one of the user's? Removed elsewhere or gone, it is forgotten.
        affiliations(
            room, [this, room, i, gather, finish_one](Expected<Affiliations, IqFailure> lists) {
              const bool affiliated =
                  lists && (contains(lists->owners, user_) || contains(lists->members, user_));
              if (!affiliated) {
                if (lists || (lists.error().kind == IqFailure::Kind::error_reply &&
                              is_entry_refusal(lists.error().condition))) {
                  remove_bookmark(room);
                }
                finish_one();
                return;
              }
              room_exists(
                  room, [this, room, i, gather, finish_one](Expected<std::string, IqFailure> name) {
                    subject_of(room, [room, i, gather, finish_one,
                                      name = name ? *name : std::string()](std::string subject) {
                      gather->slots[i] = RoomSummary{room, RoomConfig{name, std::move(subject)}};
                      finish_one();
                    });
                  });
            });
      }
    });
  });
}

void UserSession::room_info(const Jid& room, Completion<RoomInfoResult> done) {
  touch();
  post([this, room, done] {
    if (!open_.load()) {
      done(unexpected(Failure::unavailable));
      return;
    }
    with_affiliation(room, done, [this, room, done](Affiliation, const Affiliations& lists) {
      std::vector<RoomOccupant> occupants;
      for (const Jid& owner : lists.owners) {
        occupants.push_back(RoomOccupant{owner, Affiliation::owner});
      }
      for (const Jid& member : lists.members) {
        occupants.push_back(RoomOccupant{member, Affiliation::member});
      }
      room_exists(room, [this, room, done, occupants = std::move(occupants)](
                            Expected<std::string, IqFailure> name) mutable {
        subject_of(room, [room, done, occupants = std::move(occupants),
                          name = name ? *name : std::string()](std::string subject) mutable {
          done(RoomInfo{room, RoomConfig{name, std::move(subject)}, std::move(occupants)});
        });
      });
    });
  });
}

void UserSession::set_room_config(const Jid& room, const RoomConfig& config,
                                  Completion<RoomResult> done) {
  touch();
  post([this, room, config, done] {
    if (!open_.load()) {
      done(unexpected(Failure::unavailable));
      return;
    }
    with_affiliation(
        room, done, [this, room, config, done](Affiliation affiliation, const Affiliations&) {
          // Only an owner may change a MUC room's configuration.
          if (affiliation != Affiliation::owner) {
            done(unexpected(room_failure(RoomErrorKind::not_allowed)));
            return;
          }
          configure(room, config, false, [this, room, config, done](Expected<void, IqFailure> set) {
            if (!set) {
              log("configuring " + room.bare_string() + ": " + set.error().condition);
              done(unexpected(failure_of(set.error())));
              return;
            }
            set_subject(room, config.subject,
                        [this, room, done](Expected<void, std::string> subject) {
                          if (!subject) {
                            log("subject of " + room.bare_string() + ": " + subject.error());
                            done(unexpected(Failure::unavailable));
                            return;
                          }
                          done({});
                        });
          });
        });
  });
}

void UserSession::set_affiliation(const Jid& room, const Jid& target, Affiliation affiliation,
                                  Completion<RoomResult> done) {
  touch();
  post([this, room, target, affiliation, done] {
    if (!open_.load()) {
      done(unexpected(Failure::unavailable));
      return;
    }
    with_affiliation(
        room, done,
        [this, room, target, affiliation, done](Affiliation mine, const Affiliations& lists) {
          auto change = [this, room, done](const Jid& who, const char* to,
                                           std::function<void()> then) {
            Stanza set("iq");
            set.set_attribute("type", "set");
            set.set_attribute("to", room.bare_string());
            pugi::xml_node item = append_element(set.append_child("query", kMucAdminNs), "item");
            item.append_attribute("jid").set_value(who.bare_string().c_str());
            item.append_attribute("affiliation").set_value(to);
            iq(std::move(set), [this, room, done, then = std::move(then)](IqResult answer) {
              if (!answer) {
                log("affiliation in " + room.bare_string() + ": " + answer.error().condition);
                done(answer.error().kind == IqFailure::Kind::error_reply
                         ? RoomResult(unexpected(room_failure(RoomErrorKind::not_allowed)))
                         : RoomResult(unexpected(Failure::unavailable)));
                return;
              }
              then();
            });
          };
          const bool target_owner = contains(lists.owners, target);
          const bool target_member = contains(lists.members, target);
          if (affiliation == Affiliation::member) {
            if (mine != Affiliation::owner) {
              done(unexpected(room_failure(RoomErrorKind::not_allowed)));
              return;
            }
            if (target_owner || target_member) {
              done({});
              return;
            }
            change(target, "member", [this, room, target, done] {
              // An invitation tells the new member, also on an ordinary client
              // and also while offline; the gateway's sessions bookmark it.
              Stanza invite("message");
              invite.set_attribute("to", room.bare_string());
              pugi::xml_node x = invite.append_child("x", kMucUserNs);
              append_element(x, "invite")
                  .append_attribute("to")
                  .set_value(target.bare_string().c_str());
              client_->send(std::move(invite));
              done({});
            });
            return;
          }
          if (affiliation != Affiliation::none) {
            done(unexpected(room_failure(RoomErrorKind::not_allowed)));
            return;
          }
          if (target == user_) {
            // A MUC member cannot give up its own membership.
            if (mine != Affiliation::owner) {
              done(unexpected(room_failure(RoomErrorKind::not_allowed)));
              return;
            }
            auto gone = [this, room, done] {
              leave(room);
              remove_bookmark(room);
              done({});
            };
            std::vector<Jid> other_owners;
            for (const Jid& owner : lists.owners) {
              if (owner != user_) {
                other_owners.push_back(owner);
              }
            }
            if (!other_owners.empty()) {
              change(user_, "none", gone);
            } else if (!lists.members.empty()) {
              // The owner leaves: a member takes over first (MUC Light hands the
              // room on; MUC keeps no joining order: the first in JID order).
              const Jid heir = lists.members.front();
              change(heir, "owner", [this, change, gone] { change(user_, "none", gone); });
            } else {
              // The last occupant leaves: the room goes.
              Stanza destroy("iq");
              destroy.set_attribute("type", "set");
              destroy.set_attribute("to", room.bare_string());
              append_element(destroy.append_child("query", kMucOwnerNs), "destroy");
              iq(std::move(destroy), [this, room, done, gone](IqResult answer) {
                if (!answer) {
                  log("destroying " + room.bare_string() + ": " + answer.error().condition);
                  done(unexpected(failure_of(answer.error())));
                  return;
                }
                shared_->rooms.forget(room);
                gone();
              });
            }
            return;
          }
          if (mine != Affiliation::owner) {
            done(unexpected(room_failure(RoomErrorKind::not_allowed)));
            return;
          }
          if (!target_owner && !target_member) {
            done({});  // not in the room: nothing to remove
            return;
          }
          change(target, "none", [this, room, target, done] {
            // MUC tells a removed member nothing unless present: a session of
            // this gateway forgets the room now.
            if (shared_->session_of) {
              if (auto other = shared_->session_of(target)) {
                other->forget_room(room);
              }
            }
            done({});
          });
        });
  });
}

void UserSession::forget_room(const Jid& room) {
  post([this, room] { remove_bookmark(room); });
}

void UserSession::send_room_message(const Jid& room, std::string stanza_xml,
                                    Completion<RoomResult> done) {
  touch();
  post([this, room, stanza_xml = std::move(stanza_xml), done]() mutable {
    if (!open_.load()) {
      done(unexpected(Failure::unavailable));
      return;
    }
    join(room, false,
         [this, room, stanza_xml = std::move(stanza_xml),
          done](Expected<bool, std::string> in) mutable {
           if (!in) {
             if (is_entry_refusal(in.error())) {
               done(unexpected(entry_error(in.error())));
             } else {
               log("entering " + room.bare_string() + ": " + in.error());
               done(unexpected(Failure::unavailable));
             }
             return;
           }
           auto document = std::make_unique<pugi::xml_document>();
           if (!document->load_buffer(stanza_xml.data(), stanza_xml.size(),
                                      mimrest::detail::kStanzaParseOptions)) {
             done(unexpected(Failure::internal));
             return;
           }
           pugi::xml_node message = document->document_element();
           message.remove_attribute("from");
           std::string id = message.attribute("id").value();
           if (id.empty()) {
             id = random_uuid();
             message.append_attribute("id").set_value(id.c_str());
           }
           // The room's copy back to its sender says it took the message.
           reflections_[id] = done;
           client_->send(Stanza(std::move(document)));
           after(shared_->client.iq_timeout, [this, id] {
             auto waiting = reflections_.find(id);
             if (waiting != reflections_.end()) {
               waiting->second(unexpected(Failure::unavailable));
               reflections_.erase(waiting);
             }
           });
         });
  });
}

void UserSession::room_archive(const Jid& room, const MamPage& page,
                               Completion<RoomMessagesResult> done) {
  touch();
  post([this, room, page, done] {
    if (!open_.load()) {
      done(unexpected(Failure::unavailable));
      return;
    }
    with_affiliation(room, done, [this, room, page, done](Affiliation, const Affiliations&) {
      MamPage capped = page;
      capped.limit = std::min(page.limit, shared_->max_result_limit);
      query_archive(
          room, capped, [this, room, done](Expected<std::vector<ArchivedMessage>, IqFailure> rows) {
            if (!rows) {
              log("room archive of " + room.bare_string() + ": " + rows.error().condition);
              done(unexpected(failure_of(rows.error())));
              return;
            }
            std::vector<ArchivedMessage> shown;
            for (auto& row : *rows) {
              RoomRow converted = room_row(row.stanza_xml, room);
              if (converted.shown) {
                row.stanza_xml = std::move(converted.stanza_xml);
                shown.push_back(std::move(row));
              }
            }
            done(std::move(shown));
          });
    });
  });
}

}  // namespace mimrest::xmpp
