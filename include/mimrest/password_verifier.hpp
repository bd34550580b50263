// The host's password check: the one thing Basic authentication asks of the
// host. The asynchronous interface and its synchronous base.
#pragma once

#include <string_view>

#include "mimrest/backend/failure.hpp"
#include "mimrest/completion.hpp"
#include "mimrest/expected.hpp"
#include "mimrest/jid.hpp"

namespace mimrest {

/// true: the password is right; false: wrong password, unknown user or
/// unknown domain (the client cannot tell which); a Failure when the check
/// could not be made (500 or 503, never 401).
using VerifyResult = Expected<bool, Failure>;

/// Answers whether `password` is the password of the account `user` (a
/// prepared bare JID). The operation finishes through its Completion
/// (completion.hpp): exactly once, inline or later, from any thread. The
/// arguments are valid only during the call. Called concurrently from many
/// threads. Compare secrets in constant time, and spend the same work on an
/// unknown user as on a wrong password (ScramPasswordVerifier does both).
class PasswordVerifier {
 public:
  virtual ~PasswordVerifier() = default;
  virtual void async_verify(const Jid& user, std::string_view password,
                            Completion<VerifyResult> done) = 0;
};

/// For a verifier that answers at once: override verify(); an exception it
/// throws is answered as Failure::internal. Must be thread-safe.
class SyncPasswordVerifier : public PasswordVerifier {
 public:
  virtual VerifyResult verify(const Jid& user, std::string_view password) = 0;
  void async_verify(const Jid& user, std::string_view password,
                    Completion<VerifyResult> done) final;
};

}  // namespace mimrest
