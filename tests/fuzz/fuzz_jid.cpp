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
//   a domain in brackets is an IPv6 address (in lower case), any other has
//   no brackets or colons;
// * a domain given in brackets is accepted exactly when inet_pton reads an
//   IPv6 address in it;
// * preparation is idempotent: to_string() parses again to an equal JID (same
//   hash), bare_string() to its bare(), from_parts() of its parts gives it
//   back, and prepare_localpart() of its localpart gives the localpart back;
// * prepare_localpart(x) succeeds, for x without '@' and '/', exactly when
//   "x@localhost" parses, and to the same localpart.
#include <mimrest/jid.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>

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

// Whether `text` is an IPv6 address, as the C library reads one.
bool is_ipv6_address(std::string_view text) {
  if (text.find('\0') != std::string_view::npos) {
    return false;
  }
  in6_addr address{};
  return inet_pton(AF_INET6, std::string(text).c_str(), &address) == 1;
}

// A domain in brackets (RFC 7622: an IP-literal) is an IPv6 address with its
// hex digits in lower case; any other domain has no brackets or colons.
bool valid_domain_shape(std::string_view domain) {
  if (domain.front() != '[') {
    return domain.find_first_of("[]:") == std::string_view::npos;
  }
  return domain.size() >= 2 && domain.back() == ']' &&
         is_ipv6_address(domain.substr(1, domain.size() - 2)) &&
         domain.find_first_of("ABCDEF") == std::string_view::npos;
}

// A domain given in brackets is accepted exactly when it is an IPv6 address.
void check_bracketed_domain(std::string_view domain) {
  if (!domain.empty() && domain.back() == '.') {
    domain.remove_suffix(1);  // RFC 7622 section 3.2: a final dot is stripped
  }
  if (domain.size() < 2 || domain.front() != '[' || domain.back() != ']') {
    return;
  }
  const auto jid = Jid::from_parts({}, domain);
  MIMREST_FUZZ_CHECK(jid.has_value() == is_ipv6_address(domain.substr(1, domain.size() - 2)),
                     printable(domain));
}

void check_jid(const Jid& jid, std::string_view input) {
  const std::string context = printable(input) + " -> " + printable(jid.to_string());
  MIMREST_FUZZ_CHECK(!jid.domain().empty(), context);
  MIMREST_FUZZ_CHECK(jid.local().size() <= Jid::max_part_bytes &&
                         jid.domain().size() <= Jid::max_part_bytes &&
                         jid.resource().size() <= Jid::max_part_bytes,
                     context);
  MIMREST_FUZZ_CHECK(valid_domain_shape(jid.domain()), context);
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
      check_bracketed_domain(domain);
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
