// Who an operation acts for: the authenticated user, and what the backend's
// login established for them (an XMPP session, a connection), so that the
// later operations of the same request use what the login set up instead of
// looking it up again.
#pragma once

#include <memory>
#include <utility>

#include "mimrest/export.hpp"
#include "mimrest/jid.hpp"

namespace mimrest {

/// What a backend keeps of a successful login, handed back with every later
/// operation of the request. Backends derive their own; most keep nothing.
class MIMREST_EXPORT LoginState {
 public:
  virtual ~LoginState() = default;
};

/// The authenticated user (a prepared bare JID; the full JID of the session
/// when one is opened) on whose behalf an operation runs. It IS that Jid, so
/// an implementation that needs only the address uses it as one; one that
/// keeps login state reads login(). A plain Jid converts to a Caller without
/// login state (tests, command-line tools, a Bearer token: the backend then
/// finds what it needs by the JID).
class MIMREST_EXPORT Caller : public Jid {
 public:
  Caller(Jid user,
         std::shared_ptr<LoginState> login = nullptr)  // NOLINT(google-explicit-constructor)
      : Jid(std::move(user)), login_(std::move(login)) {}

  const Jid& jid() const noexcept { return *this; }
  const std::shared_ptr<LoginState>& login() const noexcept { return login_; }
  /// The login state as the backend's own type, or nullptr.
  template <class State>
  std::shared_ptr<State> login_as() const {
    return std::dynamic_pointer_cast<State>(login_);
  }

 private:
  std::shared_ptr<LoginState> login_;
};

}  // namespace mimrest
