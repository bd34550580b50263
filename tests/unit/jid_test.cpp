#include "mimrest/jid.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <unordered_set>
#include <vector>

using mimrest::Jid;
using mimrest::JidError;

namespace {

JidError parse_error(std::string_view text) {
  const auto jid = Jid::parse(text);
  REQUIRE_FALSE(jid.has_value());
  return jid.error();
}

std::string parsed(std::string_view text) {
  const auto jid = Jid::parse(text);
  REQUIRE(jid.has_value());
  return jid->to_string();
}

}  // namespace

TEST_CASE("a full JID splits into its three parts") {
  const auto jid = Jid::parse("alice@localhost/phone");
  REQUIRE(jid.has_value());
  CHECK(jid->local() == "alice");
  CHECK(jid->domain() == "localhost");
  CHECK(jid->resource() == "phone");
  CHECK_FALSE(jid->is_bare());
  CHECK(jid->to_string() == "alice@localhost/phone");
  CHECK(jid->bare_string() == "alice@localhost");
  CHECK(jid->bare().to_string() == "alice@localhost");
  CHECK(jid->bare().is_bare());
}

TEST_CASE("domain-only and domain/resource JIDs") {
  const auto domain = Jid::parse("muclight.localhost");
  REQUIRE(domain.has_value());
  CHECK(domain->local().empty());
  CHECK(domain->bare_string() == "muclight.localhost");
  CHECK(domain->to_string() == "muclight.localhost");

  const auto with_resource = Jid::parse("localhost/admin");
  REQUIRE(with_resource.has_value());
  CHECK(with_resource->local().empty());
  CHECK(with_resource->resource() == "admin");
  CHECK(with_resource->to_string() == "localhost/admin");
}

TEST_CASE("localpart and domain are case folded, unicode included") {
  CHECK(parsed("ALICE@LocalHost") == "alice@localhost");
  // U+00C9 LATIN CAPITAL LETTER E WITH ACUTE folds to U+00E9.
  CHECK(parsed("\xC3\x89LODIE@localhost") == "\xC3\xA9lodie@localhost");
  // U+0394 GREEK CAPITAL LETTER DELTA folds to U+03B4.
  CHECK(parsed("\xCE\x94@EXAMPLE.COM") == "\xCE\xB4@example.com");
  // Case folding maps U+00DF (sharp s) to "ss".
  CHECK(parsed("stra\xC3\x9F"
               "e@localhost") == "strasse@localhost");
  CHECK(parsed("bob@\xC3\x89XAMPLE.org") == "bob@\xC3\xA9xample.org");
}

TEST_CASE("resource keeps its case but is normalised") {
  CHECK(parsed("alice@localhost/Phone") == "alice@localhost/Phone");
  // NFKC: U+FB01 (fi ligature) becomes "fi"; case is preserved.
  CHECK(parsed("alice@localhost/My\xEF\xAC\x81le") == "alice@localhost/Myfile");
}

TEST_CASE("the first slash starts the resource, which may hold '/' and '@'") {
  const auto jid = Jid::parse("alice@localhost/a/b@c/d");
  REQUIRE(jid.has_value());
  CHECK(jid->local() == "alice");
  CHECK(jid->domain() == "localhost");
  CHECK(jid->resource() == "a/b@c/d");

  // An '@' after the first '/' belongs to the resource, not the localpart.
  const auto domain_jid = Jid::parse("localhost/x@y");
  REQUIRE(domain_jid.has_value());
  CHECK(domain_jid->local().empty());
  CHECK(domain_jid->resource() == "x@y");
}

TEST_CASE("empty parts are errors") {
  CHECK(parse_error("") == JidError::empty_domain);
  CHECK(parse_error("alice@") == JidError::empty_domain);
  CHECK(parse_error("alice@/res") == JidError::empty_domain);
  CHECK(parse_error("/res") == JidError::empty_domain);
  CHECK(parse_error("@localhost") == JidError::empty_localpart);
  CHECK(parse_error("@") != JidError::part_too_long);
  CHECK(parse_error("alice@localhost/") == JidError::empty_resource);
  CHECK(parse_error("localhost/") == JidError::empty_resource);
  CHECK(parse_error(".") == JidError::empty_domain);
}

TEST_CASE("every forbidden localpart character is rejected") {
  for (const char* bad : {"\"", "&", "'", "/", ":", "<", ">", "@", " ", "\t", "\n", "\r"}) {
    const std::string local = std::string("a") + bad + "b";
    INFO("localpart " << local);
    const auto prepared = mimrest::prepare_localpart(local);
    REQUIRE_FALSE(prepared.has_value());
    CHECK(prepared.error() == JidError::localpart_invalid);
  }
  for (const char* bad : {"\"", "&", "'", ":", "<", ">", " "}) {
    const std::string text = std::string("a") + bad + "b@localhost";
    INFO("JID " << text);
    CHECK(parse_error(text) == JidError::localpart_invalid);
  }
  // U+00A0 NO-BREAK SPACE is prohibited by nodeprep too.
  CHECK(parse_error("a\xC2\xA0"
                    "b@localhost") == JidError::localpart_invalid);
  // Allowed punctuation stays.
  CHECK(parsed("first.last+tag_x-y@localhost") == "first.last+tag_x-y@localhost");
}

