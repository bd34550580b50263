#include "memory/chat_archive.hpp"

#include <algorithm>
#include <utility>

namespace mimrest::memory::detail {

ChatArchive::ChatArchive(Clock now_us, std::size_t max_result_limit)
    : now_us_(std::move(now_us)), max_result_limit_(max_result_limit) {}

std::vector<ArchivedMessage> ChatArchive::recent_messages(const ArchiveQuery& query) const {
  std::lock_guard lock(mutex_);
  auto it = logs_.find(query.owner.bare());
  if (it == logs_.end()) {
    return {};
  }
  return it->second.recent(query.with, query.before_us, std::min(query.limit, max_result_limit_));
}

void ChatArchive::append(const Jid& owner, const Jid& with, std::string stanza_xml) {
  // The clock is read under the lock, so that rows of one archive are in the
  // order of their timestamps.
  std::lock_guard lock(mutex_);
  auto it = logs_.try_emplace(owner.bare()).first;
  it->second.append(now_us_(), with, std::move(stanza_xml));
}

ChatRouter::ChatRouter(const UserDirectory& users, ChatArchive& archive,
                       const SessionRegistry& sessions)
    : users_(users), archive_(archive), sessions_(sessions) {}

void ChatRouter::route_chat_message(const Jid& from, const Jid& to, std::string stanza_xml) {
  const Jid sender = from.bare();
  const Jid recipient = to.bare();
  const bool local_recipient = users_.exists(recipient);
  archive_.append(sender, recipient, stanza_xml);
  if (local_recipient && recipient != sender) {
    archive_.append(recipient, sender, stanza_xml);
  }
  sessions_.sessions_of(recipient).deliver(stanza_xml);
}

}  // namespace mimrest::memory::detail
