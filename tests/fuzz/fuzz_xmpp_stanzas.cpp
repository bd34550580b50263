// libFuzzer target: what the XMPP gateway does with the stanzas a server
// sends it (lib/xmpp/mam.hpp, roster_state.hpp, datetime.hpp), downstream of
// the stream parser (fuzz_xmpp_stream.cpp): archive results, room rows,
// roster results and pushes, subscription requests, time stamps, and the
// JSON the API makes of what they carry.
//
// Input: an XMPP stream's content (the header is given); every top-level
// element the stream parser yields goes through the gateway's handling.
//
// Properties:
// * no crash, leak or sanitizer report, whatever the server sends;
// * an archived message taken from a result is a message stanza that the
//   API converts, and stays one after the gateway's rewrites (as_api_message
//   and room_row), which are idempotent;
// * an archive result is taken only from the archive that was asked;
// * the roster lists each contact once, every one a bare JID;
// * a time stamp that parses formats back to the same instant.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"
#include "mimrest/stanza_json.hpp"
#include "xmpp/datetime.hpp"
#include "xmpp/mam.hpp"
#include "xmpp/roster_state.hpp"
#include "xmpp/stream_parser.hpp"

namespace {

using mimrest::Jid;
using mimrest::xmpp::Stanza;
using mimrest::xmpp::StreamEvent;
using mimrest::xmpp::StreamParser;
namespace xmpp = mimrest::xmpp;

const std::string header =
    "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' "
    "version='1.0'>";

const Jid& user() {
  static const Jid jid = Jid::parse("alice@localhost").value();
  return jid;
}

const Jid& room() {
  static const Jid jid = Jid::parse("team@conference.localhost").value();
  return jid;
}

void check_message(const std::string& stanza_xml, mimrest::MessageEncoding encoding) {
  mimrest::JsonOptions options;
  options.encoding = encoding;
  auto json = mimrest::message_to_json(stanza_xml, options);
  MIMREST_FUZZ_CHECK(json.has_value(), mimrest::fuzz::printable(stanza_xml));
}

void archive_results(const Stanza& message) {
  for (const auto& archive : {std::optional<Jid>(), std::optional<Jid>(room())}) {
    auto row = xmpp::mam_result(message, "q1", archive, user());
    if (!row) {
      continue;
    }
    // Only the archive asked may answer.
    const std::string from(message.attribute("from"));
    if (archive) {
      MIMREST_FUZZ_CHECK(Jid::parse(from).has_value() && *Jid::parse(from) == *archive,
                         std::string());
    }
    check_message(row->stanza_xml, mimrest::MessageEncoding::chat);
    const std::string api = xmpp::as_api_message(row->stanza_xml);
    check_message(api, mimrest::MessageEncoding::chat);
    MIMREST_FUZZ_CHECK(xmpp::as_api_message(api) == api, std::string());
    (void)xmpp::is_chat_row(*row);
    const xmpp::RoomRow shown = xmpp::room_row(row->stanza_xml, room());
    if (shown.shown) {
      check_message(shown.stanza_xml, mimrest::MessageEncoding::room);
      MIMREST_FUZZ_CHECK(xmpp::room_row(shown.stanza_xml, room()).stanza_xml == shown.stanza_xml,
                         std::string());
    }
  }
}

void stamps(pugi::xml_node node) {
  for (pugi::xml_node child = node.first_child(); child; child = child.next_sibling()) {
    if (auto stamp = xmpp::parse_datetime_us(child.attribute("stamp").value())) {
      MIMREST_FUZZ_CHECK(xmpp::parse_datetime_us(xmpp::format_datetime_us(*stamp)) == stamp,
                         std::string());
    }
    stamps(child);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  StreamParser parser(xmpp::StreamLimits{64 * 1024, 64});
  parser.append(header);
  parser.append(std::string_view(reinterpret_cast<const char*>(data), size));
  xmpp::RosterState roster;
  for (StreamEvent event = parser.next();
       event.kind == StreamEvent::Kind::header || event.kind == StreamEvent::Kind::element;
       event = parser.next()) {
    if (event.kind != StreamEvent::Kind::element) {
      continue;
    }
    const Stanza& stanza = event.element;
    stamps(stanza.root());
    if (stanza.name() == "message") {
      archive_results(stanza);
    } else if (stanza.name() == "iq") {
      if (pugi::xml_node query = stanza.child("query", xmpp::kRosterNs)) {
        if (stanza.attribute("type") == "result") {
          roster.reset(query);
        } else {
          for (pugi::xml_node item = query.first_child(); item; item = item.next_sibling()) {
            roster.apply(item);
          }
        }
      }
    } else if (stanza.name() == "presence") {
      if (auto from = Jid::parse(stanza.attribute("from"))) {
        roster.set_pending_in(from->bare(), stanza.attribute("type") == "subscribe");
      }
    }
  }
  std::set<std::string> seen;
  for (const auto& item : roster.items()) {
    MIMREST_FUZZ_CHECK(item.jid.is_bare(), std::string());
    MIMREST_FUZZ_CHECK(seen.insert(item.jid.bare_string()).second, std::string());
  }
  return 0;
}
