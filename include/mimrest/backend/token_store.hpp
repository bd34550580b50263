// Where Bearer tokens are kept (an optional capability): the asynchronous
// interface and its synchronous base. The core makes the tokens, hashes them
// and applies every rule (expiry, kinds, rotation); the store only keeps
// records by hash and applies each change atomically.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "mimrest/backend/caller.hpp"
#include "mimrest/backend/error.hpp"
#include "mimrest/backend/sync.hpp"
#include "mimrest/completion.hpp"
#include "mimrest/expected.hpp"
#include "mimrest/export.hpp"
#include "mimrest/jid.hpp"

namespace mimrest {

enum class TokenKind { access, refresh };

/// What is kept of one token. Never the token itself: `hash` is the SHA-256
/// of it (32 raw bytes).
struct MIMREST_EXPORT TokenRecord {
  std::string hash;
  Jid user;            ///< bare
  std::string family;  ///< shared by every token descended from one POST /tokens
  TokenKind kind = TokenKind::access;
  std::int64_t expires_us = 0;  ///< microseconds since the epoch
};

/// What presenting a refresh token did.
enum class RotateOutcome {
  rotated,   ///< it was valid: it is now spent and the new pair is stored
  replayed,  ///< it was already spent: its whole family is now revoked
  invalid,   ///< unknown, expired, revoked or not a refresh token: nothing changed
};

using TokenLookupResult = Expected<std::optional<TokenRecord>, Failure>;
using TokenChangeResult = Expected<void, Failure>;
using RotateResult = Expected<RotateOutcome, Failure>;

/// Every async_ operation finishes through its Completion (completion.hpp):
/// exactly once, inline or later, from any thread; arguments are valid only
/// during the call. Operations are called concurrently from many threads and
/// each must be atomic. `now_us` is the current time; records that expired
/// before it may be purged at any time (the store must not grow without
/// bound), and an expired record is never returned.
class MIMREST_EXPORT TokenStore {
 public:
  virtual ~TokenStore() = default;
  /// Stores new records (an access and a refresh token of one family).
  virtual void async_issue(const std::vector<TokenRecord>& records, std::int64_t now_us,
                           Completion<TokenChangeResult> done) = 0;
  /// The live (unexpired, unrevoked) record with this hash, if any. A spent
  /// refresh token is not returned.
  virtual void async_find(const std::string& hash, std::int64_t now_us,
                          Completion<TokenLookupResult> done) = 0;
  /// Presents the refresh token `refresh_hash`: if it is a live refresh token,
  /// marks it spent and stores `replacements` (same family) in one step; if it
  /// was spent before, revokes every record of its family.
  virtual void async_rotate(const std::string& refresh_hash,
                            const std::vector<TokenRecord>& replacements, std::int64_t now_us,
                            Completion<RotateResult> done) = 0;
  /// Revokes every token of `user` (DELETE /tokens, a password change).
  virtual void async_revoke_user(const Caller& user, Completion<TokenChangeResult> done) = 0;
};

/// For a store that answers at once: override the plain functions. Calls are
/// serialised by `Mutex` (NullMutex when they are thread-safe themselves);
/// an exception one throws is answered as Failure::internal.
template <class Mutex = std::mutex>
class SyncTokenStore : public TokenStore, protected SyncCalls<Mutex> {
 public:
  virtual TokenChangeResult issue(const std::vector<TokenRecord>& records, std::int64_t now_us) = 0;
  virtual TokenLookupResult find(const std::string& hash, std::int64_t now_us) = 0;
  virtual RotateResult rotate(const std::string& refresh_hash,
                              const std::vector<TokenRecord>& replacements,
                              std::int64_t now_us) = 0;
  virtual TokenChangeResult revoke_user(const Caller& user) = 0;

  void async_issue(const std::vector<TokenRecord>& records, std::int64_t now_us,
                   Completion<TokenChangeResult> done) final {
    this->complete(done, [&] { return issue(records, now_us); });
  }
  void async_find(const std::string& hash, std::int64_t now_us,
                  Completion<TokenLookupResult> done) final {
    this->complete(done, [&] { return find(hash, now_us); });
  }
  void async_rotate(const std::string& refresh_hash, const std::vector<TokenRecord>& replacements,
                    std::int64_t now_us, Completion<RotateResult> done) final {
    this->complete(done, [&] { return rotate(refresh_hash, replacements, now_us); });
  }
  void async_revoke_user(const Caller& user, Completion<TokenChangeResult> done) final {
    this->complete(done, [&] { return revoke_user(user); });
  }
};

}  // namespace mimrest
