#include "memory/chat_archive.hpp"

#include <algorithm>
#include <utility>

#include "core/detail/archive_bounds.hpp"

namespace mimrest::memory::detail {

ChatArchive::ChatArchive(Clock now_us, std::size_t max_result_limit, Sequencer& sequencer)
    : now_us_(std::move(now_us)), max_result_limit_(max_result_limit), sequencer_(sequencer) {}

ArchiveResult ChatArchive::messages(const ArchiveQuery& query) {
  std::lock_guard lock(mutex_);
  auto it = logs_.find(query.owner.bare());
  if (it == logs_.end()) {
    return std::vector<ArchivedMessage>{};
  }
  return it->second.range(query.with, mimrest::detail::lower_bound_us(query),
                          mimrest::detail::upper_bound_us(query),
                          std::min(query.limit, max_result_limit_));
}

ChatArchive::Appended ChatArchive::append(const Jid& owner, const Jid& with, std::string stanza_xml,
                                          bool sent_by_owner) {
  // The clock and the sequence are read under the lock, so that rows of one
  // archive are in the order of both.
  std::lock_guard lock(mutex_);
  ArchiveLog& log = logs_.try_emplace(owner.bare()).first->second;
  const std::uint64_t sequence =
      log.append(now_us_(), sequencer_.next(), with, std::move(stanza_xml), !sent_by_owner);
  return Appended{sequence, log.last()};
}

void ChatArchive::events_between(const Jid& user, std::uint64_t after, std::uint64_t up_to,
                                 std::vector<LoggedEvent>& out) const {
  std::lock_guard lock(mutex_);
  auto it = logs_.find(user.bare());
  if (it != logs_.end()) {
    it->second.events_between(after, up_to, out);
  }
}

void ChatArchive::remove_owner(const Jid& owner) {
  std::lock_guard lock(mutex_);
  logs_.erase(owner.bare());
}

ChatRouter::ChatRouter(const UserDirectory& users, ChatArchive& archive,
                       const SessionRegistry& sessions,
                       std::vector<std::shared_ptr<MessageObserver>> observers)
    : users_(users), archive_(archive), sessions_(sessions), observers_(std::move(observers)) {}

RouteResult ChatRouter::route_chat_message(const Caller& from, const Jid& to,
                                           std::string stanza_xml) {
  const Jid sender = from.bare();
  const Jid recipient = to.bare();
  const bool local_recipient = users_.exists(recipient);
  // A message to oneself reaches one's own streams; any other is not pushed
  // back to the sender.
  auto sent = archive_.append(sender, recipient, stanza_xml, recipient != sender);
  for (const auto& observer : observers_) {
    observer->chat_archived(sender, recipient, true, sent.message);
  }
  std::uint64_t sequence = sent.sequence;
  if (local_recipient && recipient != sender) {
    auto received = archive_.append(recipient, sender, stanza_xml);
    for (const auto& observer : observers_) {
      observer->chat_archived(recipient, sender, false, received.message);
    }
    sequence = received.sequence;
  }
  // The recipient's sessions get the recipient's archive row.
  sessions_.sessions_of(recipient).deliver(RoutedStanza::make(std::move(stanza_xml), sequence));
  return {};
}

}  // namespace mimrest::memory::detail
