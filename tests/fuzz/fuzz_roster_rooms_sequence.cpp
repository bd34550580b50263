// libFuzzer target: sequences of contact, room and message operations run
// through Api::handle by three users, with the state checked after every step.
//
// Input: operations, one after another (at most kMaxSteps), each an opcode
// byte followed by its arguments (actor, target, room and flag bytes, and
// length-prefixed strings for names, subjects, bodies and raw request
// bodies). Actors are alice, bob and carol (@localhost); targets are those,
// dave@localhost (no account) and eve@remote.example (another server).
// Rooms are "r0", "r1", "r2" (created with PUT) and those POST /rooms creates.
//
// Properties, besides those of every response (api_support.hpp):
// * contacts (after each contact operation): GET /contacts is a JSON array
//   of {jid, subscription: none|to|from|both, ask: none|in|out|both} with
//   distinct bare JIDs, in a stable order (an item keeps its place); between
//   two local users whose rosters both hold the other, the states mirror each
//   other (my "to" is your "from", my "out" your "in"); an item whose
//   counterpart is missing, and an item for a remote contact, has no
//   subscription (and a remote one asks at most "out");
// * rooms (after each room operation for that room, and for every room at
//   the end): GET /rooms of every user lists exactly the rooms whose GET
//   /rooms/{id} answers 200 for that user, with the same name and subject,
//   and only rooms the sequence made; a room answers 200 to its local
//   participants, 403 to the other users, 404 to everyone once it is gone;
//   its participants are distinct, owner or member, with exactly one owner;
// * messages: text XML 1.0 cannot carry (invalid UTF-8, control characters
//   other than tab, LF and CR, U+FFFE, U+FFFF) in a body or a chat marker id
//   is refused with 400, other text is sent; after POST /messages or POST
//   /rooms/{id}/messages answers 200, the newest archived message of the
//   sender (GET /messages, GET /rooms/{id}/messages) has the id answered,
//   the sender, the recipient and exactly the body, markable and chat marker
//   sent.
#include <mimrest/api.hpp>
#include <mimrest/http.hpp>
#include <mimrest/jid.hpp>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "api_support.hpp"
#include "fuzz_support.hpp"

namespace {

using mimrest::fuzz::printable;
using mimrest::fuzz::string_at;

constexpr std::size_t kMaxSteps = 32;
constexpr std::size_t kMaxRooms = 6;
constexpr std::size_t kMaxString = 40;

const std::vector<std::string> kActors = {"alice@localhost", "bob@localhost", "carol@localhost"};
const std::vector<std::string> kTargets = {"alice@localhost", "bob@localhost", "carol@localhost",
                                           "dave@localhost", "eve@remote.example"};

bool is_local_user(std::string_view jid) {
  return std::find(kActors.begin(), kActors.end(), jid) != kActors.end();
}

std::string json_string(std::string_view text) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writer.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string percent_encode(std::string_view text) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
        c == '-' || c == '_') {
      out += c;
    } else {
      out += '%';
      out += hex[u >> 4];
      out += hex[u & 0x0F];
    }
  }
  return out;
}

// Whether XML 1.0 can carry the text as it is (the API refuses the rest).
bool representable(std::string_view text) {
  return mimrest::fuzz::valid_utf8(text) && mimrest::fuzz::xml_safe(text) == text;
}

// The text read back is exactly the one sent.
bool same_text(std::optional<std::string_view> actual, std::string_view sent) {
  return actual && *actual == sent;
}

struct RosterItem {
  std::string subscription;
  std::string ask;
};

class Sequence {
 public:
  Sequence() : rooms_({"r0", "r1", "r2"}) {}

  void run(mimrest::fuzz::ByteReader& input) {
    for (std::size_t step = 0; step < kMaxSteps && !input.empty(); ++step) {
      run_step(input);
    }
    for (std::size_t room = 0; room < rooms_.size(); ++room) {
      check_room(room);
    }
    check_room_lists();
    check_contacts();
  }

