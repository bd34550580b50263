// A user's roster (RFC 6121) as the gateway keeps it for one XMPP session:
// the items of the roster get, kept up to date by the server's roster pushes,
// and the subscription requests received and not answered yet (which RFC
// 6121 does not list as roster items; the API shows them as `ask: in`).
// Pure state: fed with the server's elements, asked for the API's items.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include <pugixml.hpp>

#include "core/detail/test_export.hpp"
#include "mimrest/backend/roster.hpp"
#include "mimrest/jid.hpp"

namespace mimrest::xmpp {

inline constexpr std::string_view kRosterNs = "jabber:iq:roster";

class MIMREST_TEST_EXPORT RosterState {
 public:
  /// Replaces the items with those of a roster result's <query/>.
  void reset(pugi::xml_node query);
  /// Applies one <item/> of a roster push (or of a result); an item with
  /// subscription="remove" goes. Items whose JID is not a bare JID are
  /// ignored.
  void apply(pugi::xml_node item);
  /// A subscription request from `contact` arrived (true), or was withdrawn,
  /// approved, denied or made moot (false).
  void set_pending_in(const Jid& contact, bool pending);

  bool contains(const Jid& contact) const;
  /// The items in the order the server listed them, then the contacts whose
  /// requests wait and who are not in the roster (none, ask in).
  std::vector<RosterItem> items() const;

 private:
  struct Entry {
    Jid jid;
    Subscription subscription = Subscription::none;
    bool asked = false;  // ask="subscribe": our request waits
  };
  std::optional<std::size_t> find(const Jid& contact) const;

  std::vector<Entry> entries_;
  std::vector<Jid> pending_in_;
};

}  // namespace mimrest::xmpp
