// The NOTIFY codec of the SQL backend (lib/sql/notice_codec.hpp): what one
// node encodes, every other node decodes to the same thing; payloads fit
// PostgreSQL's limit or are marked for the table; nothing else decodes.
#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <vector>

#include "sql/notice_codec.hpp"

using namespace mimrest::sql::detail::notice;

namespace {

Item item(std::uint64_t sequence, std::string stanza, std::vector<Recipient> recipients) {
  return Item{sequence, std::move(stanza), std::move(recipients)};
}

/// Every frame decoded, in order, as one list of items and one of users.
void decode_all(const std::vector<Frame>& frames, std::vector<Item>& items,
                std::vector<std::string>& users, const std::string& node) {
  for (const Frame& frame : frames) {
    auto message = decode(frame.payload);
    REQUIRE(message);
    CHECK(message->node == node);
    CHECK(message->spilled_id == 0);
    for (auto& decoded : message->items) {
      items.push_back(decoded);
    }
    for (auto& user : message->users) {
      users.push_back(user);
    }
  }
}

}  // namespace

TEST_CASE("notice codec: deliveries and logouts round-trip") {
  const std::vector<Item> items{
      item(1'700'000'000'000'001, "<message to='bob@localhost'><body>hi</body></message>",
           {{"bob@localhost", 1'699'999'999'999'999}}),
      item(0, "<message/>", {{"alice@localhost", 0}, {"bob@localhost", 0}}),
      item(18446744073709551615ull, "", {}),
      item(7, "spaces and : colons 12:34 and\nnewlines \"quotes\" \xc3\xa9", {{"x@y", 6}, {"", 0}}),
  };
  const std::vector<std::string> logouts{"carol@localhost", "d@e"};
  const auto frames = encode("node-1", items, logouts);
  REQUIRE(frames.size() == 2);  // one of each kind
  for (const auto& frame : frames) {
    CHECK_FALSE(frame.oversized);
    CHECK(frame.payload.size() <= kMaxPayload);
    CHECK(frame.payload.find('\0') == std::string::npos);
  }
  std::vector<Item> decoded;
  std::vector<std::string> users;
  decode_all(frames, decoded, users, "node-1");
  CHECK(decoded == items);
  CHECK(users == logouts);

  auto message = decode(frames[0].payload);
  REQUIRE(message);
  CHECK(message->kind == Kind::deliveries);
  CHECK(decode(frames[1].payload)->kind == Kind::logout);
}

TEST_CASE("notice codec: nothing to say, no frame") {
  CHECK(encode("n", {}, {}).empty());
}

TEST_CASE("notice codec: many items are split under the limit, in order") {
  std::vector<Item> items;
  for (std::uint64_t i = 1; i <= 500; ++i) {
    items.push_back(item(1000 + i, std::string(150, static_cast<char>('a' + i % 26)),
                         {{"user" + std::to_string(i) + "@localhost", 999 + i}}));
  }
  const auto frames = encode("abc", items, {}, 2000);
  CHECK(frames.size() > 30);
  for (const auto& frame : frames) {
    CHECK_FALSE(frame.oversized);
    CHECK(frame.payload.size() <= 2000);
  }
  std::vector<Item> decoded;
  std::vector<std::string> users;
  decode_all(frames, decoded, users, "abc");
  CHECK(decoded == items);
}

TEST_CASE("notice codec: an item over the limit gets a frame of its own, marked") {
  const std::string big(9000, 'x');
  const std::vector<Item> items{item(1, "small", {{"a@b", 0}}), item(2, big, {{"a@b", 1}}),
                                item(3, "small", {{"a@b", 2}})};
  const auto frames = encode("n", items, {});
  REQUIRE(frames.size() == 3);
  CHECK_FALSE(frames[0].oversized);
  CHECK(frames[1].oversized);
  CHECK(frames[1].payload.size() > kMaxPayload);
  CHECK_FALSE(frames[2].oversized);
  // The oversized frame is an ordinary payload: stored, then decoded as is.
  auto stored = decode(frames[1].payload);
  REQUIRE(stored);
  REQUIRE(stored->items.size() == 1);
  CHECK(stored->items[0].stanza == big);

  const std::string pointer = encode_spilled("n", 42);
  CHECK(pointer.size() < 100);
  auto spilled = decode(pointer);
  REQUIRE(spilled);
  CHECK(spilled->kind == Kind::spilled);
  CHECK(spilled->node == "n");
  CHECK(spilled->spilled_id == 42);
}

TEST_CASE("notice codec: anything else does not decode") {
  const std::string good = encode("n", {item(5, "s", {{"u@d", 4}})}, {})[0].payload;
  REQUIRE(decode(good));
  for (const std::string& bad : {
           std::string(""),
           std::string("m1"),
           std::string("m1 "),
           std::string("m1 d"),
           std::string("m2 d 1:n 0"),
           std::string("m1 x 1:n 0"),
           std::string("m1 d 1:n 0 "),       // trailing bytes
           std::string("m1 d 1:n 01"),       // leading zero
           std::string("m1 d 5:n 0"),        // string longer than the payload
           std::string("m1 d 1:n 1"),        // an item announced, none there
           std::string("m1 d 1:n 1 5 1:s"),  // recipients missing
           std::string("m1 d 1:n 1 5 1:s 1 3:u@d"),
           std::string("m1 d 1:n 99999999999999999999"),  // overflow
           std::string("m1 s 1:n 9223372036854775808"),   // id beyond int64
           std::string("m1 i 1:n 2 1:a"),
           good + " ",
           good.substr(0, good.size() - 1),
       }) {
    INFO(bad);
    CHECK_FALSE(decode(bad));
  }
}

TEST_CASE("notice codec: random bytes and mutations never crash") {
  std::mt19937 random(12345);
  const std::string good =
      encode("node", {item(5, "<m>x</m>", {{"u@d", 4}, {"v@d", 3}})}, {"w@d"})[0].payload;
  for (int round = 0; round < 20000; ++round) {
    std::string input = good;
    const int edits = 1 + static_cast<int>(random() % 4);
    for (int e = 0; e < edits; ++e) {
      const std::size_t at = random() % (input.size() + 1);
      switch (random() % 3) {
        case 0:
          if (at < input.size()) {
            input[at] = static_cast<char>(random() % 256);
          }
          break;
        case 1:
          input.insert(at, 1, static_cast<char>(random() % 256));
          break;
        default:
          if (at < input.size()) {
            input.erase(at, 1);
          }
          break;
      }
    }
    auto decoded = decode(input);
    if (decoded && decoded->kind == Kind::deliveries) {
      // Whatever decodes encodes back to the same bytes.
      auto again = encode(decoded->node, decoded->items, {}, 1 << 20);
      if (!decoded->items.empty()) {
        REQUIRE(again.size() == 1);
        CHECK(again[0].payload == input);
      }
    }
  }
}
