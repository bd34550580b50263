// The host's password check: the one thing Basic authentication asks of the
// host. The asynchronous interface and its synchronous base.
#pragma once

#include <memory>
#include <mutex>
#include <string_view>

#include "mimrest/backend/caller.hpp"
#include "mimrest/backend/error.hpp"
#include "mimrest/backend/sync.hpp"
#include "mimrest/completion.hpp"
#include "mimrest/expected.hpp"
#include "mimrest/export.hpp"
#include "mimrest/jid.hpp"

namespace mimrest {

/// true: the password is right; false: wrong password, unknown user or
/// unknown domain (the client cannot tell which); a Failure when the check
/// could not be made (500 or 503, never 401).
using VerifyResult = Expected<bool, Failure>;

/// What a login gives the rest of the request: whether the password was
/// right and, when the backend keeps something for the user (a session), that
/// state, which every later operation of the request receives in its Caller.
struct MIMREST_EXPORT Login {
  bool accepted = false;
  std::shared_ptr<LoginState> state;
};
using LoginResult = Expected<Login, Failure>;

/// Answers whether `password` is the password of the account `user` (a
/// prepared bare JID). The operation finishes through its Completion
/// (completion.hpp): exactly once, inline or later, from any thread. The
/// arguments are valid only during the call. Called concurrently from many
/// threads. Compare secrets in constant time, and spend the same work on an
/// unknown user as on a wrong password (ScramPasswordVerifier does both).
class MIMREST_EXPORT PasswordVerifier {
 public:
  virtual ~PasswordVerifier() = default;
  virtual void async_verify(const Jid& user, std::string_view password,
                            Completion<VerifyResult> done) = 0;
  /// The check the Api makes. By default async_verify() with no state; a
  /// backend that sets something up for the user (a gateway logging in to
  /// another server) overrides this to hand that on.
  virtual void async_login(const Jid& user, std::string_view password,
                           Completion<LoginResult> done);
};

/// For a verifier that answers at once: override verify(). Calls are
/// serialised by `Mutex` (NullMutex when verify() is thread-safe itself); an
/// exception it throws is answered as Failure::internal.
template <class Mutex = std::mutex>
class SyncPasswordVerifier : public PasswordVerifier, protected SyncCalls<Mutex> {
 public:
  virtual VerifyResult verify(const Jid& user, std::string_view password) = 0;
  void async_verify(const Jid& user, std::string_view password,
                    Completion<VerifyResult> done) final {
    this->complete(done, [&] { return verify(user, password); });
  }
};

}  // namespace mimrest