 private:
  // A request whose outcome the checks do not rely on for their context.
  mimrest::Response call(const std::string& actor, std::string method, const std::string& path,
                         std::string body = {}) {
    last_request_ = mimrest::fuzz::make_request(std::move(method), path, std::move(body), actor);
    last_response_ = mimrest::fuzz::handle(world_.api(), last_request_);
    mimrest::fuzz::check_response({world_.api().config()}, last_request_, last_response_);
    return last_response_;
  }

  // An operation of the sequence: recorded for failure messages.
  mimrest::Response op(const std::string& actor, std::string method, const std::string& path,
                       std::string body = {}) {
    mimrest::Response response = call(actor, std::move(method), path, std::move(body));
    log_ += actor + ": " + mimrest::fuzz::describe(last_request_, last_response_) + "\n";
    return response;
  }

  // The operations so far and the last request, for failure messages.
  std::string where() const {
    return "\n" + log_ + "last: " + mimrest::fuzz::describe(last_request_, last_response_);
  }

  rapidjson::Document json_of(const mimrest::Response& response) {
    rapidjson::Document document;
    const std::string error = mimrest::fuzz::parse_json(response.body, document);
    MIMREST_FUZZ_CHECK(error.empty(), error + where());
    return document;
  }

  std::string room_path(std::size_t room, bool as_jid) const {
    return "/rooms/" + rooms_[room] + (as_jid ? "%40muclight.localhost" : "");
  }

  void run_step(mimrest::fuzz::ByteReader& input) {
    const std::uint8_t opcode = input.byte();
    const std::string& actor = kActors[input.byte() % kActors.size()];
    const std::string& target = kTargets[input.byte() % kTargets.size()];
    const std::uint8_t flags = input.byte();
    const std::size_t room = input.byte() % rooms_.size();
    const bool as_jid = (flags & 0x80) != 0;
    switch (opcode % 15) {
      case 0:
        op(actor, "POST", "/contacts", "{\"jid\":" + json_string(target) + "}");
        return check_contacts();
      case 1:
      case 2:
        op(actor, "PUT", "/contacts/" + percent_encode(target),
           opcode % 15 == 1 ? R"({"action":"invite"})" : R"({"action":"accept"})");
        return check_contacts();
      case 3:
        op(actor, "DELETE", "/contacts/" + percent_encode(target));
        return check_contacts();
      case 4: {
        const std::string& other = kTargets[flags % kTargets.size()];
        op(actor, "DELETE", "/contacts",
           "{\"to_delete\":[" + json_string(target) + "," + json_string(other) + "]}");
        return check_contacts();
      }
      case 5:
      case 6:
      case 9: {
        const std::string_view name = input.short_string(kMaxString);
        const std::string_view subject = input.short_string(kMaxString);
        const std::string body =
            "{\"name\":" + json_string(name) + ",\"subject\":" + json_string(subject) + "}";
        if (opcode % 15 == 9) {
          op(actor, "PUT", room_path(room, as_jid) + "/config", body);
          return check_room(room);
        }
        if (opcode % 15 == 5) {
          op(actor, "PUT", room_path(room, as_jid), body);
          return check_room(room);
        }
        return check_new_room(op(actor, "POST", "/rooms", body));
      }
      case 7:
        op(actor, "POST", room_path(room, as_jid) + "/users",
           "{\"user\":" + json_string(target) + "}");
        return check_room(room);
      case 8:
        op(actor, "DELETE", room_path(room, as_jid) + "/users/" + percent_encode(target));
        return check_room(room);
      case 10:
        return send_room_message(actor, room, as_jid, flags, input);
      case 11:
        op(actor, "GET", room_path(room, as_jid) + "/messages?limit=" + std::to_string(flags % 8));
        return;
      case 12:
        return send_chat_message(actor, target, input);
      case 13:
        op(actor, "GET",
           (flags & 1) != 0 ? "/messages/" + percent_encode(target) : std::string("/messages"));
        return;
      default:
        return raw_request(actor, target, room, flags, input);
    }
  }

