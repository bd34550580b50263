// Contacts (roster, RFC 6121).
#pragma once

#include <string_view>
#include <vector>

#include "mimrest/expected.hpp"
#include "mimrest/jid.hpp"

namespace mimrest {

enum class Subscription { none, to, from, both };
/// Pending requests: `out` we asked them, `in` they asked us.
enum class Ask { none, in, out, both };

std::string_view to_string(Subscription subscription) noexcept;
std::string_view to_string(Ask ask) noexcept;

struct RosterItem {
  Jid jid;  ///< bare
  Subscription subscription = Subscription::none;
  Ask ask = Ask::none;
};

enum class RosterError {
  contact_not_found,  ///< the contact's account does not exist (local domains only)
  not_in_roster,      ///< the item does not exist
};

/// Rosters of all users. Thread-safe. `user` and `contact` are bare JIDs.
class Roster {
 public:
  virtual ~Roster() = default;
  /// The items in a stable order (as stored).
  virtual std::vector<RosterItem> items(const Jid& user) const = 0;
  /// Adds `contact` with no subscription (none/none). Adding an existing
  /// item leaves it as it is.
  virtual Expected<void, RosterError> add(const Jid& user, const Jid& contact) = 0;
  /// Sends presence subscribe: user asks for contact's presence.
  virtual Expected<void, RosterError> subscribe(const Jid& user, const Jid& contact) = 0;
  /// Sends presence subscribed: user approves contact's pending request.
  virtual Expected<void, RosterError> approve(const Jid& user, const Jid& contact) = 0;
  /// Removes the item and cancels the subscriptions both ways.
  virtual Expected<void, RosterError> remove(const Jid& user, const Jid& contact) = 0;
};

}  // namespace mimrest
