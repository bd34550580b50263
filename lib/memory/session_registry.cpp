#include "memory/session_registry.hpp"

#include <algorithm>
#include <utility>

namespace mimrest::memory::detail {

struct SessionRegistry::Table {
  mutable std::mutex mutex;
  std::uint64_t next_id = 1;
  std::unordered_map<Jid, std::vector<std::shared_ptr<SessionEntry>>> by_user;

  void close(const Jid& bare, std::uint64_t id) {
    std::lock_guard lock(mutex);
    auto it = by_user.find(bare);
    if (it == by_user.end()) {
      return;
    }
    auto& entries = it->second;
    auto found = std::find_if(entries.begin(), entries.end(),
                              [id](const auto& entry) { return entry->id == id; });
    if (found != entries.end()) {
      (*found)->open.store(false);
      entries.erase(found);
    }
    if (entries.empty()) {
      by_user.erase(it);
    }
  }
};

class SessionRegistry::SessionHandle final : public Session {
 public:
  SessionHandle(std::weak_ptr<Table> table, Jid bare, std::shared_ptr<SessionEntry> entry)
      : table_(std::move(table)), bare_(std::move(bare)), entry_(std::move(entry)) {}
  ~SessionHandle() override {
    // Cleared first, so that snapshots taken before the removal skip it too.
    entry_->open.store(false);
    if (auto table = table_.lock()) {
      table->close(bare_, entry_->id);
    }
  }
  SessionHandle(const SessionHandle&) = delete;
  SessionHandle& operator=(const SessionHandle&) = delete;

 private:
  std::weak_ptr<Table> table_;
  Jid bare_;
  std::shared_ptr<SessionEntry> entry_;
};

void DeliveryList::deliver(const RoutedStanzaPtr& stanza) const {
  for (const auto& entry : entries_) {
    if (entry->open.load()) {
      entry->sink->deliver(stanza);
    }
  }
}

SessionRegistry::SessionRegistry() : table_(std::make_shared<Table>()) {}
SessionRegistry::~SessionRegistry() = default;

OpenSessionResult SessionRegistry::open_session(const Caller& full_jid,
                                                std::shared_ptr<StanzaSink> sink) {
  auto entry = std::make_shared<SessionEntry>();
  entry->sink = std::move(sink);
  Jid bare = full_jid.bare();
  {
    std::lock_guard lock(table_->mutex);
    entry->id = table_->next_id++;
    if (entry->sink) {
      table_->by_user[bare].push_back(entry);
    }
  }
  return std::unique_ptr<Session>(
      std::make_unique<SessionHandle>(table_, std::move(bare), std::move(entry)));
}

DeliveryList SessionRegistry::sessions_of(const Jid& user) const {
  DeliveryList list;
  std::lock_guard lock(table_->mutex);
  auto it = table_->by_user.find(user.bare());
  if (it != table_->by_user.end()) {
    for (const auto& entry : it->second) {
      list.add(entry);
    }
  }
  return list;
}

std::size_t SessionRegistry::session_count(const Jid& user) const {
  std::lock_guard lock(table_->mutex);
  auto it = table_->by_user.find(user.bare());
  return it == table_->by_user.end() ? 0 : it->second.size();
}

}  // namespace mimrest::memory::detail
