// Contacts (roster, RFC 6121): the asynchronous interface and its
// synchronous base.
#pragma once

#include <mutex>
#include <string_view>
#include <vector>

#include "mimrest/backend/caller.hpp"
#include "mimrest/backend/error.hpp"
#include "mimrest/backend/sync.hpp"
#include "mimrest/completion.hpp"
#include "mimrest/expected.hpp"
#include "mimrest/export.hpp"
#include "mimrest/jid.hpp"

namespace mimrest {

enum class Subscription { none, to, from, both };
/// Pending requests: `out` we asked them, `in` they asked us.
enum class Ask { none, in, out, both };

MIMREST_EXPORT std::string_view to_string(Subscription subscription) noexcept;
MIMREST_EXPORT std::string_view to_string(Ask ask) noexcept;

struct MIMREST_EXPORT RosterItem {
  Jid jid;  ///< bare
  Subscription subscription = Subscription::none;
  Ask ask = Ask::none;
};

/// The roster's own ways to fail (besides a Failure).
enum class RosterError {
  contact_not_found,  ///< the contact's account does not exist (local domains only)
  not_in_roster,      ///< the item does not exist
};

using RosterItemsResult = Expected<std::vector<RosterItem>, Failure>;
using RosterResult = Expected<void, Error<RosterError>>;

/// Rosters of all users. `user` is the caller, `contact` a prepared bare JID.
///
/// Every operation finishes through its Completion (see completion.hpp):
/// exactly once, inline or later, from any thread. Arguments are valid only
/// during the call: an implementation that completes later copies what it
/// needs. Operations may be called concurrently from many threads.
class MIMREST_EXPORT Roster {
 public:
  virtual ~Roster() = default;
  /// The items in a stable order (as stored).
  virtual void async_items(const Caller& user, Completion<RosterItemsResult> done) = 0;
  /// Adds `contact` with no subscription (none/none). Adding an existing item
  /// leaves it as it is.
  virtual void async_add(const Caller& user, const Jid& contact, Completion<RosterResult> done) = 0;
  /// Sends presence subscribe: user asks for contact's presence.
  virtual void async_subscribe(const Caller& user, const Jid& contact,
                               Completion<RosterResult> done) = 0;
  /// Sends presence subscribed: user approves contact's pending request.
  virtual void async_approve(const Caller& user, const Jid& contact,
                             Completion<RosterResult> done) = 0;
  /// Removes the item and cancels the subscriptions both ways.
  virtual void async_remove(const Caller& user, const Jid& contact,
                            Completion<RosterResult> done) = 0;
};

/// For a roster that answers at once: override the plain functions, which
/// return the result; the base completes. Calls are serialised by `Mutex`
/// (NullMutex when the functions are thread-safe themselves); an exception
/// one throws is answered as Failure::internal.
template <class Mutex = std::mutex>
class SyncRoster : public Roster, protected SyncCalls<Mutex> {
 public:
  virtual RosterItemsResult items(const Caller& user) = 0;
  virtual RosterResult add(const Caller& user, const Jid& contact) = 0;
  virtual RosterResult subscribe(const Caller& user, const Jid& contact) = 0;
  virtual RosterResult approve(const Caller& user, const Jid& contact) = 0;
  virtual RosterResult remove(const Caller& user, const Jid& contact) = 0;

  void async_items(const Caller& user, Completion<RosterItemsResult> done) final {
    this->complete(done, [&] { return items(user); });
  }
  void async_add(const Caller& user, const Jid& contact, Completion<RosterResult> done) final {
    this->complete(done, [&] { return add(user, contact); });
  }
  void async_subscribe(const Caller& user, const Jid& contact,
                       Completion<RosterResult> done) final {
    this->complete(done, [&] { return subscribe(user, contact); });
  }
  void async_approve(const Caller& user, const Jid& contact, Completion<RosterResult> done) final {
    this->complete(done, [&] { return approve(user, contact); });
  }
  void async_remove(const Caller& user, const Jid& contact, Completion<RosterResult> done) final {
    this->complete(done, [&] { return remove(user, contact); });
  }
};

}  // namespace mimrest
