// Message archives (XEP-0313, urn:xmpp:mam:2) with result set management
// (XEP-0059): the query that reads one page of an archive, and the archived
// messages that come back. Pure functions of stanzas, so they are tested and
// fuzzed without a server.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/detail/test_export.hpp"
#include "mimrest/backend/archive.hpp"
#include "mimrest/jid.hpp"
#include "xmpp/stanza.hpp"

namespace mimrest::xmpp {

inline constexpr std::string_view kMamNs = "urn:xmpp:mam:2";
inline constexpr std::string_view kRsmNs = "http://jabber.org/protocol/rsm";
inline constexpr std::string_view kForwardNs = "urn:xmpp:forward:0";
inline constexpr std::string_view kDelayNs = "urn:xmpp:delay";
inline constexpr std::string_view kDataNs = "jabber:x:data";
inline constexpr std::string_view kMucUserNs = "http://jabber.org/protocol/muc#user";

/// One page of an archive, as the API asks for it: messages strictly between
/// the bounds (a time in microseconds, or the id of a message that bounds the
/// page), the newest `limit` of them without a lower bound, the oldest with
/// one.
struct MIMREST_TEST_EXPORT MamPage {
  std::optional<Jid> with;                ///< one-to-one archives: only with this JID
  std::optional<std::int64_t> before_us;  ///< strictly older than this
  std::optional<std::int64_t> after_us;   ///< strictly newer than this
  std::optional<std::string> before_id;
  std::optional<std::string> after_id;
  std::size_t limit = 50;

  /// Whether the page is read forwards (it has a lower bound).
  bool forward() const { return after_us.has_value() || after_id.has_value(); }
};

/// Bounds a query form can carry: from the epoch (no archive holds older
/// messages) to the end of year 9999 (XEP-0082 has four-digit years). Drops a
/// bound beyond them that excludes nothing; false when a bound excludes
/// everything, so the page is empty without asking the server.
MIMREST_TEST_EXPORT bool clamp_to_datetimes(MamPage& page);

/// The iq set that queries a page: of the user's own archive (`archive`
/// empty) or of a room's (`archive` its JID). `query_id` tags the results.
MIMREST_TEST_EXPORT Stanza mam_query(const std::optional<Jid>& archive, const std::string& query_id,
                                     const MamPage& page);

/// The resource of every gateway session ("mimrest-" and a random part).
inline constexpr std::string_view kGatewayResource = "mimrest-";

/// A one-to-one message as the API shows it: where `from` or `to` is a
/// gateway session's full JID, the bare JID (a message sent through the API
/// comes from the user's bare JID, as in MongooseIM); the rest unchanged.
MIMREST_TEST_EXPORT std::string as_api_message(const std::string& stanza_xml);

/// Whether an archived one-to-one row is a message the API lists: not a room
/// invitation (XEP-0045 mediated or XEP-0249 direct), which servers archive
/// as well.
MIMREST_TEST_EXPORT bool is_chat_row(const ArchivedMessage& row);

/// The archived message a result carries, when `message` is a result of the
/// query `query_id` sent by the archive: `archive` (a room), or the user's
/// own account when `archive` is empty (its results come from the user's
/// bare JID, or with no `from`). Its id, its timestamp and the forwarded
/// <message/> serialized without the stream's namespace. nullopt for
/// anything else (not a result of this query, from someone else, no
/// timestamp, no message).
MIMREST_TEST_EXPORT std::optional<ArchivedMessage> mam_result(const Stanza& message,
                                                              std::string_view query_id,
                                                              const std::optional<Jid>& archive,
                                                              const Jid& user);

/// For a room archive: the sender's bare JID put in the resource of `from`
/// when the archived message names the occupant's real JID (a non-anonymous
/// room's <x xmlns='http://jabber.org/protocol/muc#user'><item jid=.../>), as
/// MUC Light addresses room messages; the stanza unchanged otherwise. Also
/// whether it is a message the API shows: not a subject change alone.
struct MIMREST_TEST_EXPORT RoomRow {
  bool shown = false;
  std::string stanza_xml;
};
MIMREST_TEST_EXPORT RoomRow room_row(const std::string& stanza_xml, const Jid& room);

}  // namespace mimrest::xmpp
