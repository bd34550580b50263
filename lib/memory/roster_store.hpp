// Internal: rosters of all users with the RFC 6121 subscription state machine
// applied on both sides.
#pragma once

#include <mutex>
#include <unordered_map>
#include <vector>

#include "memory/user_directory.hpp"
#include "mimrest/backend/roster.hpp"
#include "mimrest/jid.hpp"

namespace mimrest::memory::detail {

/// Thread-safe: one mutex guards every roster, so that a change touching both
/// sides (subscribe, approve, remove) is atomic. Items keep insertion order.
class RosterStore final : public SyncRoster<NullMutex> {
 public:
  explicit RosterStore(const UserDirectory& users);

  RosterItemsResult items(const Caller& user) override;
  RosterResult add(const Caller& user, const Jid& contact) override;
  RosterResult subscribe(const Caller& user, const Jid& contact) override;
  RosterResult approve(const Caller& user, const Jid& contact) override;
  RosterResult remove(const Caller& user, const Jid& contact) override;
  /// Forgets a user's roster (the account is deleted).
  void remove_owner(const Jid& user);

 private:
  using Items = std::vector<RosterItem>;
  RosterItem* find_item(const Jid& user, const Jid& contact);
  RosterItem& find_or_add_item(const Jid& user, const Jid& contact);
  /// A local account whose roster the server maintains.
  bool is_local_user(const Jid& jid) const;

  const UserDirectory& users_;
  mutable std::mutex mutex_;
  std::unordered_map<Jid, Items> rosters_;  // by bare owner
};

}  // namespace mimrest::memory::detail
