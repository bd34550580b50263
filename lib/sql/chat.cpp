#include "sql/chat.hpp"

#include <algorithm>
#include <utility>

#include "core/detail/archive_bounds.hpp"
#include "sql/jobs.hpp"
#include "sql/queries.hpp"

namespace mimrest::sql::detail {

void ChatRouter::async_route_chat_message(const Caller& from, const Jid& to, std::string stanza_xml,
                                          Completion<RouteResult> done) {
  Jid sender = from.bare();
  Jid recipient = to.bare();
  const bool local_domain = hosting_.is_local_domain(recipient.domain());
  auto stanza = std::make_shared<const std::string>(std::move(stanza_xml));
  std::string sender_text = sender.bare_string();
  std::string recipient_text = recipient.bare_string();
  auto declare = [sender_text, recipient_text](Declaration& declaration) {
    declaration.user(sender_text);
    declaration.user(recipient_text);
  };
  store_.write(write_job<RouteResult>(
      std::move(declare),
      [sender = std::move(sender), recipient = std::move(recipient),
       sender_text = std::move(sender_text), recipient_text = std::move(recipient_text),
       local_domain, stanza,
       &hosting = hosting_](Connection& db, WriteContext& context) -> RouteResult {
        const std::int64_t sender_id = context.jid(db, sender_text);
        const bool self = sender == recipient;
        const std::int64_t recipient_id = self ? sender_id : context.jid(db, recipient_text);
        if (self) {
          // One archive, one row: it is also what the recipient receives.
          std::vector<std::uint64_t> prev;
          const auto seq = context.next_sequence(db, sender_id, {sender_id}, &prev);
          insert_row(db, seq, sender_id, sender_id, RowKind::received, *stanza);
          hosting.observe_chat(context, sender, sender, true, seq, stanza);
          context.deliver({Recipient(recipient, prev[0])}, RoutedStanza::make(*stanza, seq));
          return {};
        }
        const bool local_recipient = local_domain && context.has_account(db, recipient_id);
        const auto sent = context.next_sequence(db, sender_id);
        insert_row(db, sent, sender_id, recipient_id, RowKind::sent, *stanza);
        hosting.observe_chat(context, sender, recipient, true, sent, stanza);
        if (local_recipient) {
          std::vector<std::uint64_t> prev;
          // The recipient's copy comes after the sender's (a microsecond
          // later when the clock has not moved on).
          const auto seq = context.next_sequence(db, recipient_id, {recipient_id}, &prev, sent + 1);
          insert_row(db, seq, recipient_id, sender_id, RowKind::received, *stanza);
          hosting.observe_chat(context, recipient, sender, false, seq, stanza);
          context.deliver({Recipient(recipient, prev[0])}, RoutedStanza::make(*stanza, seq));
        }
        return {};
      },
      std::move(done)));
}

void ChatArchive::async_messages(const ArchiveQuery& query, Completion<ArchiveResult> done) {
  std::string owner = query.owner.bare_string();
  std::optional<std::string> peer;
  if (query.with) {
    peer = query.with->bare_string();
  }
  const std::size_t limit = std::min(query.limit, hosting_.config().max_result_limit);
  if (limit == 0) {
    done(ArchiveResult(std::vector<ArchivedMessage>{}));
    return;
  }
  store_.read(read_job<ArchiveResult>(
      [owner = std::move(owner), peer = std::move(peer),
       before = mimrest::detail::upper_bound_us(query),
       after = mimrest::detail::lower_bound_us(query), limit](Connection& db) -> ArchiveResult {
        return read_rows(db, owner, peer, before, after, limit);
      },
      std::move(done)));
}

}  // namespace mimrest::sql::detail
