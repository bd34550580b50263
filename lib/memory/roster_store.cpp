#include "memory/roster_store.hpp"

#include <algorithm>

namespace mimrest::memory::detail {

namespace {

// Subscription and Ask are two independent bits each: to/from and out/in.
bool has_to(Subscription s) {
  return s == Subscription::to || s == Subscription::both;
}
bool has_from(Subscription s) {
  return s == Subscription::from || s == Subscription::both;
}
Subscription make_subscription(bool to, bool from) {
  if (to && from) {
    return Subscription::both;
  }
  return to ? Subscription::to : from ? Subscription::from : Subscription::none;
}

bool has_out(Ask a) {
  return a == Ask::out || a == Ask::both;
}
bool has_in(Ask a) {
  return a == Ask::in || a == Ask::both;
}
Ask make_ask(bool out, bool in) {
  if (out && in) {
    return Ask::both;
  }
  return out ? Ask::out : in ? Ask::in : Ask::none;
}

}  // namespace

RosterStore::RosterStore(const UserDirectory& users) : users_(users) {}

bool RosterStore::is_local_user(const Jid& jid) const {
  return users_.is_local_domain(jid.domain()) && users_.exists(jid);
}

RosterItem* RosterStore::find_item(const Jid& user, const Jid& contact) {
  auto roster = rosters_.find(user);
  if (roster == rosters_.end()) {
    return nullptr;
  }
  auto& items = roster->second;
  auto it = std::find_if(items.begin(), items.end(),
                         [&](const RosterItem& item) { return item.jid == contact; });
  return it == items.end() ? nullptr : &*it;
}

RosterItem& RosterStore::find_or_add_item(const Jid& user, const Jid& contact) {
  if (auto* item = find_item(user, contact)) {
    return *item;
  }
  auto& items = rosters_.try_emplace(user).first->second;
  items.push_back(RosterItem{contact, Subscription::none, Ask::none});
  return items.back();
}

RosterItemsResult RosterStore::items(const Caller& user) {
  std::lock_guard lock(mutex_);
  auto it = rosters_.find(user.bare());
  return it == rosters_.end() ? std::vector<RosterItem>{} : it->second;
}

void RosterStore::remove_owner(const Jid& user) {
  std::lock_guard lock(mutex_);
  rosters_.erase(user.bare());
}

RosterResult RosterStore::add(const Caller& user, const Jid& contact) {
  const Jid owner = user.bare();
  const Jid other = contact.bare();
  // An account deleted meanwhile leaves an item like any remote contact's.
  if (users_.is_local_domain(other.domain()) && !users_.exists(other)) {
    return unexpected(RosterError::contact_not_found);
  }
  std::lock_guard lock(mutex_);
  find_or_add_item(owner, other);
  return {};
}

RosterResult RosterStore::subscribe(const Caller& user, const Jid& contact) {
  const Jid owner = user.bare();
  const Jid other = contact.bare();
  const bool local_contact = is_local_user(other);
  std::lock_guard lock(mutex_);
  auto* item = find_item(owner, other);
  if (item == nullptr) {
    return unexpected(RosterError::not_in_roster);
  }
  if (has_to(item->subscription)) {
    return {};  // already subscribed: nothing to ask for
  }
  item->ask = make_ask(true, has_in(item->ask));
  if (local_contact) {
    // Adding an item may reallocate a roster: `item` is not used past here.
    auto& theirs = find_or_add_item(other, owner);
    theirs.ask = make_ask(has_out(theirs.ask), true);
  }
  return {};
}

RosterResult RosterStore::approve(const Caller& user, const Jid& contact) {
  const Jid owner = user.bare();
  const Jid other = contact.bare();
  std::lock_guard lock(mutex_);
  auto* item = find_item(owner, other);
  if (item == nullptr) {
    return unexpected(RosterError::not_in_roster);
  }
  if (!has_in(item->ask)) {
    return {};  // nothing pending: an unsolicited approval changes nothing
  }
  item->subscription = make_subscription(has_to(item->subscription), true);
  item->ask = make_ask(has_out(item->ask), false);
  if (auto* theirs = find_item(other, owner)) {
    theirs->subscription = make_subscription(true, has_from(theirs->subscription));
    theirs->ask = make_ask(false, has_in(theirs->ask));
  }
  return {};
}

RosterResult RosterStore::remove(const Caller& user, const Jid& contact) {
  const Jid owner = user.bare();
  const Jid other = contact.bare();
  std::lock_guard lock(mutex_);
  auto roster = rosters_.find(owner);
  if (roster == rosters_.end()) {
    return unexpected(RosterError::not_in_roster);
  }
  auto& items = roster->second;
  auto it = std::find_if(items.begin(), items.end(),
                         [&](const RosterItem& item) { return item.jid == other; });
  if (it == items.end()) {
    return unexpected(RosterError::not_in_roster);
  }
  items.erase(it);
  // Removal cancels both directions (RFC 6121 2.5): the contact keeps the
  // item, with no subscription and nothing pending.
  if (auto* theirs = find_item(other, owner)) {
    theirs->subscription = Subscription::none;
    theirs->ask = Ask::none;
  }
  return {};
}

}  // namespace mimrest::memory::detail