TEST_CASE("prepare_localpart alone") {
  const auto ok = mimrest::prepare_localpart("Room-42");
  REQUIRE(ok.has_value());
  CHECK(*ok == "room-42");
  const auto empty = mimrest::prepare_localpart("");
  REQUIRE_FALSE(empty.has_value());
  CHECK(empty.error() == JidError::empty_localpart);
}

TEST_CASE("invalid domains are rejected") {
  CHECK(parse_error("alice@local host") == JidError::domain_invalid);
  CHECK(parse_error("alice@a@b") == JidError::domain_invalid);
  CHECK(parse_error("alice@a..b") == JidError::domain_invalid);
  CHECK(parse_error("alice@.localhost") == JidError::domain_invalid);
  CHECK(parse_error("alice@local<host") == JidError::domain_invalid);
  CHECK(parse_error("alice@local:5222") == JidError::domain_invalid);
}

TEST_CASE("a trailing dot of the domain is removed") {
  CHECK(parsed("alice@localhost.") == "alice@localhost");
  CHECK(parsed("Example.COM.") == "example.com");
}

TEST_CASE("IP literal domains are accepted") {
  CHECK(parsed("alice@[::1]") == "alice@[::1]");
  CHECK(parsed("alice@[2001:DB8::1]/r") == "alice@[2001:db8::1]/r");
  CHECK(parsed("alice@127.0.0.1") == "alice@127.0.0.1");
  CHECK(parsed("[::]") == "[::]");
  CHECK(parsed("alice@[1:2:3:4:5:6:7:8]") == "alice@[1:2:3:4:5:6:7:8]");
  CHECK(parsed("alice@[::FFFF:192.0.2.1]") == "alice@[::ffff:192.0.2.1]");
  CHECK(parsed("alice@[fe80::1].") == "alice@[fe80::1]");
}

TEST_CASE("only an IPv6 address may stand in brackets (RFC 7622)") {
  using namespace std::string_literals;
  // Not IPv6 addresses: empty, a lone colon, unbalanced or nested brackets,
  // too many groups or digits, two "::", IPv4 alone, zone IDs (RFC 6874),
  // IPvFuture, spaces, prefixes, NUL bytes, a short or bad IPv4 tail.
  const std::vector<std::string> not_ipv6 = {"[]"s,
                                             "[:]"s,
                                             "[::1"s,
                                             "::1]"s,
                                             "[[::1]]"s,
                                             "[1:2:3:4:5:6:7:8:9:0:1:2:3]"s,
                                             "[1:2:3:4:5:6:7:8:9]"s,
                                             "[12345::1]"s,
                                             "[::g]"s,
                                             "[1::2::3]"s,
                                             "[127.0.0.1]"s,
                                             "[::1%25eth0]"s,
                                             "[::1%eth0]"s,
                                             "[v1.fe80::a+en1]"s,
                                             "[ ::1]"s,
                                             "[::1/64]"s,
                                             "[::1\0]"s,
                                             "[::1\0garbage]"s,
                                             "[::ffff:1.2.3]"s,
                                             "[::ffff:1.2.3.256]"s};
  for (const std::string& text : not_ipv6) {
    INFO(text);
    const auto jid = Jid::parse("alice@" + text);
    REQUIRE_FALSE(jid.has_value());
    CHECK(jid.error() == JidError::domain_invalid);
    const auto parts = Jid::from_parts("alice", text);
    REQUIRE_FALSE(parts.has_value());
    CHECK(parts.error() == JidError::domain_invalid);
  }
}

TEST_CASE("an IP literal domain is held to the 1023-byte limit") {
  // What looked like an IP literal (hex digits, colons and dots in brackets)
  // used to pass whatever its length.
  const std::string long_literal = "[:" + std::string(1021, 'a') + "]";
  REQUIRE(long_literal.size() == 1024);
  CHECK(parse_error("x@" + long_literal) == JidError::part_too_long);
  const std::string longer = "[" + std::string(4000, ':') + "]";
  CHECK(parse_error("x@" + longer) == JidError::part_too_long);
  // Within the limit, it still has to be an address.
  CHECK(parse_error("x@[:" + std::string(1020, 'a') + "]") == JidError::domain_invalid);
}

