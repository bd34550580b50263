// libFuzzer target: JID parsing and preparation (Jid::parse, Jid::from_parts,
// prepare_localpart), which every request runs on user-supplied text.
//
// Input: the first byte picks the mode, the rest is the text.
//   mode % 3 == 0: Jid::parse(text);
//   mode % 3 == 1: Jid::from_parts(local, domain, resource), the text split
//                  at NUL bytes (NUL is never valid in a JID);
//   mode % 3 == 2: prepare_localpart(text).
//
// Properties of every accepted JID:
// * a domain, each part at most Jid::max_part_bytes, valid UTF-8, no
//   character RFC 7622 forbids in a localpart, no '@' or '/' in the domain;
// * preparation is idempotent: to_string() parses again to an equal JID (same
//   hash), bare_string() to its bare(), from_parts() of its parts gives it
//   back, and prepare_localpart() of its localpart gives the localpart back;
// * prepare_localpart(x) succeeds, for x without '@' and '/', exactly when
//   "x@localhost" parses, and to the same localpart.
#include <mimrest/jid.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"

namespace {

using mimrest::Jid;
using mimrest::fuzz::printable;

bool forbidden_in_localpart(std::string_view local) {
  for (const char c : local) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7F || std::string_view("\"&'/:<>@").find(c) != std::string_view::npos) {
      return true;
    }
  }
  return false;
}

// Known deviation (README.md, findings): an IP-literal domain ("[...]") is
// not held to Jid::max_part_bytes.
bool tolerated_long_domain(const Jid& jid) {
  return mimrest::fuzz::kTolerateKnownIssues && jid.domain().front() == '[';
}

void check_jid(const Jid& jid, std::string_view input) {
  const std::string context = printable(input) + " -> " + printable(jid.to_string());
  MIMREST_FUZZ_CHECK(!jid.domain().empty(), context);
  MIMREST_FUZZ_CHECK(
      jid.local().size() <= Jid::max_part_bytes &&
          (jid.domain().size() <= Jid::max_part_bytes || tolerated_long_domain(jid)) &&
          jid.resource().size() <= Jid::max_part_bytes,
      context);
  MIMREST_FUZZ_CHECK(mimrest::fuzz::valid_utf8(jid.local()) &&
                         mimrest::fuzz::valid_utf8(jid.domain()) &&
                         mimrest::fuzz::valid_utf8(jid.resource()),
                     context);
  MIMREST_FUZZ_CHECK(!forbidden_in_localpart(jid.local()), context);
  MIMREST_FUZZ_CHECK(jid.domain().find_first_of("@/") == std::string::npos, context);
  MIMREST_FUZZ_CHECK(jid.is_bare() == jid.resource().empty(), context);
  MIMREST_FUZZ_CHECK(!(jid < jid) && jid == jid, context);

  const auto again = Jid::parse(jid.to_string());
  MIMREST_FUZZ_CHECK(again.has_value(),
                     context + ": " + std::string(mimrest::to_string(again.error())));
  MIMREST_FUZZ_CHECK(*again == jid, context + " -> " + printable(again->to_string()));
  MIMREST_FUZZ_CHECK(std::hash<Jid>{}(*again) == std::hash<Jid>{}(jid), context);

  const Jid bare = jid.bare();
  MIMREST_FUZZ_CHECK(bare.is_bare() && bare.local() == jid.local() && bare.domain() == jid.domain(),
                     context);
  const auto bare_again = Jid::parse(jid.bare_string());
  MIMREST_FUZZ_CHECK(bare_again && *bare_again == bare, context);

  const auto from_parts = Jid::from_parts(jid.local(), jid.domain(), jid.resource());
  MIMREST_FUZZ_CHECK(from_parts && *from_parts == jid, context);

  if (!jid.local().empty()) {
    const auto local = mimrest::prepare_localpart(jid.local());
    MIMREST_FUZZ_CHECK(local && *local == jid.local(), context);
  }
}

void check_localpart(std::string_view text) {
  const auto local = mimrest::prepare_localpart(text);
  if (text.find_first_of("@/") == std::string_view::npos && !text.empty()) {
    const auto jid = Jid::parse(std::string(text) + "@localhost");
    MIMREST_FUZZ_CHECK(local.has_value() == jid.has_value(), printable(text));
    if (local) {
      MIMREST_FUZZ_CHECK(jid->local() == *local, printable(text));
    } else {
      MIMREST_FUZZ_CHECK(local.error() == jid.error(), printable(text));
    }
  }
  if (!local) {
    return;
  }
  MIMREST_FUZZ_CHECK(!local->empty() && local->size() <= Jid::max_part_bytes, printable(text));
  MIMREST_FUZZ_CHECK(!forbidden_in_localpart(*local), printable(text));
  const auto again = mimrest::prepare_localpart(*local);
  MIMREST_FUZZ_CHECK(again && *again == *local, printable(text) + " -> " + printable(*local));
  const auto room = Jid::from_parts(*local, "muclight.localhost");
  MIMREST_FUZZ_CHECK(room && room->local() == *local, printable(text));
  check_jid(*room, text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) {
    return 0;
  }
  const std::uint8_t mode = data[0];
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (mode % 3) {
    case 0: {
      const auto jid = Jid::parse(text);
      if (jid) {
        check_jid(*jid, text);
      }
      break;
    }
    case 1: {
      mimrest::fuzz::ByteReader reader(text);
      const std::string_view local = reader.until('\0');
      const std::string_view domain = reader.until('\0');
      const std::string_view resource = reader.rest();
      const auto jid = Jid::from_parts(local, domain, resource);
      if (jid) {
        check_jid(*jid, text);
      }
      break;
    }
    default:
      check_localpart(text);
      break;
  }
  return 0;
}
