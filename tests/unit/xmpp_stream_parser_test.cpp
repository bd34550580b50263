#include "xmpp/stream_parser.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using mimrest::xmpp::StreamError;
using mimrest::xmpp::StreamEvent;
using mimrest::xmpp::StreamLimits;
using mimrest::xmpp::StreamParser;
using Kind = mimrest::xmpp::StreamEvent::Kind;

namespace {

const std::string header =
    "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
    "xmlns:stream='http://etherx.jabber.org/streams' from='localhost' id='s1' version='1.0' "
    "xml:lang='en'>";

/// What a stream yields: "header", "element:<xml>", "end" or "error:<kind>".
std::vector<std::string> events(StreamParser& parser) {
  std::vector<std::string> out;
  for (;;) {
    StreamEvent event = parser.next();
    switch (event.kind) {
      case Kind::need_more:
        return out;
      case Kind::header:
        out.push_back("header");
        break;
      case Kind::element:
        out.push_back("element:" + event.element.xml());
        break;
      case Kind::end:
        out.push_back("end");
        break;
      case Kind::error:
        out.push_back("error:" + std::string(mimrest::xmpp::to_string(event.error)));
        return out;
    }
  }
}

std::vector<std::string> parse_all(const std::string& bytes, StreamLimits limits = {}) {
  StreamParser parser(limits);
  parser.append(bytes);
  return events(parser);
}

/// The same bytes fed in chunks of `size`, events collected after each.
std::vector<std::string> parse_chunked(const std::string& bytes, std::size_t size,
                                       StreamLimits limits = {}) {
  StreamParser parser(limits);
  std::vector<std::string> out;
  for (std::size_t at = 0; at < bytes.size(); at += size) {
    parser.append(bytes.substr(at, size));
    for (auto& event : events(parser)) {
      out.push_back(std::move(event));
    }
    if (!out.empty() && out.back().rfind("error:", 0) == 0) {
      break;
    }
  }
  return out;
}

const std::string error_of(StreamError error) {
  return "error:" + std::string(mimrest::xmpp::to_string(error));
}

}  // namespace

TEST_CASE("The header, elements, keepalives and the end, in chunks of any size") {
  const std::string stream =
      header +
      "<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>"
      "</stream:features> \n <message id='1'><body>a\xC3\xA9</body></message>"
      "\n\n<presence/></stream:stream>";
  const std::vector<std::string> expected = {
      "header",
      "element:<features xmlns=\"http://etherx.jabber.org/streams\"><bind "
      "xmlns=\"urn:ietf:params:xml:ns:xmpp-bind\"/></features>",
      "element:<message id=\"1\"><body>a\xC3\xA9</body></message>", "element:<presence/>", "end"};
  CHECK(parse_all(stream) == expected);
  for (const std::size_t size : {1, 2, 3, 7, 64}) {
    CAPTURE(size);
    CHECK(parse_chunked(stream, size) == expected);
  }
}

TEST_CASE("The stream header's attributes") {
  StreamParser parser;
  parser.append(header);
  const StreamEvent event = parser.next();
  REQUIRE(event.kind == Kind::header);
  CHECK(event.header.id == "s1");
  CHECK(event.header.from == "localhost");
  CHECK(event.header.version == "1.0");
  CHECK(event.header.lang == "en");
  CHECK(parser.next().kind == Kind::need_more);
}

TEST_CASE("An element is reported as soon as its last byte is there") {
  StreamParser parser;
  parser.append(header + "<message><body>x</body></message");
  CHECK(events(parser) == std::vector<std::string>{"header"});
  parser.append(">");
  CHECK(events(parser) == std::vector<std::string>{"element:<message><body>x</body></message>"});
}

TEST_CASE("A restart reads a new document and drops the bytes not yet parsed") {
  StreamParser parser;
  parser.append(header + "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/><message/>");
  CHECK(parser.next().kind == Kind::header);
  CHECK(parser.next().kind == Kind::element);  // <proceed/>
  CHECK(parser.buffered_bytes() == 0);         // all given to expat; <message/> pending there
  parser.restart();
  CHECK(parser.next().kind == Kind::need_more);
  parser.append(header + "<presence/>");
  CHECK(events(parser) == std::vector<std::string>{"header", "element:<presence/>"});
}

TEST_CASE("A restart also drops what was queued but not parsed") {
  StreamParser parser;
  parser.append(header);
  CHECK(parser.next().kind == Kind::header);
  parser.append("<message/>");
  parser.restart();
  parser.append(header + "<presence/>");
  CHECK(events(parser) == std::vector<std::string>{"header", "element:<presence/>"});
}

TEST_CASE("Refused: DOCTYPE, entities, processing instructions, comments") {
  CHECK(parse_all("<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'b'>]>" + header) ==
        std::vector<std::string>{error_of(StreamError::restricted_xml)});
  CHECK(parse_all(header + "<message><body>&a;</body></message>") ==
        std::vector<std::string>{"header", error_of(StreamError::restricted_xml)});
  CHECK(parse_all(header + "<?php x?>") ==
        std::vector<std::string>{"header", error_of(StreamError::restricted_xml)});
  CHECK(parse_all(header + "<message><?x y?></message>") ==
        std::vector<std::string>{"header", error_of(StreamError::restricted_xml)});
  CHECK(parse_all(header + "<message><!-- c --></message>") ==
        std::vector<std::string>{"header", error_of(StreamError::restricted_xml)});
}

TEST_CASE("The billion laughs never get a chance") {
  const std::string laughs =
      "<?xml version='1.0'?><!DOCTYPE lolz [<!ENTITY lol 'lol'>"
      "<!ENTITY lol2 '&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;'>"
      "<!ENTITY lol3 '&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;'>]>" +
      header + "<message><body>&lol3;</body></message>";
  CHECK(parse_all(laughs) == std::vector<std::string>{error_of(StreamError::restricted_xml)});
}

