// What the interfaces define outside their headers: the default login of a
// password verifier.
#include <utility>

#include "mimrest/password_verifier.hpp"

namespace mimrest {

void PasswordVerifier::async_login(const Jid& user, std::string_view password,
                                   Completion<LoginResult> done) {
  // Should the verifier drop this completion, `done` goes with it and its
  // own abandon handler answers.
  async_verify(user, password, [done](VerifyResult verified) {
    if (!verified) {
      done(unexpected(verified.error()));
      return;
    }
    done(Login{*verified, nullptr});
  });
}

}  // namespace mimrest