  // A request with a body taken from the input as it is.
  void raw_request(const std::string& actor, const std::string& target, std::size_t room,
                   std::uint8_t flags, mimrest::fuzz::ByteReader& input) {
    const std::string body(input.short_string(kMaxString * 2));
    switch (flags % 8) {
      case 0:
        op(actor, "POST", "/contacts", body);
        return check_contacts();
      case 1:
        op(actor, "PUT", "/contacts/" + percent_encode(target), body);
        return check_contacts();
      case 2:
        op(actor, "DELETE", "/contacts", body);
        return check_contacts();
      case 3:
        return check_new_room(op(actor, "POST", "/rooms", body));
      case 4:
        op(actor, "PUT", room_path(room, false), body);
        break;
      case 5:
        op(actor, "PUT", room_path(room, false) + "/config", body);
        break;
      case 6:
        op(actor, "POST", room_path(room, false) + "/users", body);
        break;
      default:
        op(actor, "POST", room_path(room, false) + "/messages", body);
        break;
    }
    check_room(room);
  }

  // After POST /rooms: a 201 names a fresh room, checked like the others.
  void check_new_room(const mimrest::Response& response) {
    if (response.status != 201) {
      return;
    }
    const std::size_t before = rooms_.size();
    remember_room(response);
    if (rooms_.size() > before) {
      check_room(rooms_.size() - 1);
    }
  }

  void remember_room(const mimrest::Response& response) {
    const auto document = json_of(response);
    const auto id = string_at(document, "id");
    MIMREST_FUZZ_CHECK(id.has_value(), where());
    MIMREST_FUZZ_CHECK(std::find(rooms_.begin(), rooms_.end(), *id) == rooms_.end(),
                       "a fresh room ID twice: " + where());
    if (rooms_.size() < kMaxRooms) {
      rooms_.emplace_back(*id);
    } else {
      forgotten_rooms_ = true;  // not checked: the checks stay cheap
    }
  }

  void send_room_message(const std::string& actor, std::size_t room, bool as_jid,
                         std::uint8_t flags, mimrest::fuzz::ByteReader& input) {
    const std::string_view body = input.short_string(kMaxString);
    const std::string_view marker_id = input.short_string(kMaxString);
    static constexpr const char* kMarkers[] = {"received", "displayed", "acknowledged"};
    const char* marker_type = kMarkers[(flags >> 3) % 3];
    const bool has_body = (flags & 1) != 0;
    const bool markable = (flags & 2) != 0;
    const bool has_marker = (flags & 4) != 0;
    std::string json = "{";
    if (has_body) {
      json += "\"body\":" + json_string(body) + ",";
    }
    if (markable) {
      json += "\"markable\":true,";
    }
    if (has_marker) {
      json += "\"chat_marker\":{\"type\":\"" + std::string(marker_type) +
              "\",\"id\":" + json_string(marker_id) + "},";
    }
    if (json.back() == ',') {
      json.pop_back();
    }
    json += "}";
    const mimrest::Response response =
        op(actor, "POST", room_path(room, as_jid) + "/messages", json);
    if (response.status != 200) {
      return;
    }
    MIMREST_FUZZ_CHECK(has_body || has_marker, where());
    const std::string sent_id(*string_at(json_of(response), "id"));
    const auto read = call(actor, "GET", room_path(room, false) + "/messages?limit=1");
    MIMREST_FUZZ_CHECK(read.status == 200, where());
    const auto messages = json_of(read);
    MIMREST_FUZZ_CHECK(messages.IsArray() && messages.Size() == 1, where());
    const rapidjson::Value& message = messages[0];
    MIMREST_FUZZ_CHECK(string_at(message, "id") == std::optional<std::string_view>(sent_id),
                       where());
    MIMREST_FUZZ_CHECK(string_at(message, "from") == std::optional<std::string_view>(actor),
                       where());
    MIMREST_FUZZ_CHECK(string_at(message, "type") == std::optional<std::string_view>("message"),
                       where());
    if (has_body) {
      MIMREST_FUZZ_CHECK(same_text(string_at(message, "body"), body), "body: " + where());
    } else {
      MIMREST_FUZZ_CHECK(!message.HasMember("body"), where());
    }
    MIMREST_FUZZ_CHECK(message.HasMember("markable") == (has_body && markable), where());
    MIMREST_FUZZ_CHECK(message.HasMember("chat_marker") == has_marker, where());
    if (has_marker) {
      const rapidjson::Value& marker = message["chat_marker"];
      MIMREST_FUZZ_CHECK(string_at(marker, "type") == std::optional<std::string_view>(marker_type),
                         where());
      MIMREST_FUZZ_CHECK(same_text(string_at(marker, "id"), marker_id), where());
    }
  }

