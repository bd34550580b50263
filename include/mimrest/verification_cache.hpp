// A bounded, thread-safe cache in front of a slow PasswordVerifier (PBKDF2 with
// thousands of iterations), so that a slow hash is paid once per login rather
// than on every request.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>

#include "mimrest/export.hpp"
#include "mimrest/jid.hpp"
#include "mimrest/password_verifier.hpp"

namespace mimrest {

struct MIMREST_EXPORT VerificationCacheOptions {
  std::size_t max_entries = 10000;
  std::chrono::seconds time_to_live{60};
  /// Monotonic clock, replaceable for tests.
  std::function<std::chrono::steady_clock::time_point()> now = [] {
    return std::chrono::steady_clock::now();
  };
  /// Optional: the current version of a user's credentials (the host bumps it
  /// on a password change). A cached success with another version is dropped.
  std::function<std::uint64_t(const Jid&)> credentials_version;
};

/// Remembers recent SUCCESSFUL verifications only, keyed by an HMAC of the
/// user and password under a per-instance random key (never the plain
/// password). Entries expire after `time_to_live`; the oldest are evicted
/// beyond `max_entries`. A hit completes inline; a miss asks `inner` and
/// completes when it does, on its thread. The cache's state lives as long as
/// a verification in flight needs it, even past this object.
class MIMREST_EXPORT CachingPasswordVerifier final : public PasswordVerifier {
 public:
  CachingPasswordVerifier(PasswordVerifier& inner, VerificationCacheOptions options = {});
  ~CachingPasswordVerifier() override;
  CachingPasswordVerifier(const CachingPasswordVerifier&) = delete;
  CachingPasswordVerifier& operator=(const CachingPasswordVerifier&) = delete;

  void async_verify(const Jid& user, std::string_view password,
                    Completion<VerifyResult> done) override;
  /// Drops every cached entry of `user` (call on a password change).
  void invalidate(const Jid& user);
  std::size_t size() const;

 private:
  struct State;
  PasswordVerifier& inner_;
  std::shared_ptr<State> state_;
};

}  // namespace mimrest
