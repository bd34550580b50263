#include "xmpp/stanza.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <utility>

#include "xmpp/stream_parser.hpp"

using mimrest::xmpp::Stanza;
using mimrest::xmpp::StreamEvent;
using mimrest::xmpp::StreamParser;
namespace ns = mimrest::xmpp::ns;

namespace {

const std::string header =
    "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
    "xmlns:stream='http://etherx.jabber.org/streams' from='localhost' id='s1' version='1.0'>";

/// The one element of a stream made of `header` and `xml`.
Stanza parse(const std::string& xml) {
  StreamParser parser;
  parser.append(header + xml);
  REQUIRE(parser.next().kind == StreamEvent::Kind::header);
  StreamEvent event = parser.next();
  REQUIRE(event.kind == StreamEvent::Kind::element);
  return std::move(event.element);
}

}  // namespace

TEST_CASE("A received message has no xmlns; helpers read it") {
  const Stanza message = parse(
      "<message from='bob@localhost/r' to='alice@localhost' type='chat' id='m1' "
      "xml:lang='en'><body>Hi &amp; &lt;bye&gt;</body><thread>t</thread></message>");
  CHECK(message.name() == "message");
  CHECK(message.xmlns() == ns::client);
  CHECK(message.is("message", ns::client));
  CHECK(message.attribute("from") == "bob@localhost/r");
  CHECK(message.attribute("xml:lang") == "en");
  CHECK(message.attribute("missing").empty());
  CHECK_FALSE(message.has_attribute("missing"));
  CHECK(mimrest::xmpp::text_of(message.child("body", ns::client)) == "Hi & <bye>");
  CHECK_FALSE(message.child("body", "urn:other"));
  CHECK(message.xml() ==
        "<message from=\"bob@localhost/r\" to=\"alice@localhost\" type=\"chat\" id=\"m1\" "
        "xml:lang=\"en\"><body>Hi &amp; &lt;bye&gt;</body><thread>t</thread></message>");
}

TEST_CASE("xmlns only where the namespace changes: a MAM result and its forwarded message") {
  const Stanza message = parse(
      "<message to='alice@localhost/r'><result xmlns='urn:xmpp:mam:2' queryid='q' id='a1'>"
      "<forwarded xmlns='urn:xmpp:forward:0'><delay xmlns='urn:xmpp:delay' "
      "stamp='2024-01-01T00:00:00Z'/><message xmlns='jabber:client' from='bob@localhost' "
      "type='chat'><body>old</body></message></forwarded></result></message>");
  CHECK(message.xml() ==
        "<message to=\"alice@localhost/r\"><result xmlns=\"urn:xmpp:mam:2\" queryid=\"q\" "
        "id=\"a1\"><forwarded xmlns=\"urn:xmpp:forward:0\"><delay xmlns=\"urn:xmpp:delay\" "
        "stamp=\"2024-01-01T00:00:00Z\"/><message xmlns=\"jabber:client\" from=\"bob@localhost\" "
        "type=\"chat\"><body>old</body></message></forwarded></result></message>");
  const pugi::xml_node result = message.child("result", "urn:xmpp:mam:2");
  REQUIRE(result);
  const pugi::xml_node forwarded =
      mimrest::xmpp::child_element(result, "forwarded", "urn:xmpp:forward:0");
  const pugi::xml_node inner = mimrest::xmpp::child_element(forwarded, "message", ns::client);
  REQUIRE(inner);
  CHECK(mimrest::xmpp::namespace_of(inner.child("body")) == ns::client);
}

TEST_CASE("Prefixes are dropped: the namespace is what counts") {
  const Stanza features = parse(
      "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>"
      "<x:mechanisms xmlns:x='urn:ietf:params:xml:ns:xmpp-sasl'><x:mechanism>PLAIN</x:mechanism>"
      "</x:mechanisms></stream:features>");
  CHECK(features.is("features", ns::stream));
  CHECK(features.xml() ==
        "<features xmlns=\"http://etherx.jabber.org/streams\"><starttls "
        "xmlns=\"urn:ietf:params:xml:ns:xmpp-tls\"><required/></starttls><mechanisms "
        "xmlns=\"urn:ietf:params:xml:ns:xmpp-sasl\"><mechanism>PLAIN</mechanism></mechanisms>"
        "</features>");
  CHECK(features.child("starttls", ns::tls));
  CHECK(features.child("mechanisms", ns::sasl));
}

