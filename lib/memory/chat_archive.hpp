// Internal: one-to-one archives (MAM) and the chat message router.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "memory/archive_log.hpp"
#include "memory/session_registry.hpp"
#include "memory/user_directory.hpp"
#include "mimrest/backend/archive.hpp"
#include "mimrest/backend/message_observer.hpp"
#include "mimrest/backend/message_router.hpp"
#include "mimrest/jid.hpp"

namespace mimrest::memory::detail {

using Clock = std::function<std::int64_t()>;

/// Every user's one-to-one archive. Thread-safe: one mutex guards all of
/// them; reads copy the rows they return.
class ChatArchive final : public SyncMessageArchive<NullMutex> {
 public:
  ChatArchive(Clock now_us, std::size_t max_result_limit, Sequencer& sequencer);

  ArchiveResult messages(const ArchiveQuery& query) override;
  /// Archives a stanza in `owner`'s archive as exchanged with `with`;
  /// returns the row. `sent_by_owner`: the owner's live streams did not get
  /// it, so a resumed stream does not replay it either.
  struct Appended {
    std::uint64_t sequence;
    ArchivedMessage message;
  };
  Appended append(const Jid& owner, const Jid& with, std::string stanza_xml,
                  bool sent_by_owner = false);
  /// `user`'s rows with after < sequence <= up_to that the user's streams
  /// got, appended to `out`.
  void events_between(const Jid& user, std::uint64_t after, std::uint64_t up_to,
                      std::vector<LoggedEvent>& out) const;
  /// Forgets a user's archive.
  void remove_owner(const Jid& owner);

 private:
  Clock now_us_;
  std::size_t max_result_limit_;
  Sequencer& sequencer_;
  mutable std::mutex mutex_;
  std::unordered_map<Jid, ArchiveLog> logs_;  // by bare owner
};

/// Archives chat messages on both sides, tells the observers and delivers
/// them to the recipient's sessions. Holds no lock of its own; observers and
/// delivery run with no lock held.
class ChatRouter final : public SyncMessageRouter<NullMutex> {
 public:
  ChatRouter(const UserDirectory& users, ChatArchive& archive, const SessionRegistry& sessions,
             std::vector<std::shared_ptr<MessageObserver>> observers);
  RouteResult route_chat_message(const Caller& from, const Jid& to,
                                 std::string stanza_xml) override;

 private:
  const UserDirectory& users_;
  ChatArchive& archive_;
  const SessionRegistry& sessions_;
  const std::vector<std::shared_ptr<MessageObserver>> observers_;
};

}  // namespace mimrest::memory::detail
