// A hook for features derived from message traffic (an inbox with unread
// counts, metrics, a search index): told of every message a backend
// archives, so that such a feature is written once for every backend that
// offers the hook (HostingConfig::observers for the ready-made ones).
#pragma once

#include "mimrest/backend/archive.hpp"
#include "mimrest/export.hpp"
#include "mimrest/jid.hpp"

namespace mimrest {

/// Called after the message is stored (committed), from the backend's
/// threads, concurrently, with no backend lock held. Keep it quick (the
/// backend's delivery waits for it) and do not throw.
class MIMREST_EXPORT MessageObserver {
 public:
  virtual ~MessageObserver() = default;
  /// A one-to-one message stored in `owner`'s archive: `with` is the other
  /// party, `outgoing` whether `owner` sent it. Each message is archived
  /// twice, once per party.
  virtual void chat_archived(const Jid& owner, const Jid& with, bool outgoing,
                             const ArchivedMessage& message) = 0;
  /// A message stored in a room's archive (room messages and affiliation
  /// notices); `sender` is the user who caused it.
  virtual void room_archived(const Jid& room, const Jid& sender,
                             const ArchivedMessage& message) = 0;
};

}  // namespace mimrest
