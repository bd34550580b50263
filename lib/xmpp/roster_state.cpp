#include "xmpp/roster_state.hpp"

#include <algorithm>

#include "xmpp/stanza.hpp"

namespace mimrest::xmpp {

namespace {

std::optional<Jid> bare_jid(std::string_view text) {
  auto jid = Jid::parse(text);
  if (!jid || !jid->is_bare()) {
    return std::nullopt;
  }
  return std::move(jid).value();
}

Subscription subscription_of(std::string_view text) {
  if (text == "to") {
    return Subscription::to;
  }
  if (text == "from") {
    return Subscription::from;
  }
  if (text == "both") {
    return Subscription::both;
  }
  return Subscription::none;
}

}  // namespace

std::optional<std::size_t> RosterState::find(const Jid& contact) const {
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    if (entries_[i].jid == contact) {
      return i;
    }
  }
  return std::nullopt;
}

void RosterState::reset(pugi::xml_node query) {
  entries_.clear();
  for (pugi::xml_node item = query.first_child(); item; item = item.next_sibling()) {
    if (item.type() == pugi::node_element && std::string_view(item.name()) == "item") {
      apply(item);
    }
  }
}

void RosterState::apply(pugi::xml_node item) {
  auto contact = bare_jid(item.attribute("jid").value());
  if (!contact) {
    return;
  }
  const std::string_view subscription = item.attribute("subscription").value();
  auto at = find(*contact);
  if (subscription == "remove") {
    if (at) {
      entries_.erase(entries_.begin() + static_cast<std::ptrdiff_t>(*at));
    }
    set_pending_in(*contact, false);
    return;
  }
  Entry entry{*contact, subscription_of(subscription),
              std::string_view(item.attribute("ask").value()) == "subscribe"};
  // A contact who has our presence asks for nothing any more.
  if (entry.subscription == Subscription::from || entry.subscription == Subscription::both) {
    set_pending_in(*contact, false);
  }
  if (at) {
    entries_[*at] = std::move(entry);
  } else {
    entries_.push_back(std::move(entry));
  }
}

void RosterState::set_pending_in(const Jid& contact, bool pending) {
  auto it = std::find(pending_in_.begin(), pending_in_.end(), contact);
  if (pending && it == pending_in_.end()) {
    pending_in_.push_back(contact);
  } else if (!pending && it != pending_in_.end()) {
    pending_in_.erase(it);
  }
}

bool RosterState::contains(const Jid& contact) const {
  return find(contact).has_value();
}

std::vector<RosterItem> RosterState::items() const {
  auto waits = [this](const Jid& contact) {
    return std::find(pending_in_.begin(), pending_in_.end(), contact) != pending_in_.end();
  };
  std::vector<RosterItem> items;
  items.reserve(entries_.size() + pending_in_.size());
  for (const Entry& entry : entries_) {
    const bool in = waits(entry.jid);
    const Ask ask = entry.asked ? (in ? Ask::both : Ask::out) : (in ? Ask::in : Ask::none);
    items.push_back(RosterItem{entry.jid, entry.subscription, ask});
  }
  for (const Jid& contact : pending_in_) {
    if (!find(contact)) {
      items.push_back(RosterItem{contact, Subscription::none, Ask::in});
    }
  }
  return items;
}

}  // namespace mimrest::xmpp
