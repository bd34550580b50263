#include "xmpp/mam.hpp"

#include <memory>
#include <utility>

#include "core/detail/stanza_xml.hpp"
#include "xmpp/datetime.hpp"

namespace mimrest::xmpp {

namespace {

void add_field(pugi::xml_node form, std::string_view var, std::string_view value,
               std::string_view type = {}) {
  pugi::xml_node field = append_element(form, "field");
  field.append_attribute("var").set_value(std::string(var).c_str());
  if (!type.empty()) {
    field.append_attribute("type").set_value(std::string(type).c_str());
  }
  append_element(field, "value").text().set(std::string(value).c_str());
}

bool same_jid(std::string_view text, const Jid& jid) {
  auto parsed = Jid::parse(text);
  return parsed && *parsed == jid;
}

}  // namespace

bool clamp_to_datetimes(MamPage& page) {
  constexpr std::int64_t kEarliestUs = 0;
  constexpr std::int64_t kLatestUs = 253402300799999999;  // 9999-12-31T23:59:59.999999Z
  if (page.before_us) {
    if (*page.before_us <= kEarliestUs) {
      return false;
    }
    if (*page.before_us > kLatestUs) {
      page.before_us.reset();
    }
  }
  if (page.after_us) {
    if (*page.after_us >= kLatestUs) {
      return false;
    }
    if (*page.after_us < kEarliestUs) {
      page.after_us.reset();
    }
  }
  return true;
}

Stanza mam_query(const std::optional<Jid>& archive, const std::string& query_id,
                 const MamPage& page) {
  Stanza iq("iq");
  iq.set_attribute("type", "set");
  if (archive) {
    iq.set_attribute("to", archive->to_string());
  }
  pugi::xml_node query = iq.append_child("query", kMamNs);
  query.append_attribute("queryid").set_value(query_id.c_str());
  pugi::xml_node form = append_element(query, "x", kDataNs);
  form.append_attribute("type").set_value("submit");
  add_field(form, "FORM_TYPE", kMamNs, "hidden");
  if (page.with) {
    add_field(form, "with", page.with->to_string());
  }
  // The form's bounds are inclusive; the API's are strict. An id bound
  // replaces the time of its side.
  if (page.after_us && !page.after_id) {
    add_field(form, "start", format_datetime_us(*page.after_us + 1));
  }
  if (page.before_us && !(page.before_id && !page.forward())) {
    add_field(form, "end", format_datetime_us(*page.before_us - 1));
  }
  pugi::xml_node set = append_element(query, "set", kRsmNs);
  append_element(set, "max").text().set(std::to_string(page.limit).c_str());
  if (page.forward()) {
    if (page.after_id) {
      append_element(set, "after").text().set(page.after_id->c_str());
    }
  } else {
    // The last page: the newest `limit` (before the id, when there is one).
    pugi::xml_node before = append_element(set, "before");
    if (page.before_id) {
      before.text().set(page.before_id->c_str());
    }
  }
  return iq;
}

std::optional<ArchivedMessage> mam_result(const Stanza& message, std::string_view query_id,
                                          const std::optional<Jid>& archive, const Jid& user) {
  if (message.name() != "message") {
    return std::nullopt;
  }
  // Only the archive itself may send its results.
  const std::string_view from = message.attribute("from");
  const bool from_archive =
      archive ? same_jid(from, *archive) : (!message.has_attribute("from") || same_jid(from, user));
  if (!from_archive) {
    return std::nullopt;
  }
  pugi::xml_node result = message.child("result", kMamNs);
  if (!result || std::string_view(result.attribute("queryid").value()) != query_id) {
    return std::nullopt;
  }
  const std::string_view id = result.attribute("id").value();
  pugi::xml_node forwarded = child_element(result, "forwarded", kForwardNs);
  pugi::xml_node delay = child_element(forwarded, "delay", kDelayNs);
  pugi::xml_node inner = child_element(forwarded, "message", ns::client);
  if (id.empty() || !delay || !inner) {
    return std::nullopt;
  }
  auto stamp = parse_datetime_us(delay.attribute("stamp").value());
  if (!stamp) {
    return std::nullopt;
  }
  // The forwarded message on its own, as a stanza of the stream would be.
  auto document = std::make_unique<pugi::xml_document>();
  pugi::xml_node copy = document->append_copy(inner);
  copy.remove_attribute("xmlns");
  Stanza stanza(std::move(document));
  return ArchivedMessage{std::string(id), *stamp, stanza.xml()};
}

std::string as_api_message(const std::string& stanza_xml) {
  if (stanza_xml.find(kGatewayResource) == std::string::npos) {
    return stanza_xml;  // the common case, without a parse
  }
  auto document = std::make_unique<pugi::xml_document>();
  if (!document->load_buffer(stanza_xml.data(), stanza_xml.size(),
                             mimrest::detail::kStanzaParseOptions)) {
    return stanza_xml;
  }
  pugi::xml_node message = document->document_element();
  bool changed = false;
  for (const char* name : {"from", "to"}) {
    pugi::xml_attribute attribute = message.attribute(name);
    auto jid = Jid::parse(attribute.value());
    if (attribute && jid && jid->resource().rfind(kGatewayResource, 0) == 0) {
      attribute.set_value(jid->bare_string().c_str());
      changed = true;
    }
  }
  return changed ? Stanza(std::move(document)).xml() : stanza_xml;
}

bool is_chat_row(const ArchivedMessage& row) {
  pugi::xml_document document;
  if (!document.load_buffer(row.stanza_xml.data(), row.stanza_xml.size(),
                            mimrest::detail::kStanzaParseOptions)) {
    return false;
  }
  pugi::xml_node message = document.document_element();
  pugi::xml_node muc_user = child_element(message, "x", kMucUserNs);
  const bool invitation = child_element(muc_user, "invite", kMucUserNs) ||
                          child_element(message, "x", "jabber:x:conference");
  return !invitation;
}

RoomRow room_row(const std::string& stanza_xml, const Jid& room) {
  RoomRow row;
  auto document = std::make_unique<pugi::xml_document>();
  if (!document->load_buffer(stanza_xml.data(), stanza_xml.size(),
                             mimrest::detail::kStanzaParseOptions)) {
    return row;
  }
  Stanza stanza(std::move(document));
  const bool has_body = static_cast<bool>(stanza.child("body", ns::client));
  const bool has_subject = static_cast<bool>(stanza.child("subject", ns::client));
  row.shown = has_body || !has_subject;
  pugi::xml_node x = stanza.child("x", kMucUserNs);
  pugi::xml_node item = child_element(x, "item", kMucUserNs);
  auto real = Jid::parse(item.attribute("jid").value());
  if (item && real && !real->local().empty()) {
    stanza.set_attribute("from", room.bare_string() + "/" + real->bare_string());
    row.stanza_xml = stanza.xml();
  } else {
    row.stanza_xml = stanza_xml;
  }
  return row;
}

}  // namespace mimrest::xmpp