  void send_chat_message(const std::string& actor, const std::string& target,
                         mimrest::fuzz::ByteReader& input) {
    const std::string_view body = input.short_string(kMaxString);
    const mimrest::Response response =
        op(actor, "POST", "/messages",
           "{\"to\":" + json_string(target) + ",\"body\":" + json_string(body) + "}");
    // Only a body XML cannot carry is refused.
    MIMREST_FUZZ_CHECK((response.status == 200) == representable(body), where());
    if (response.status != 200) {
      return;
    }
    const std::string sent_id(*string_at(json_of(response), "id"));
    const auto read = call(actor, "GET", "/messages?limit=1");
    MIMREST_FUZZ_CHECK(read.status == 200, where());
    const auto messages = json_of(read);
    MIMREST_FUZZ_CHECK(messages.IsArray() && messages.Size() == 1, where());
    const rapidjson::Value& message = messages[0];
    MIMREST_FUZZ_CHECK(string_at(message, "id") == std::optional<std::string_view>(sent_id),
                       where());
    MIMREST_FUZZ_CHECK(string_at(message, "from") == std::optional<std::string_view>(actor),
                       where());
    MIMREST_FUZZ_CHECK(string_at(message, "to") == std::optional<std::string_view>(target),
                       where());
    MIMREST_FUZZ_CHECK(same_text(string_at(message, "body"), body), "body: " + where());
  }

  // --- contacts ---

  std::map<std::string, RosterItem> roster_of(const std::string& user) {
    const mimrest::Response response = call(user, "GET", "/contacts");
    MIMREST_FUZZ_CHECK(response.status == 200, where());
    const auto items = json_of(response);
    MIMREST_FUZZ_CHECK(items.IsArray(), where());
    std::map<std::string, RosterItem> roster;
    std::vector<std::string> order;
    for (const auto& item : items.GetArray()) {
      const auto contact = string_at(item, "jid");
      const auto subscription = string_at(item, "subscription");
      const auto ask = string_at(item, "ask");
      MIMREST_FUZZ_CHECK(
          item.IsObject() && item.MemberCount() == 3 && contact && subscription && ask, where());
      static const std::set<std::string_view> kSubscriptions = {"none", "to", "from", "both"};
      static const std::set<std::string_view> kAsks = {"none", "in", "out", "both"};
      MIMREST_FUZZ_CHECK(kSubscriptions.count(*subscription) == 1 && kAsks.count(*ask) == 1,
                         where());
      const auto parsed = mimrest::Jid::parse(*contact);
      MIMREST_FUZZ_CHECK(parsed && parsed->is_bare() && parsed->to_string() == *contact, where());
      MIMREST_FUZZ_CHECK(roster
                             .emplace(std::string(*contact),
                                      RosterItem{std::string(*subscription), std::string(*ask)})
                             .second,
                         "duplicate contact: " + where());
      order.emplace_back(*contact);
    }
    // Stable order: the items that were there keep their relative order.
    std::vector<std::string> kept;
    for (const auto& contact : orders_[user]) {
      if (roster.count(contact) != 0) {
        kept.push_back(contact);
      }
    }
    std::vector<std::string> now_kept;
    for (const auto& contact : order) {
      if (std::find(kept.begin(), kept.end(), contact) != kept.end()) {
        now_kept.push_back(contact);
      }
    }
    MIMREST_FUZZ_CHECK(kept == now_kept, "roster order changed: " + where());
    orders_[user] = order;
    return roster;
  }

