// The host's password check: the one thing authentication asks of the host.
#pragma once

#include <string_view>

#include "mimrest/jid.hpp"

namespace mimrest {

/// Answers whether `password` is the password of the account `user` (a
/// prepared bare JID). Unknown domains and unknown users answer false.
/// Called concurrently from many request threads: implementations must be
/// thread-safe.
class PasswordVerifier {
 public:
  virtual ~PasswordVerifier() = default;
  virtual bool verify(const Jid& user, std::string_view password) = 0;
};

}  // namespace mimrest
