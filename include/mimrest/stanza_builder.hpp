// The outgoing message stanzas of POST /messages and POST /rooms/{id}/messages,
// built with correct XML escaping.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "mimrest/export.hpp"

namespace mimrest {

/// <message type="chat" from=.. to=.. id=..><body>..</body></message>
MIMREST_EXPORT std::string build_chat_message(std::string_view from, std::string_view to,
                                              std::string_view id, std::string_view body);

/// A chat marker (XEP-0333): <received|displayed|acknowledged id=".."/>.
struct MIMREST_EXPORT ChatMarker {
  std::string type;  ///< "received", "displayed" or "acknowledged"
  std::string id;
};

/// What a client may put in a room message.
struct MIMREST_EXPORT RoomMessageContent {
  std::optional<std::string> body;
  bool markable = false;  ///< adds <markable/> only together with a body
  std::optional<ChatMarker> chat_marker;
};

/// <message type="groupchat" from=.. to=room id=..>[<body/>][<markable/>][<marker/>]</message>
MIMREST_EXPORT std::string build_room_message(std::string_view from, std::string_view room_jid,
                                              std::string_view id,
                                              const RoomMessageContent& content);

/// Whether XML 1.0 can carry `text` as it is: valid UTF-8 without the
/// characters XML forbids (control characters other than tab, line feed and
/// carriage return; U+FFFE, U+FFFF). The builders replace what it cannot
/// carry, so callers that must not alter text check it first.
MIMREST_EXPORT bool is_xml_representable(std::string_view text) noexcept;

/// Whether `type` is one of the three chat marker element names.
MIMREST_EXPORT bool is_chat_marker_type(std::string_view type) noexcept;

}  // namespace mimrest