  void check_contacts() {
    std::map<std::string, std::map<std::string, RosterItem>> rosters;
    for (const auto& user : kActors) {
      rosters[user] = roster_of(user);
    }
    auto bits = [](const std::string& value, const char* first, const char* second) {
      return std::pair<bool, bool>{value == first || value == "both",
                                   value == second || value == "both"};
    };
    for (const auto& [user, roster] : rosters) {
      for (const auto& [contact, item] : roster) {
        const std::string context =
            user + " has " + contact + " " + item.subscription + "/" + item.ask + where();
        if (!is_local_user(contact)) {
          // Nobody answers for a remote or unknown contact.
          MIMREST_FUZZ_CHECK(
              item.subscription == "none" && (item.ask == "none" || item.ask == "out"), context);
          continue;
        }
        const auto& theirs = rosters[contact];
        const auto counterpart = theirs.find(user);
        if (counterpart == theirs.end()) {
          MIMREST_FUZZ_CHECK(item.subscription == "none" && item.ask == "none", context);
          continue;
        }
        const auto [to, from] = bits(item.subscription, "to", "from");
        const auto [their_to, their_from] = bits(counterpart->second.subscription, "to", "from");
        const auto [out, in] = bits(item.ask, "out", "in");
        const auto [their_out, their_in] = bits(counterpart->second.ask, "out", "in");
        MIMREST_FUZZ_CHECK(
            to == their_from && from == their_to && out == their_in && in == their_out,
            context + " vs " + counterpart->second.subscription + "/" + counterpart->second.ask);
      }
    }
  }

  // --- rooms ---

  // GET /rooms of `user`: id -> (name, subject); every id is one the
  // sequence created.
  std::map<std::string, std::pair<std::string, std::string>> room_list(const std::string& user) {
    const mimrest::Response response = call(user, "GET", "/rooms");
    MIMREST_FUZZ_CHECK(response.status == 200, where());
    const auto list = json_of(response);
    MIMREST_FUZZ_CHECK(list.IsArray(), where());
    std::map<std::string, std::pair<std::string, std::string>> listed;
    for (const auto& item : list.GetArray()) {
      const auto id = string_at(item, "id");
      const auto name = string_at(item, "name");
      const auto subject = string_at(item, "subject");
      MIMREST_FUZZ_CHECK(item.IsObject() && item.MemberCount() == 3 && id && name && subject,
                         where());
      MIMREST_FUZZ_CHECK(
          listed.emplace(std::string(*id), std::pair{std::string(*name), std::string(*subject)})
              .second,
          "listed twice: " + where());
      // Only a room POST /rooms made after kMaxRooms is not followed.
      MIMREST_FUZZ_CHECK(
          forgotten_rooms_ || std::find(rooms_.begin(), rooms_.end(), *id) != rooms_.end(),
          "unknown room " + std::string(*id) + where());
    }
    return listed;
  }

  // Every user's GET /rooms against GET /rooms/{id} of every room.
  void check_room_lists() {
    for (const auto& user : kActors) {
      const auto listed = room_list(user);
      for (std::size_t room = 0; room < rooms_.size(); ++room) {
        const auto info = room_info(user, room);
        const auto entry = listed.find(rooms_[room]);
        MIMREST_FUZZ_CHECK(
            info.has_value() == (entry != listed.end()),
            user + ": listing and GET /rooms/" + rooms_[room] + " disagree" + where());
        if (info) {
          MIMREST_FUZZ_CHECK(
              info->name == entry->second.first && info->subject == entry->second.second,
              "name/subject differ: " + where());
        }
      }
    }
  }

