#include "sql/roster.hpp"

#include <optional>
#include <utility>

#include "sql/jobs.hpp"
#include "sql/queries.hpp"

namespace mimrest::sql::detail {

namespace {

// The stored state: subscription and pending requests as four bits.
constexpr std::int64_t kTo = 1;
constexpr std::int64_t kFrom = 2;
constexpr std::int64_t kAskOut = 4;
constexpr std::int64_t kAskIn = 8;

Subscription subscription_of(std::int64_t state) {
  const bool to = (state & kTo) != 0;
  const bool from = (state & kFrom) != 0;
  if (to && from) {
    return Subscription::both;
  }
  return to ? Subscription::to : from ? Subscription::from : Subscription::none;
}

Ask ask_of(std::int64_t state) {
  const bool out = (state & kAskOut) != 0;
  const bool in = (state & kAskIn) != 0;
  if (out && in) {
    return Ask::both;
  }
  return out ? Ask::out : in ? Ask::in : Ask::none;
}

std::optional<std::int64_t> item_state(Connection& db, std::int64_t owner, std::int64_t contact) {
  Rows rows = db.query("SELECT state FROM mimrest_roster WHERE owner = $1 AND contact = $2",
                       {owner, contact});
  if (!rows.next()) {
    return std::nullopt;
  }
  return rows.integer(0);
}

void set_state(Connection& db, std::int64_t owner, std::int64_t contact, std::int64_t state) {
  db.execute("UPDATE mimrest_roster SET state = $3 WHERE owner = $1 AND contact = $2",
             {owner, contact, state});
}

/// Adds a none/none item at the end of the roster unless it is there.
void add_item(Connection& db, std::int64_t owner, std::int64_t contact) {
  db.execute(
      "INSERT INTO mimrest_roster (owner, contact, state, position) VALUES ($1, $2, 0, "
      "(SELECT coalesce(max(position), 0) + 1 FROM mimrest_roster WHERE owner = $1)) "
      "ON CONFLICT (owner, contact) DO NOTHING",
      {owner, contact});
}

/// The numbers of both JIDs when `owner` has an item for `contact`.
struct Pair {
  std::int64_t owner;
  std::int64_t contact;
  std::int64_t state;
};

std::optional<Pair> find_item(Connection& db, const std::string& owner,
                              const std::string& contact) {
  auto owner_id = find_jid(db, owner);
  auto contact_id = owner_id ? find_jid(db, contact) : std::nullopt;
  if (!contact_id) {
    return std::nullopt;
  }
  auto state = item_state(db, *owner_id, *contact_id);
  if (!state) {
    return std::nullopt;
  }
  return Pair{*owner_id, *contact_id, *state};
}

}  // namespace

void SqlRoster::async_items(const Caller& user, Completion<RosterItemsResult> done) {
  store_.read(read_job<RosterItemsResult>(
      [owner = user.bare_string()](Connection& db) -> RosterItemsResult {
        std::vector<RosterItem> items;
        Rows rows = db.query(
            "SELECT j.jid, r.state FROM mimrest_roster r JOIN mimrest_jids j ON j.id = r.contact "
            "WHERE r.owner = (SELECT id FROM mimrest_jids WHERE jid = $1) ORDER BY r.position",
            {owner});
        while (rows.next()) {
          const std::int64_t state = rows.integer(1);
          items.push_back(
              RosterItem{stored_jid(rows.text(0)), subscription_of(state), ask_of(state)});
        }
        return items;
      },
      std::move(done)));
}

void SqlRoster::async_add(const Caller& user, const Jid& contact, Completion<RosterResult> done) {
  const bool local = hosting_.is_local_domain(contact.domain());
  store_.write(write_job<RosterResult>(
      [owner = user.bare_string(), other = contact.bare_string()](Declaration& declaration) {
        declaration.user(owner);
        declaration.existing(other);
      },
      [owner = user.bare_string(), other = contact.bare_string(), local](
          Connection& db, WriteContext& context) -> RosterResult {
        if (local && !account_exists(db, other)) {
          return unexpected(RosterError::contact_not_found);
        }
        add_item(db, context.jid(db, owner), context.jid(db, other));
        return {};
      },
      std::move(done)));
}

void SqlRoster::async_subscribe(const Caller& user, const Jid& contact,
                                Completion<RosterResult> done) {
  const bool local = hosting_.is_local_domain(contact.domain());
  store_.write(write_job<RosterResult>(
      [owner = user.bare_string(), other = contact.bare_string()](Declaration& declaration) {
        declaration.existing(owner);
        declaration.existing(other);
      },
      [owner = user.bare_string(), other = contact.bare_string(), local](
          Connection& db, WriteContext&) -> RosterResult {
        auto item = find_item(db, owner, other);
        if (!item) {
          return unexpected(RosterError::not_in_roster);
        }
        if ((item->state & kTo) != 0) {
          return {};  // already subscribed: nothing to ask for
        }
        set_state(db, item->owner, item->contact, item->state | kAskOut);
        if (local && account_exists(db, other)) {
          add_item(db, item->contact, item->owner);
          auto theirs = item_state(db, item->contact, item->owner).value_or(0);
          set_state(db, item->contact, item->owner, theirs | kAskIn);
        }
        return {};
      },
      std::move(done)));
}

void SqlRoster::async_approve(const Caller& user, const Jid& contact,
                              Completion<RosterResult> done) {
  store_.write(write_job<RosterResult>(
      [owner = user.bare_string(), other = contact.bare_string()](Declaration& declaration) {
        declaration.existing(owner);
        declaration.existing(other);
      },
      [owner = user.bare_string(), other = contact.bare_string()](Connection& db,
                                                                  WriteContext&) -> RosterResult {
        auto item = find_item(db, owner, other);
        if (!item) {
          return unexpected(RosterError::not_in_roster);
        }
        if ((item->state & kAskIn) == 0) {
          return {};  // nothing pending: an unsolicited approval changes nothing
        }
        set_state(db, item->owner, item->contact, (item->state | kFrom) & ~kAskIn);
        if (auto theirs = item_state(db, item->contact, item->owner)) {
          set_state(db, item->contact, item->owner, (*theirs | kTo) & ~kAskOut);
        }
        return {};
      },
      std::move(done)));
}

void SqlRoster::async_remove(const Caller& user, const Jid& contact,
                             Completion<RosterResult> done) {
  store_.write(write_job<RosterResult>(
      [owner = user.bare_string(), other = contact.bare_string()](Declaration& declaration) {
        declaration.existing(owner);
        declaration.existing(other);
      },
      [owner = user.bare_string(), other = contact.bare_string()](Connection& db,
                                                                  WriteContext&) -> RosterResult {
        auto item = find_item(db, owner, other);
        if (!item) {
          return unexpected(RosterError::not_in_roster);
        }
        db.execute("DELETE FROM mimrest_roster WHERE owner = $1 AND contact = $2",
                   {item->owner, item->contact});
        // Removal cancels both directions (RFC 6121 2.5): the contact keeps
        // the item, with no subscription and nothing pending.
        db.execute("UPDATE mimrest_roster SET state = 0 WHERE owner = $1 AND contact = $2",
                   {item->contact, item->owner});
        return {};
      },
      std::move(done)));
}

}  // namespace mimrest::sql::detail