TEST_CASE("An attribute in another namespace keeps it through a prefix of its own") {
  const Stanza presence = parse(
      "<presence xmlns:a='urn:a' a:x='1' a:y='2'><c xmlns='urn:c' xmlns:b='urn:b' b:z='3'/>"
      "<d xmlns=''/></presence>");
  CHECK(presence.xml() ==
        "<presence xmlns:ns0=\"urn:a\" ns0:x=\"1\" ns0:y=\"2\"><c xmlns=\"urn:c\" "
        "xmlns:ns0=\"urn:b\" ns0:z=\"3\"/><d xmlns=\"\"/></presence>");
}

TEST_CASE("Text is kept exactly: whitespace, carriage returns, CDATA, non-ASCII") {
  const Stanza message = parse(
      "<message><body>  a&#13;b\n<![CDATA[<x>]]> \xC3\xA9 \xF0\x9F\x98\x80 </body></message>");
  const std::string body = mimrest::xmpp::text_of(message.child("body", ns::client));
  CHECK(body == "  a\rb\n<x> \xC3\xA9 \xF0\x9F\x98\x80 ");
  CHECK(message.xml() ==
        "<message><body>  a&#13;b\n&lt;x&gt; \xC3\xA9 \xF0\x9F\x98\x80 </body></message>");
  // And the serialization reads back to itself.
  CHECK(parse(message.xml()).xml() == message.xml());
  const Stanza spaces = parse("<message><body>   </body></message>");
  CHECK(mimrest::xmpp::text_of(spaces.child("body", ns::client)) == "   ");
}

TEST_CASE("Attribute values with tabs and line breaks survive a round trip") {
  const Stanza message = parse("<message id='a&#9;b&#10;c&#13;d&apos;\"'/>");
  CHECK(message.attribute("id") == "a\tb\nc\rd'\"");
  CHECK(parse(message.xml()).attribute("id") == "a\tb\nc\rd'\"");
}

TEST_CASE("Building an outgoing stanza") {
  Stanza iq("iq");
  iq.set_attribute("type", "set");
  iq.set_attribute("id", "r1");
  pugi::xml_node query = iq.append_child("query", "jabber:iq:roster");
  pugi::xml_node item = mimrest::xmpp::append_element(query, "item", "jabber:iq:roster");
  item.append_attribute("jid").set_value("bob@localhost");
  mimrest::xmpp::append_element(item, "group").text().set("Friends & <family>");
  iq.set_attribute("type", "get");  // replaces
  CHECK(iq.xml() ==
        "<iq type=\"get\" id=\"r1\"><query xmlns=\"jabber:iq:roster\"><item "
        "jid=\"bob@localhost\"><group>Friends &amp; &lt;family&gt;</group></item></query></iq>");
  CHECK(iq.child("query", "jabber:iq:roster"));
  Stanza message("message");
  message.append_child("body", ns::client).text().set("x");
  CHECK(message.xml() == "<message><body>x</body></message>");
}

TEST_CASE("Stanzas move and copy; an empty one is harmless") {
  Stanza original("message");
  original.set_attribute("id", "1");
  const pugi::xml_node root = original.root();
  Stanza moved(std::move(original));
  CHECK(moved.root() == root);  // nodes survive a move
  CHECK(original.empty());      // NOLINT(bugprone-use-after-move)
  Stanza copy(moved);
  copy.set_attribute("id", "2");
  CHECK(moved.attribute("id") == "1");
  CHECK(copy.attribute("id") == "2");
  Stanza assigned;
  assigned = copy;
  CHECK(assigned.xml() == "<message id=\"2\"/>");
  const Stanza empty;
  CHECK(empty.empty());
  CHECK_FALSE(static_cast<bool>(empty));
  CHECK(empty.name().empty());
  CHECK(empty.attribute("id").empty());
  CHECK(empty.xml().empty());
  CHECK_FALSE(empty.child("body", ns::client));
}

TEST_CASE("error_condition reads stanza and stream errors") {
  const Stanza iq = parse(
      "<iq type='error' id='1'><error type='cancel'><text "
      "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>no</text><item-not-found "
      "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>");
  CHECK(mimrest::xmpp::error_condition(iq.child("error", ns::client), ns::stanzas) ==
        "item-not-found");
  const Stanza error = parse(
      "<stream:error><system-shutdown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
      "</stream:error>");
  CHECK(error.is("error", ns::stream));
  CHECK(mimrest::xmpp::error_condition(error.root(), ns::streams) == "system-shutdown");
}
