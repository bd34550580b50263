// Internal: the chat message router and the one-to-one archive (MAM).
#pragma once

#include "core/detail/test_export.hpp"
#include "mimrest/backend/archive.hpp"
#include "mimrest/backend/message_router.hpp"
#include "sql/hosting.hpp"
#include "sql/store.hpp"

namespace mimrest::sql::detail {

/// Archives a chat message for both parties (one transaction) and delivers
/// the recipient's row to the recipient's sessions after the commit.
class MIMREST_TEST_EXPORT ChatRouter final : public MessageRouter {
 public:
  ChatRouter(Store& store, const Hosting& hosting) : store_(store), hosting_(hosting) {}
  void async_route_chat_message(const Caller& from, const Jid& to, std::string stanza_xml,
                                Completion<RouteResult> done) override;

 private:
  Store& store_;
  const Hosting& hosting_;
};

class MIMREST_TEST_EXPORT ChatArchive final : public MessageArchive {
 public:
  ChatArchive(Store& store, const Hosting& hosting) : store_(store), hosting_(hosting) {}
  void async_messages(const ArchiveQuery& query, Completion<ArchiveResult> done) override;

 private:
  Store& store_;
  const Hosting& hosting_;
};

}  // namespace mimrest::sql::detail
