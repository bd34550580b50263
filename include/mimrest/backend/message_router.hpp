// Routing the one-to-one messages a user sends: the asynchronous interface
// and its synchronous base.
#pragma once

#include <mutex>
#include <string>

#include "mimrest/backend/caller.hpp"
#include "mimrest/backend/error.hpp"
#include "mimrest/backend/sync.hpp"
#include "mimrest/completion.hpp"
#include "mimrest/expected.hpp"
#include "mimrest/export.hpp"
#include "mimrest/jid.hpp"

namespace mimrest {

using RouteResult = Expected<void, Failure>;

/// Routes stanzas users send. The operation finishes through its Completion
/// (completion.hpp): exactly once, inline or later, from any thread.
/// Arguments other than the moved stanza are valid only during the call.
/// Called concurrently from many threads.
class MIMREST_EXPORT MessageRouter {
 public:
  virtual ~MessageRouter() = default;
  /// Routes `stanza_xml` (a type="chat" message from `from`, the caller, to
  /// `to`): the host archives it for both parties and delivers it to the
  /// recipient's sessions. Complete with success only once the message is
  /// stored: the client is then told it was sent, and it must not be lost.
  virtual void async_route_chat_message(const Caller& from, const Jid& to, std::string stanza_xml,
                                        Completion<RouteResult> done) = 0;
};

/// For a router that answers at once: override route_chat_message(). Calls
/// are serialised by `Mutex` (NullMutex when the function is thread-safe
/// itself); an exception it throws is answered as Failure::internal.
template <class Mutex = std::mutex>
class SyncMessageRouter : public MessageRouter, protected SyncCalls<Mutex> {
 public:
  virtual RouteResult route_chat_message(const Caller& from, const Jid& to,
                                         std::string stanza_xml) = 0;
  void async_route_chat_message(const Caller& from, const Jid& to, std::string stanza_xml,
                                Completion<RouteResult> done) final {
    this->complete(done, [&] { return route_chat_message(from, to, std::move(stanza_xml)); });
  }
};

}  // namespace mimrest
