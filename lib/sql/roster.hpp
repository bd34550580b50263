// Internal: rosters with the RFC 6121 subscription state machine applied on
// both sides in one transaction.
#pragma once

#include "mimrest/backend/roster.hpp"
#include "sql/hosting.hpp"
#include "sql/store.hpp"

namespace mimrest::sql::detail {

class SqlRoster final : public Roster {
 public:
  SqlRoster(Store& store, const Hosting& hosting) : store_(store), hosting_(hosting) {}

  void async_items(const Caller& user, Completion<RosterItemsResult> done) override;
  void async_add(const Caller& user, const Jid& contact, Completion<RosterResult> done) override;
  void async_subscribe(const Caller& user, const Jid& contact,
                       Completion<RosterResult> done) override;
  void async_approve(const Caller& user, const Jid& contact,
                     Completion<RosterResult> done) override;
  void async_remove(const Caller& user, const Jid& contact, Completion<RosterResult> done) override;

 private:
  Store& store_;
  const Hosting& hosting_;
};

}  // namespace mimrest::sql::detail
