// Routing one-to-one messages.
#pragma once

#include <string>

#include "mimrest/jid.hpp"

namespace mimrest {

/// Routes a stanza a user sends. Thread-safe.
class MessageRouter {
 public:
  virtual ~MessageRouter() = default;
  /// Routes `stanza_xml` (a type="chat" message from `from`, a bare JID, to
  /// `to`). The host archives it for both parties and delivers it to the
  /// recipient's sessions. A message accepted here must not be lost.
  virtual void route_chat_message(const Jid& from, const Jid& to, std::string stanza_xml) = 0;
};

}  // namespace mimrest
