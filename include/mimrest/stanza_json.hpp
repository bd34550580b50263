// Message stanza -> JSON, exactly as the client REST API shows messages (the
// "Stanza to JSON" rules of docs/api.md), for archive reads and SSE.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "mimrest/expected.hpp"
#include "mimrest/export.hpp"

namespace mimrest {

enum class StanzaError {
  not_well_formed,  ///< not well-formed XML (or more than one root element)
  doctype,          ///< has a DOCTYPE: XMPP forbids DTDs, entities are never expanded
  not_a_message,    ///< the root element is not <message>
};

MIMREST_EXPORT std::string_view to_string(StanzaError error) noexcept;

enum class MessageEncoding {
  automatic,  ///< room encoding for type="groupchat", chat encoding otherwise
  chat,       ///< {from, to, id, body, timestamp, thread, parent, properties}
  room,       ///< {id, from, timestamp, type, ...}
};

struct MIMREST_EXPORT JsonOptions {
  std::int64_t timestamp = 0;  ///< written as is (the caller picks ms or us)
  MessageEncoding encoding = MessageEncoding::automatic;
  /// SSE shape: room messages also carry "room" (the bare room ID).
  bool sse = false;
};

/// Converts one <message> stanza to a compact JSON object. Pure and
/// thread-safe; never throws on bad input.
MIMREST_EXPORT Expected<std::string, StanzaError> message_to_json(std::string_view stanza_xml,
                                                                  const JsonOptions& options);

/// The value of a message's type attribute, as far as the API cares.
enum class MessageType { chat, groupchat, other };

struct MIMREST_EXPORT TypedMessageJson {
  MessageType type;
  std::string json;
};

/// message_to_json that also tells the message's type, from the same single
/// parse: for callers that pick what to do by type (SSE pushes).
MIMREST_EXPORT Expected<TypedMessageJson, StanzaError> typed_message_to_json(
    std::string_view stanza_xml, const JsonOptions& options);

}  // namespace mimrest
