// libFuzzer target: the XMPP stream parser (lib/xmpp/stream_parser.hpp),
// which reads every byte an XMPP server sends to the gateway's clients.
//
// Input: byte 0 picks the element size cap (0: the 1 MiB default, else
// 16 * byte), byte 1 seeds the chunk sizes (0: everything at once), the rest
// is the server's stream. The bytes go to the parser in chunks of 1 to 256
// bytes drawn from the seed; after <proceed/> (STARTTLS) and <success/>
// (SASL) the stream restarts, as the client does.
//
// Properties:
// * no crash, leak or sanitizer report, whatever the bytes;
// * every element reported is within the cap (its size on the wire), and no
//   more bytes than were given so far;
// * an element's xml() reparses, in a stream of its own, to exactly one
//   element with the same serialization;
// * after an error or the end, nothing more is reported;
// * without a restart, the events do not depend on the chunk sizes: the
//   stream given at once yields the same header, elements, end or error.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.hpp"
#include "xmpp/stream_parser.hpp"

namespace {

using mimrest::fuzz::printable;
using mimrest::xmpp::StreamEvent;
using mimrest::xmpp::StreamLimits;
using mimrest::xmpp::StreamParser;
namespace ns = mimrest::xmpp::ns;

const std::string header =
    "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' "
    "version='1.0'>";

/// One event as text, for comparing runs.
std::string describe(const StreamEvent& event) {
  switch (event.kind) {
    case StreamEvent::Kind::need_more:
      return "need_more";
    case StreamEvent::Kind::header:
      return "header id=" + event.header.id + " from=" + event.header.from +
             " version=" + event.header.version + " lang=" + event.header.lang;
    case StreamEvent::Kind::element:
      return "element " + event.element.xml();
    case StreamEvent::Kind::end:
      return "end";
    case StreamEvent::Kind::error:
      return "error " + std::string(mimrest::xmpp::to_string(event.error));
  }
  return "?";
}

bool restarts(const StreamEvent& event) {
  return event.kind == StreamEvent::Kind::element &&
         (event.element.is("proceed", ns::tls) || event.element.is("success", ns::sasl));
}

void check_reparses(const StreamEvent& event) {
  const std::string xml = event.element.xml();
  // The serialization may be longer than the wire form (escapes), and the
  // header is held to the cap too.
  StreamParser parser(StreamLimits{xml.size() + header.size(), 1 << 20});
  parser.append(header + xml + "</stream:stream>");
  MIMREST_FUZZ_CHECK(parser.next().kind == StreamEvent::Kind::header, printable(xml));
  const StreamEvent again = parser.next();
  MIMREST_FUZZ_CHECK(again.kind == StreamEvent::Kind::element,
                     printable(xml) + " -> " + describe(again) + " " + again.detail);
  MIMREST_FUZZ_CHECK(again.element.xml() == xml,
                     printable(xml) + " -> " + printable(again.element.xml()));
  MIMREST_FUZZ_CHECK(parser.next().kind == StreamEvent::Kind::end, printable(xml));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) {
    return 0;
  }
  const std::size_t cap = data[0] == 0 ? std::size_t{1} << 20 : std::size_t{16} * data[0];
  std::uint32_t seed = data[1];
  const std::string_view stream(reinterpret_cast<const char*>(data) + 2, size - 2);
  const StreamLimits limits{cap, 64};

  StreamParser parser(limits);
  std::vector<std::string> events;
  bool restarted = false;
  bool finished = false;  // an error or the end was reported
  std::size_t given = 0;  // bytes appended since the last restart
  std::size_t at = 0;
  while (at < stream.size()) {
    std::size_t chunk = stream.size() - at;
    if (seed != 0) {
      seed = seed * 1103515245u + 12345u;
      chunk = std::min<std::size_t>(chunk, 1 + (seed >> 16) % 256);
    }
    parser.append(stream.substr(at, chunk));
    at += chunk;
    given += chunk;
    for (StreamEvent event = parser.next(); event.kind != StreamEvent::Kind::need_more;
         event = parser.next()) {
      MIMREST_FUZZ_CHECK(!finished || event.kind == StreamEvent::Kind::error,
                         "an event after the end or an error: " + describe(event));
      if (finished) {
        break;  // the same error again
      }
      events.push_back(describe(event));
      if (event.kind == StreamEvent::Kind::element) {
        MIMREST_FUZZ_CHECK(event.bytes <= cap && event.bytes <= given,
                           std::to_string(event.bytes) + " bytes, cap " + std::to_string(cap));
        MIMREST_FUZZ_CHECK(!event.element.empty(), describe(event));
        check_reparses(event);
      }
      if (event.kind == StreamEvent::Kind::error || event.kind == StreamEvent::Kind::end) {
        finished = true;
      }
      if (restarts(event)) {
        parser.restart();
        restarted = true;
        given = 0;
        break;
      }
    }
  }

  if (!restarted && seed != 0) {
    StreamParser whole(limits);
    whole.append(stream);
    std::vector<std::string> at_once;
    for (StreamEvent event = whole.next(); event.kind != StreamEvent::Kind::need_more;
         event = whole.next()) {
      at_once.push_back(describe(event));
      if (event.kind == StreamEvent::Kind::error || event.kind == StreamEvent::Kind::end ||
          restarts(event)) {
        break;
      }
    }
    std::string both;
    for (std::size_t i = 0; i < events.size() || i < at_once.size(); ++i) {
      both += "\n  " + printable(i < events.size() ? events[i] : "-", 120) + " | " +
              printable(i < at_once.size() ? at_once[i] : "-", 120);
    }
    MIMREST_FUZZ_CHECK(events == at_once, "chunked | at once:" + both);
  }
  return 0;
}