  struct RoomInfo {
    std::string name;
    std::string subject;
    std::map<std::string, std::string> roles;
  };

  // GET /rooms/{id} as `user`: the room on 200, nullopt on 403/404 (recorded).
  std::optional<RoomInfo> room_info(const std::string& user, std::size_t room) {
    const mimrest::Response response = call(user, "GET", room_path(room, false));
    last_status_ = response.status;
    if (response.status != 200) {
      MIMREST_FUZZ_CHECK(response.status == 403 || response.status == 404, where());
      return std::nullopt;
    }
    const auto document = json_of(response);
    const auto name = string_at(document, "name");
    const auto subject = string_at(document, "subject");
    MIMREST_FUZZ_CHECK(document.IsObject() && name && subject &&
                           document.HasMember("participants") && document["participants"].IsArray(),
                       where());
    RoomInfo info{std::string(*name), std::string(*subject), {}};
    std::size_t owners = 0;
    for (const auto& participant : document["participants"].GetArray()) {
      const auto who = string_at(participant, "user");
      const auto role = string_at(participant, "role");
      MIMREST_FUZZ_CHECK(who && role && (*role == "owner" || *role == "member"), where());
      owners += *role == "owner" ? 1 : 0;
      MIMREST_FUZZ_CHECK(info.roles.emplace(std::string(*who), std::string(*role)).second,
                         "participant twice: " + where());
    }
    MIMREST_FUZZ_CHECK(owners == 1, "owners: " + std::to_string(owners) + where());
    MIMREST_FUZZ_CHECK(info.roles.count(user) == 1, "reader not a participant: " + where());
    return info;
  }

  // One room seen by every user.
  void check_room(std::size_t room) {
    std::optional<RoomInfo> seen;
    std::map<std::string, int> statuses;
    for (const auto& user : kActors) {
      auto info = room_info(user, room);
      statuses[user] = last_status_;
      if (info) {
        if (seen) {
          MIMREST_FUZZ_CHECK(seen->name == info->name && seen->subject == info->subject &&
                                 seen->roles == info->roles,
                             "users see different rooms: " + where());
        }
        seen = std::move(info);
      }
    }
    for (const auto& user : kActors) {
      if (!seen) {
        // Nobody of ours is in it: it is gone (404 for all) or has only
        // other occupants (403 for all).
        MIMREST_FUZZ_CHECK(statuses[user] == statuses[kActors[0]], where());
        continue;
      }
      const bool participant = seen->roles.count(user) == 1;
      MIMREST_FUZZ_CHECK(statuses[user] == (participant ? 200 : 403),
                         user + " got " + std::to_string(statuses[user]) + where());
    }
    // GET /rooms lists it exactly for the users it answers 200.
    for (const auto& user : kActors) {
      const auto listed = room_list(user);
      const auto entry = listed.find(rooms_[room]);
      MIMREST_FUZZ_CHECK((entry != listed.end()) == (statuses[user] == 200),
                         user + ": listing and GET /rooms/" + rooms_[room] + " disagree" + where());
      if (entry != listed.end()) {
        MIMREST_FUZZ_CHECK(
            entry->second.first == seen->name && entry->second.second == seen->subject,
            "name/subject differ: " + where());
      }
    }
  }

  mimrest::fuzz::World world_;
  std::vector<std::string> rooms_;
  bool forgotten_rooms_ = false;
  std::map<std::string, std::vector<std::string>> orders_;
  int last_status_ = 0;
  mimrest::Request last_request_;
  mimrest::Response last_response_;
  std::string log_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  mimrest::fuzz::ByteReader input(data, size);
  Sequence sequence;
  sequence.run(input);
  return 0;
}
