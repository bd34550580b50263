// Internal: the one codec of what the nodes of a PostgreSQL service tell each
// other through NOTIFY (see README "Live delivery across processes"). Every
// payload is made by encode() and read by decode(); nothing else builds or
// parses them.
//
// A payload is text (NOTIFY carries text in the server's encoding, never a
// NUL byte): "m1 " then the kind, then length-prefixed strings ("<bytes>:"
// followed by that many bytes) and decimal numbers, separated by one space:
//
//   m1 d <node> <count> { <seq> <stanza> <recipients> { <user> <prev> } }
//   m1 i <node> <count> { <user> }
//   m1 s <node> <id>
//
// d: stanzas for the sessions of users, each with the sequence of the row it
// delivers (0: not archived) and, per recipient, the sequence that user's
// stream stood at before it (`prev`: the receiver delivers in that chain).
// i: the logins of these users are no longer valid (a password changed, an
// account went). s: a payload too large for NOTIFY, stored in the row `id` of
// mimrest_notices by the same transaction; the receiver reads it there.
//
// decode() accepts exactly what encode() writes and nothing else (no trailing
// bytes, no leading zeros, counts bounded by the payload's size), and never
// reads out of bounds: it is safe on any input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/detail/test_export.hpp"

namespace mimrest::sql::detail::notice {

/// PostgreSQL refuses a NOTIFY payload of 8000 bytes or more.
inline constexpr std::size_t kMaxPayload = 7999;

struct Recipient {
  std::string user;  ///< bare JID
  std::uint64_t prev = 0;

  bool operator==(const Recipient& other) const { return user == other.user && prev == other.prev; }
};

struct Item {
  std::uint64_t sequence = 0;  ///< 0: not archived
  std::string stanza;
  std::vector<Recipient> recipients;

  bool operator==(const Item& other) const {
    return sequence == other.sequence && stanza == other.stanza && recipients == other.recipients;
  }
};

enum class Kind : char { deliveries = 'd', logout = 'i', spilled = 's' };

struct Message {
  Kind kind = Kind::deliveries;
  std::string node;
  std::vector<Item> items;         ///< deliveries
  std::vector<std::string> users;  ///< logout
  std::int64_t spilled_id = 0;     ///< spilled: the row of mimrest_notices

  bool operator==(const Message& other) const {
    return kind == other.kind && node == other.node && items == other.items &&
           users == other.users && spilled_id == other.spilled_id;
  }
};

/// One payload to send, in order. `oversized`: larger than `limit`; send it
/// through the table (store it, then send spilled(node, id)).
struct Frame {
  std::string payload;
  bool oversized = false;
};

/// The deliveries and logouts of one transaction as payloads of at most
/// `limit` bytes each where possible (as many items per payload as fit, in
/// order); an item that alone exceeds the limit gets a frame of its own,
/// marked oversized.
MIMREST_TEST_EXPORT std::vector<Frame> encode(std::string_view node, const std::vector<Item>& items,
                                              const std::vector<std::string>& logouts,
                                              std::size_t limit = kMaxPayload);

/// The payload that points at a stored one.
MIMREST_TEST_EXPORT std::string encode_spilled(std::string_view node, std::int64_t id);

/// The message, or nullopt when `payload` is not one encode() could write.
MIMREST_TEST_EXPORT std::optional<Message> decode(std::string_view payload);

}  // namespace mimrest::sql::detail::notice
