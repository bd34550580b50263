// Internal to user_session.cpp and rooms.cpp: the pieces of a UserSession's
// state that live on its strand.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/post.hpp>

#include "mimrest/backend/archive.hpp"
#include "mimrest/expected.hpp"
#include "mimrest/jid.hpp"
#include "xmpp/mam.hpp"
#include "xmpp/stanza.hpp"
#include "xmpp/user_session.hpp"

namespace mimrest::xmpp {

template <class F>
void UserSession::post(F&& f) {
  boost::asio::post(strand_,
                    [self = shared_from_this(), f = std::forward<F>(f)]() mutable { f(); });
}

/// The results of one archive query, gathered until its iq result comes
/// (they arrive before it, RFC 6120 keeping the stream's order).
struct UserSession::Collector {
  Collector(std::string id, std::optional<Jid> of)
      : query_id(std::move(id)), archive(std::move(of)) {}
  void take(const Stanza& message, const Jid& user) {
    if (auto row = mam_result(message, query_id, archive, user)) {
      rows.push_back(std::move(*row));
    }
  }
  std::string query_id;
  std::optional<Jid> archive;
  std::vector<ArchivedMessage> rows;
};

/// A room the session is in, or entering.
struct UserSession::JoinedRoom {
  using Waiter = std::function<void(Expected<bool, std::string>)>;

  bool joined = false;   ///< our own presence came back
  bool created = false;  ///< it came back with status 201: the room is new
  std::optional<std::string> subject;
  std::map<std::string, Jid> occupants;  ///< nick -> real bare JID (non-anonymous rooms)
  std::vector<Waiter> waiters;           ///< join() calls waiting for the entry

  /// Entered: every waiter learns whether the room was created.
  void complete() {
    auto waiting = std::move(waiters);
    waiters.clear();
    for (auto& waiter : waiting) {
      waiter(created);
    }
  }
  /// Not entered: every waiter learns the condition.
  void fail(const std::string& condition) {
    auto waiting = std::move(waiters);
    waiters.clear();
    for (auto& waiter : waiting) {
      waiter(unexpected(condition));
    }
  }
};

/// A room's owners and members, as its admin lists say.
struct UserSession::Affiliations {
  std::vector<Jid> owners;
  std::vector<Jid> members;
};

}  // namespace mimrest::xmpp