TEST_CASE("each part is limited to 1023 bytes after preparation") {
  const std::string ok(1023, 'a');
  const std::string too_long(1024, 'a');

  CHECK(Jid::parse(ok + "@localhost").has_value());
  CHECK(parse_error(too_long + "@localhost") == JidError::part_too_long);

  CHECK(Jid::parse("alice@" + ok).has_value());
  CHECK(parse_error("alice@" + too_long) == JidError::part_too_long);

  CHECK(Jid::parse("alice@localhost/" + ok).has_value());
  CHECK(parse_error("alice@localhost/" + too_long) == JidError::part_too_long);

  // The limit counts bytes, not characters: 512 two-byte characters = 1024 bytes.
  std::string wide;
  for (int i = 0; i < 512; ++i) {
    wide += "\xC3\xA9";
  }
  CHECK(parse_error(wide + "@localhost") == JidError::part_too_long);
  // Folding to lower case keeps the size, so the prepared length is what counts.
  CHECK(parse_error(std::string(1024, 'A') + "@localhost") == JidError::part_too_long);

  // Huge input is rejected without trouble.
  CHECK(parse_error(std::string(1 << 20, 'a') + "@localhost") == JidError::part_too_long);
}

TEST_CASE("invalid UTF-8 and NUL bytes are rejected in every part") {
  CHECK(parse_error("al\xFFice@localhost") == JidError::localpart_invalid);
  CHECK(parse_error("\xC3@localhost") == JidError::localpart_invalid);          // truncated
  CHECK(parse_error("\xC0\xAF@localhost") == JidError::localpart_invalid);      // overlong '/'
  CHECK(parse_error("\xED\xA0\x80@localhost") == JidError::localpart_invalid);  // surrogate
  CHECK(parse_error("alice@local\xFEhost") == JidError::domain_invalid);
  CHECK(parse_error("alice@localhost/r\x80") == JidError::resource_invalid);

  using namespace std::string_literals;
  CHECK(parse_error("al\0ice@localhost"s) == JidError::localpart_invalid);
  CHECK(parse_error("alice@local\0host"s) == JidError::domain_invalid);
  CHECK(parse_error("alice@localhost/r\0"s) == JidError::resource_invalid);
}

TEST_CASE("from_parts prepares each part") {
  const auto jid = Jid::from_parts("Room", "MUCLIGHT.localhost");
  REQUIRE(jid.has_value());
  CHECK(jid->to_string() == "room@muclight.localhost");

  const auto full = Jid::from_parts("Bob", "localhost", "Res");
  REQUIRE(full.has_value());
  CHECK(full->to_string() == "bob@localhost/Res");

  const auto bad = Jid::from_parts("a@b", "localhost");
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error() == JidError::localpart_invalid);

  const auto no_domain = Jid::from_parts("a", "");
  REQUIRE_FALSE(no_domain.has_value());
  CHECK(no_domain.error() == JidError::empty_domain);
}

TEST_CASE("equality, ordering and hashing use the prepared form") {
  const auto a = Jid::parse("Alice@LOCALHOST/r");
  const auto b = Jid::parse("alice@localhost/r");
  const auto c = Jid::parse("alice@localhost/R");
  REQUIRE(a.has_value());
  REQUIRE(b.has_value());
  REQUIRE(c.has_value());
  CHECK(*a == *b);
  CHECK(*a != *c);
  CHECK(std::hash<Jid>{}(*a) == std::hash<Jid>{}(*b));
  CHECK((*a < *c || *c < *a));
  CHECK_FALSE(*a < *b);
  CHECK_FALSE(*b < *a);

  std::unordered_set<Jid> set{*a, *b, *c, a->bare()};
  CHECK(set.size() == 3);
  CHECK(set.count(*Jid::parse("ALICE@localhost")) == 1);

  // "ab@c" and "a@bc" must differ even though their characters line up.
  CHECK(*Jid::parse("ab@c") != *Jid::parse("a@bc"));
}

TEST_CASE("every error has a description") {
  for (const auto error :
       {JidError::empty_domain, JidError::empty_localpart, JidError::empty_resource,
        JidError::localpart_invalid, JidError::domain_invalid, JidError::resource_invalid,
        JidError::part_too_long}) {
    CHECK_FALSE(mimrest::to_string(error).empty());
  }
}

TEST_CASE("characters that normalise to forbidden ones are rejected") {
  // U+FF20 FULLWIDTH COMMERCIAL AT becomes '@' under NFKC.
  CHECK(parse_error("a\xEF\xBC\xA0"
                    "b@localhost") == JidError::localpart_invalid);
  // U+FF0F FULLWIDTH SOLIDUS becomes '/'.
  CHECK(parse_error("a\xEF\xBC\x8F"
                    "b@localhost") == JidError::localpart_invalid);
  // U+FF0E FULLWIDTH FULL STOP becomes '.', so this is a trailing dot.
  CHECK(parsed("alice@localhost\xEF\xBC\x8E") == "alice@localhost");
}

TEST_CASE("preparation that expands the text a lot still works") {
  // U+FDFA expands under NFKC to 18 characters (33 bytes) from 3 bytes.
  const auto jid = Jid::parse("alice@localhost/\xEF\xB7\xBA");
  REQUIRE(jid.has_value());
  CHECK(jid->resource().size() == 33);
  CHECK(jid->resource().substr(0, 4) == "\xD8\xB5\xD9\x84");
}
