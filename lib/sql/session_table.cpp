#include "sql/session_table.hpp"

#include <algorithm>
#include <utility>

namespace mimrest::sql::detail {

struct SessionTable::Table {
  mutable std::mutex mutex;
  std::uint64_t next_id = 1;
  std::unordered_map<Jid, std::vector<std::shared_ptr<SessionEntry>>> by_user;
  std::atomic<std::size_t> count{0};
  SessionWatcher* watcher = nullptr;

  void close(const Jid& bare, std::uint64_t id) {
    std::lock_guard lock(mutex);
    if (watcher != nullptr) {
      watcher->closed(bare);
    }
    auto it = by_user.find(bare);
    if (it == by_user.end()) {
      return;
    }
    auto& entries = it->second;
    auto found = std::find_if(entries.begin(), entries.end(),
                              [id](const auto& entry) { return entry->id == id; });
    if (found != entries.end()) {
      entries.erase(found);
      count.fetch_sub(1);
    }
    if (entries.empty()) {
      by_user.erase(it);
    }
  }
};

class SessionTable::Handle final : public Session {
 public:
  Handle(std::weak_ptr<Table> table, Jid bare, std::shared_ptr<SessionEntry> entry)
      : table_(std::move(table)), bare_(std::move(bare)), entry_(std::move(entry)) {}
  ~Handle() override {
    entry_->open.store(false);
    if (auto table = table_.lock()) {
      table->close(bare_, entry_->id);
    }
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;

 private:
  std::weak_ptr<Table> table_;
  Jid bare_;
  std::shared_ptr<SessionEntry> entry_;
};

SessionTable::SessionTable() : table_(std::make_shared<Table>()) {
  // Aliases the table's counter, so that empty() needs no lock.
  open_count_ = std::shared_ptr<std::atomic<std::size_t>>(table_, &table_->count);
}

SessionTable::~SessionTable() = default;

void SessionTable::async_open_session(const Caller& full_jid, std::shared_ptr<StanzaSink> sink,
                                      Completion<OpenSessionResult> done) {
  auto entry = std::make_shared<SessionEntry>();
  entry->sink = std::move(sink);
  const Jid bare = full_jid.bare();
  {
    std::lock_guard lock(table_->mutex);
    entry->id = table_->next_id++;
    if (entry->sink) {
      table_->by_user[bare].push_back(entry);
      table_->count.fetch_add(1);
    }
  }
  SessionWatcher* watcher = nullptr;
  {
    std::lock_guard lock(table_->mutex);
    watcher = table_->watcher;
  }
  auto session =
      std::make_shared<std::unique_ptr<Session>>(std::make_unique<Handle>(table_, bare, entry));
  if (watcher == nullptr) {
    done(OpenSessionResult(std::move(*session)));
    return;
  }
  watcher->opening(bare, [session, done = std::move(done)](bool ready) mutable {
    if (!ready) {
      session->reset();
      done(OpenSessionResult(unexpected(Failure::unavailable)));
      return;
    }
    done(OpenSessionResult(std::move(*session)));
  });
}

void SessionTable::watch(SessionWatcher* watcher) {
  std::lock_guard lock(table_->mutex);
  table_->watcher = watcher;
}

void SessionTable::sessions_of(const Jid& user,
                               std::vector<std::shared_ptr<SessionEntry>>& out) const {
  std::lock_guard lock(table_->mutex);
  auto it = table_->by_user.find(user);
  if (it != table_->by_user.end()) {
    out.insert(out.end(), it->second.begin(), it->second.end());
  }
}

bool SessionTable::has_sessions(const Jid& user) const {
  std::lock_guard lock(table_->mutex);
  return table_->by_user.count(user) != 0;
}

std::size_t SessionTable::session_count(const Jid& user) const {
  std::lock_guard lock(table_->mutex);
  auto it = table_->by_user.find(user.bare());
  return it == table_->by_user.end() ? 0 : it->second.size();
}

}  // namespace mimrest::sql::detail
