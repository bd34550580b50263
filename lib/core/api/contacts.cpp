// The contacts group: the user's roster (RFC 6121), with MongooseIM's
// messages for the error cases.
#include <string>
#include <vector>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "core/api/handlers.hpp"

namespace mimrest::detail {

namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

void write_string(JsonWriter& writer, std::string_view text) {
  writer.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
}

Response invalid_jid(std::string_view given) {
  return error_response(400, "Invalid JID: " + std::string(given));
}

bool in_roster(const HandlerContext& context, const Jid& contact) {
  for (const auto& item : context.backend.roster.items(context.user)) {
    if (item.jid == contact) {
      return true;
    }
  }
  return false;
}

Response user_does_not_exist(const Jid& contact) {
  return error_response(404, "The user " + contact.bare_string() + " does not exist");
}

}  // namespace

Response get_contacts(const HandlerContext& context) {
  rapidjson::StringBuffer buffer;
  JsonWriter writer(buffer);
  writer.StartArray();
  for (const auto& item : context.backend.roster.items(context.user)) {
    writer.StartObject();
    writer.Key("jid");
    write_string(writer, item.jid.bare_string());
    writer.Key("subscription");
    write_string(writer, to_string(item.subscription));
    writer.Key("ask");
    write_string(writer, to_string(item.ask));
    writer.EndObject();
  }
  writer.EndArray();
  return json_response(200, std::string(buffer.GetString(), buffer.GetSize()));
}

Response get_contact(const HandlerContext&) {
  return error_response(404, "JID provided but not supported");
}

Response post_contact(const HandlerContext& context) {
  auto document = parse_json_object(context);
  if (!document) {
    return document.error();
  }
  auto member = document->FindMember("jid");
  if (member == document->MemberEnd()) {
    return error_response(400, "Missing JID");
  }
  if (!member->value.IsString()) {
    return invalid_jid(as_given(member->value));
  }
  std::string_view given(member->value.GetString(), member->value.GetStringLength());
  auto contact = Jid::parse(given);
  if (!contact) {
    return invalid_jid(given);
  }
  Jid bare = contact->bare();
  auto added = context.backend.roster.add(context.user, bare);
  if (!added) {
    return user_does_not_exist(bare);
  }
  return empty_response(204);
}

Response put_contact(const HandlerContext& context) {
  const std::string& given = context.params.at(0);
  auto contact = Jid::parse(given);
  if (!contact) {
    return invalid_jid(given);
  }
  Jid bare = contact->bare();
  auto document = parse_json_object(context);
  if (!document) {
    return document.error();
  }
  if (!document->HasMember("action")) {
    return error_response(400, "Missing action");
  }
  auto action = string_member(*document, "action");
  bool invite = action && *action == "invite";
  bool accept = action && *action == "accept";
  if (!invite && !accept) {
    return error_response(400, "Invalid action");
  }
  if (!in_roster(context, bare)) {
    return error_response(404, "Given contact does not exist");
  }
  auto result = invite ? context.backend.roster.subscribe(context.user, bare)
                       : context.backend.roster.approve(context.user, bare);
  if (!result) {
    if (result.error() == RosterError::contact_not_found) {
      return user_does_not_exist(bare);
    }
    return error_response(404, "Given contact does not exist");
  }
  return empty_response(204);
}

Response delete_contact(const HandlerContext& context) {
  const std::string& given = context.params.at(0);
  auto contact = Jid::parse(given);
  if (!contact) {
    return invalid_jid(given);
  }
  Jid bare = contact->bare();
  if (!context.backend.roster.remove(context.user, bare)) {
    return error_response(404,
                          "Cannot remove " + bare.bare_string() + " contact that does not exist");
  }
  return empty_response(204);
}

Response delete_contacts(const HandlerContext& context) {
  auto document = parse_json_object(context);
  if (!document) {
    return document.error();
  }
  auto member = document->FindMember("to_delete");
  if (member == document->MemberEnd()) {
    return error_response(400, "Missing to_delete");
  }
  const auto& list = member->value;
  if (!list.IsArray()) {
    return error_response(400, "Invalid to_delete: expected a list of JIDs");
  }
  // Every entry is validated before anything is removed.
  std::vector<Jid> contacts;
  for (const auto& entry : list.GetArray()) {
    if (!entry.IsString()) {
      return error_response(400, "Invalid to_delete: expected a list of JIDs");
    }
    auto contact = Jid::parse(std::string_view(entry.GetString(), entry.GetStringLength()));
    if (!contact) {
      return invalid_jid(std::string_view(entry.GetString(), entry.GetStringLength()));
    }
    contacts.push_back(contact->bare());
  }

  rapidjson::StringBuffer buffer;
  JsonWriter writer(buffer);
  writer.StartObject();
  writer.Key("not_deleted");
  writer.StartArray();
  for (const auto& contact : contacts) {
    if (!context.backend.roster.remove(context.user, contact)) {
      write_string(writer, contact.bare_string());
    }
  }
  writer.EndArray();
  writer.EndObject();
  return json_response(200, std::string(buffer.GetString(), buffer.GetSize()));
}

}  // namespace mimrest::detail