TEST_CASE("Invalid UTF-8 and broken XML are errors") {
  CHECK(parse_all(header + "<message><body>\xC3\x28</body></message>") ==
        std::vector<std::string>{"header", error_of(StreamError::not_well_formed)});
  CHECK(parse_all(header + "<message><body>\xED\xA0\x80</body></message>") ==
        std::vector<std::string>{"header", error_of(StreamError::not_well_formed)});
  CHECK(parse_all(header + "<message></presence>") ==
        std::vector<std::string>{"header", error_of(StreamError::not_well_formed)});
  CHECK(parse_all(header + "<message a='1' a='2'/>") ==
        std::vector<std::string>{"header", error_of(StreamError::not_well_formed)});
  CHECK(parse_all(header + "text between") ==
        std::vector<std::string>{"header", error_of(StreamError::not_well_formed)});
  CHECK(parse_all(header + "<x:message/>") ==
        std::vector<std::string>{"header", error_of(StreamError::not_well_formed)});
  // An error stays.
  StreamParser parser;
  parser.append(header + "<<");
  CHECK(events(parser).back() == error_of(StreamError::not_well_formed));
  parser.append("<message/>");
  CHECK(parser.next().kind == Kind::error);
}

TEST_CASE("The root must be a jabber:client stream") {
  CHECK(parse_all("<stream xmlns='jabber:client'>") ==
        std::vector<std::string>{error_of(StreamError::invalid_namespace)});
  CHECK(parse_all("<stream:stream xmlns='jabber:server' "
                  "xmlns:stream='http://etherx.jabber.org/streams'>") ==
        std::vector<std::string>{error_of(StreamError::invalid_namespace)});
  CHECK(parse_all("<stream:stream xmlns:stream='http://etherx.jabber.org/streams'>") ==
        std::vector<std::string>{error_of(StreamError::invalid_namespace)});
}

TEST_CASE("The size cap counts an element from its start tag to its end tag") {
  // (The header, shorter, is held to the cap too.)
  const std::string exactly = "<message><body>" + std::string(300, 'x') + "</body></message>";
  const StreamLimits limits{exactly.size(), 64};
  const std::string stream = header + "  " + exactly + "\n" + exactly + " ";
  const std::vector<std::string> two = {"header", "element:" + exactly, "element:" + exactly};
  CHECK(parse_all(stream, limits) == two);
  for (const std::size_t size : {1, 5, 13, 1000}) {
    CAPTURE(size);
    CHECK(parse_chunked(stream, size, limits) == two);
  }
  const std::string one_more = "<message><body>" + std::string(301, 'x') + "</body></message>";
  CHECK(parse_all(header + one_more, limits) ==
        std::vector<std::string>{"header", error_of(StreamError::too_large)});
  CHECK(parse_chunked(header + one_more, 7, limits) ==
        std::vector<std::string>{"header", error_of(StreamError::too_large)});
  // A huge start tag counts too.
  CHECK(parse_all(header + "<message id='" + std::string(400, 'x') + "'/>", limits) ==
        std::vector<std::string>{"header", error_of(StreamError::too_large)});
}

TEST_CASE("The cap holds while the bytes arrive: no more than it is buffered") {
  const StreamLimits limits{1000, 64};
  StreamParser parser(limits);
  parser.append(header);
  CHECK(parser.next().kind == Kind::header);
  parser.append("<message><body>");
  std::size_t fed = 15;
  bool failed = false;
  // An element that never ends: the error comes once 1001 of its bytes are in.
  while (!failed && fed < 5000) {
    parser.append(std::string(10, 'x'));
    fed += 10;
    for (StreamEvent event = parser.next(); event.kind != Kind::need_more; event = parser.next()) {
      REQUIRE(event.kind == Kind::error);
      CHECK(event.error == StreamError::too_large);
      failed = true;
      break;
    }
  }
  CHECK(failed);
  CHECK(fed <= 1010);
}

TEST_CASE("Nesting deeper than the limit is refused") {
  const auto nested = [](std::size_t depth) {
    std::string text;
    for (std::size_t i = 0; i < depth; ++i) {
      text += "<a>";
    }
    for (std::size_t i = 0; i < depth; ++i) {
      text += "</a>";
    }
    return text;
  };
  const StreamLimits limits{1 << 20, 8};
  CHECK(parse_all(header + nested(8), limits).size() == 2);
  CHECK(parse_all(header + nested(9), limits) ==
        std::vector<std::string>{"header", error_of(StreamError::too_deep)});
  CHECK(parse_all(header + nested(100000)) ==
        std::vector<std::string>{"header", error_of(StreamError::too_deep)});
}

TEST_CASE("Nothing is read after the end of the stream") {
  StreamParser parser;
  parser.append(header + "</stream:stream><message/>");
  CHECK(events(parser) == std::vector<std::string>{"header", "end"});
  parser.append("<presence/>");
  CHECK(parser.next().kind == Kind::need_more);
}

TEST_CASE("Error conditions for the stream error a receiver sends") {
  CHECK(mimrest::xmpp::stream_error_condition(StreamError::not_well_formed) == "not-well-formed");
  CHECK(mimrest::xmpp::stream_error_condition(StreamError::restricted_xml) == "restricted-xml");
  CHECK(mimrest::xmpp::stream_error_condition(StreamError::too_large) == "policy-violation");
  CHECK(mimrest::xmpp::stream_error_condition(StreamError::invalid_namespace) ==
        "invalid-namespace");
}
