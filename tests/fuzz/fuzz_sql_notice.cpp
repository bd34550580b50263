// libFuzzer target: the SQL backend's NOTIFY codec (lib/sql/notice_codec.hpp),
// which reads what other nodes of a PostgreSQL service sent.
//
// Input: the first byte picks the mode, the rest is the data.
//   even: the data is a payload; decode() it.
//   odd:  the data describes deliveries and logouts (fields separated by
//         0xFF: node, then per item sequence bytes, stanza, users), which are
//         encoded with a small limit and decoded back.
//
// Properties:
// * decode() accepts only canonical payloads: whatever it accepts encodes
//   back to exactly the same bytes;
// * encode() then decode() gives back the node, the items and the logouts,
//   in order; every frame not marked oversized is within the limit, and a
//   frame marked oversized holds exactly one item or user.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.hpp"
#include "sql/notice_codec.hpp"

namespace {

using namespace mimrest::sql::detail::notice;
using mimrest::fuzz::printable;

void check_canonical(std::string_view payload) {
  auto message = decode(payload);
  if (!message) {
    return;
  }
  std::string again;
  switch (message->kind) {
    case Kind::deliveries: {
      auto frames = encode(message->node, message->items, {}, SIZE_MAX);
      again = frames.empty() ? "" : frames[0].payload;
      if (message->items.empty()) {
        return;  // "no items" is a valid payload encode() never sends
      }
      break;
    }
    case Kind::logout: {
      auto frames = encode(message->node, {}, message->users, SIZE_MAX);
      if (message->users.empty()) {
        return;
      }
      again = frames.empty() ? "" : frames[0].payload;
      break;
    }
    case Kind::spilled:
      again = encode_spilled(message->node, message->spilled_id);
      break;
  }
  MIMREST_FUZZ_CHECK(again == payload,
                     "re-encoded " + printable(again) + " from " + printable(payload));
}

std::vector<std::string_view> split(std::string_view data) {
  std::vector<std::string_view> fields;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= data.size(); ++i) {
    if (i == data.size() || static_cast<unsigned char>(data[i]) == 0xFF) {
      fields.push_back(data.substr(start, i - start));
      start = i + 1;
    }
  }
  return fields;
}

void check_round_trip(std::string_view data) {
  const auto fields = split(data);
  const std::string node(fields[0]);
  std::vector<Item> items;
  std::vector<std::string> logouts;
  for (std::size_t i = 1; i + 2 < fields.size(); i += 3) {
    Item item;
    for (unsigned char c : fields[i]) {
      item.sequence = item.sequence * 131 + c;
    }
    item.stanza = std::string(fields[i + 1]);
    std::string_view users = fields[i + 2];
    while (!users.empty()) {
      const std::size_t length = std::min<std::size_t>(users.size(), 1 + users[0] % 16);
      item.recipients.push_back(Recipient{std::string(users.substr(0, length)), length * 7});
      users.remove_prefix(length);
    }
    if (item.recipients.size() % 3 == 2) {
      logouts.push_back(item.stanza);
    }
    items.push_back(std::move(item));
  }
  const std::size_t limit = 64 + data.size() % 512;
  const auto frames = encode(node, items, logouts, limit);
  std::vector<Item> got_items;
  std::vector<std::string> got_users;
  for (const Frame& frame : frames) {
    auto message = decode(frame.payload);
    MIMREST_FUZZ_CHECK(message.has_value(), "undecodable " + printable(frame.payload));
    MIMREST_FUZZ_CHECK(message->node == node, printable(frame.payload));
    MIMREST_FUZZ_CHECK(frame.oversized == (frame.payload.size() > limit), printable(frame.payload));
    if (frame.oversized) {
      MIMREST_FUZZ_CHECK(message->items.size() + message->users.size() == 1,
                         printable(frame.payload));
    }
    got_items.insert(got_items.end(), message->items.begin(), message->items.end());
    got_users.insert(got_users.end(), message->users.begin(), message->users.end());
  }
  MIMREST_FUZZ_CHECK(got_items == items, "items differ after a round trip");
  MIMREST_FUZZ_CHECK(got_users == logouts, "logouts differ after a round trip");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) {
    return 0;
  }
  const std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  if (data[0] % 2 == 0) {
    check_canonical(rest);
  } else {
    check_round_trip(rest);
  }
  return 0;
}
