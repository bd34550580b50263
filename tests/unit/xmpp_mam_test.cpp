// Archive queries (XEP-0313 with XEP-0059 paging) and their results.
#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <memory>
#include <string>

#include <pugixml.hpp>

#include "xmpp/mam.hpp"

using mimrest::Jid;
using mimrest::xmpp::clamp_to_datetimes;
using mimrest::xmpp::is_chat_row;
using mimrest::xmpp::mam_query;
using mimrest::xmpp::mam_result;
using mimrest::xmpp::MamPage;
using mimrest::xmpp::room_row;
using mimrest::xmpp::Stanza;

namespace {

Jid jid(const char* text) {
  return Jid::parse(text).value();
}

Stanza stanza(const std::string& xml) {
  auto document = std::make_unique<pugi::xml_document>();
  REQUIRE(
      document->load_buffer(xml.data(), xml.size(), pugi::parse_default | pugi::parse_ws_pcdata));
  return Stanza(std::move(document));
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

const std::string kResult =
    "<message from='alice@localhost' to='alice@localhost/gw'>"
    "<result xmlns='urn:xmpp:mam:2' queryid='q1' id='28482-98726'>"
    "<forwarded xmlns='urn:xmpp:forward:0'><delay xmlns='urn:xmpp:delay' "
    "stamp='2023-11-14T22:13:20.250Z'/>"
    "<message xmlns='jabber:client' type='chat' from='bob@localhost/phone' to='alice@localhost' "
    "id='m1'><body>Hi  &#13;there</body></message></forwarded></result></message>";

}  // namespace

TEST_CASE("the newest page: an empty before, the strict end one microsecond earlier") {
  MamPage page;
  page.with = jid("bob@localhost");
  page.before_us = 1'700'000'000'000'000;
  page.limit = 20;
  const std::string xml = mam_query(std::nullopt, "q7", page).xml();
  CHECK(contains(xml, "type=\"set\""));
  CHECK_FALSE(contains(xml, " to="));
  CHECK(contains(xml, "queryid=\"q7\""));
  CHECK(contains(xml, "<field var=\"with\"><value>bob@localhost</value></field>"));
  CHECK(contains(xml, "<field var=\"end\"><value>2023-11-14T22:13:19.999999Z</value></field>"));
  CHECK_FALSE(contains(xml, "\"start\""));
  CHECK(contains(xml, "<max>20</max><before/>"));
}

TEST_CASE("forward paging: the strict start one microsecond later, the first page after it") {
  MamPage page;
  page.after_us = 1'700'000'000'000'999;
  page.limit = 5;
  const std::string xml = mam_query(jid("room@conference.localhost"), "q8", page).xml();
  CHECK(contains(xml, "to=\"room@conference.localhost\""));
  CHECK(contains(xml, "<field var=\"start\"><value>2023-11-14T22:13:20.001000Z</value>"));
  CHECK(contains(xml, "<max>5</max></set>"));
}

TEST_CASE("bounds outside what a query form can carry: dropped, or an empty page") {
  constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  MamPage page;
  page.before_us = kMin;
  CHECK_FALSE(clamp_to_datetimes(page));  // before the epoch: nothing
  page.before_us = 0;
  CHECK_FALSE(clamp_to_datetimes(page));
  page = MamPage();
  page.after_us = kMax;
  CHECK_FALSE(clamp_to_datetimes(page));  // after year 9999: nothing

  page = MamPage();
  page.before_us = kMax;
  page.after_us = kMin;
  REQUIRE(clamp_to_datetimes(page));  // excludes nothing: no bounds
  CHECK_FALSE(page.before_us);
  CHECK_FALSE(page.after_us);

  page.before_us = 1'700'000'000'000'000;
  page.after_us = 1;
  REQUIRE(clamp_to_datetimes(page));
  CHECK(page.before_us == 1'700'000'000'000'000);
  CHECK(page.after_us == 1);
}

TEST_CASE("a page continued from a message: its id, not its time") {
  MamPage back;
  back.before_us = 1'700'000'000'000'000;
  back.before_id = "abc";
  const std::string backward = mam_query(std::nullopt, "q", back).xml();
  CHECK(contains(backward, "<before>abc</before>"));
  CHECK_FALSE(contains(backward, "\"end\""));
  MamPage forth;
  forth.after_us = 1'700'000'000'000'999;
  forth.after_id = "xyz";
  forth.before_us = 1'800'000'000'000'000;
  const std::string forward = mam_query(std::nullopt, "q", forth).xml();
  CHECK(contains(forward, "<after>xyz</after>"));
  CHECK_FALSE(contains(forward, "\"start\""));
  CHECK(contains(forward, "\"end\""));  // the other side stays a time
}

TEST_CASE("a result: the forwarded message, its id and its archive time") {
  auto row = mam_result(stanza(kResult), "q1", std::nullopt, jid("alice@localhost"));
  REQUIRE(row);
  CHECK(row->archive_id == "28482-98726");
  CHECK(row->timestamp_us == 1'700'000'000'250'000);
  CHECK(row->stanza_xml ==
        "<message type=\"chat\" from=\"bob@localhost/phone\" to=\"alice@localhost\" id=\"m1\">"
        "<body>Hi  &#13;there</body></message>");
  CHECK(is_chat_row(*row));
}

TEST_CASE("results of another query, or from someone else than the archive, are not taken") {
  CHECK_FALSE(mam_result(stanza(kResult), "q2", std::nullopt, jid("alice@localhost")));
  CHECK_FALSE(mam_result(stanza(kResult), "q1", std::nullopt, jid("bob@localhost")));
  CHECK_FALSE(
      mam_result(stanza(kResult), "q1", jid("room@conference.localhost"), jid("alice@localhost")));
  std::string spoofed = kResult;
  spoofed.replace(spoofed.find("from='alice@localhost'"), 22, "from='mallory@localhost'");
  CHECK_FALSE(mam_result(stanza(spoofed), "q1", std::nullopt, jid("alice@localhost")));
  std::string no_stamp = kResult;
  no_stamp.replace(no_stamp.find("2023-11-14T22:13:20.250Z"), 24, "yesterday");
  CHECK_FALSE(mam_result(stanza(no_stamp), "q1", std::nullopt, jid("alice@localhost")));
}

TEST_CASE("room rows: the sender's real JID where the room names it; subject changes left out") {
  const Jid room = jid("team@conference.localhost");
  auto named = room_row(
      "<message type=\"groupchat\" from=\"team@conference.localhost/Bobby\" id=\"1\">"
      "<body>hi</body><x xmlns=\"http://jabber.org/protocol/muc#user\">"
      "<item jid=\"bob@localhost/phone\"/></x></message>",
      room);
  CHECK(named.shown);
  CHECK(contains(named.stanza_xml, "from=\"team@conference.localhost/bob@localhost\""));
  auto anonymous = room_row(
      "<message type=\"groupchat\" from=\"team@conference.localhost/Bobby\" id=\"2\">"
      "<body>hi</body></message>",
      room);
  CHECK(contains(anonymous.stanza_xml, "from=\"team@conference.localhost/Bobby\""));
  auto subject = room_row(
      "<message type=\"groupchat\" from=\"team@conference.localhost/bob@localhost\">"
      "<subject>news</subject></message>",
      room);
  CHECK_FALSE(subject.shown);
}

TEST_CASE("invitations that servers archive are not chat rows") {
  mimrest::ArchivedMessage mediated{
      "1", 0,
      "<message to=\"team@conference.localhost\"><x "
      "xmlns=\"http://jabber.org/protocol/muc#user\"><invite to=\"bob@localhost\"/></x>"
      "</message>"};
  mimrest::ArchivedMessage direct{"2", 0,
                                  "<message to=\"bob@localhost\"><x xmlns=\"jabber:x:conference\" "
                                  "jid=\"team@conference.localhost\"/></message>"};
  CHECK_FALSE(is_chat_row(mediated));
  CHECK_FALSE(is_chat_row(direct));
}
