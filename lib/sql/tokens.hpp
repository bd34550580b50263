// Internal: Bearer token records, by hash.
#pragma once

#include "mimrest/backend/token_store.hpp"
#include "sql/store.hpp"

namespace mimrest::sql::detail {

/// Every change is one transaction: a rotation marks the old token spent and
/// stores its replacements at once, a replay revokes the whole family. Each
/// issue and rotation also purges a bounded number of expired records.
class SqlTokenStore final : public TokenStore {
 public:
  explicit SqlTokenStore(Store& store) : store_(store) {}

  void async_issue(const std::vector<TokenRecord>& records, std::int64_t now_us,
                   Completion<TokenChangeResult> done) override;
  void async_find(const std::string& hash, std::int64_t now_us,
                  Completion<TokenLookupResult> done) override;
  void async_rotate(const std::string& refresh_hash, const std::vector<TokenRecord>& replacements,
                    std::int64_t now_us, Completion<RotateResult> done) override;
  void async_revoke_user(const Caller& user, Completion<TokenChangeResult> done) override;

 private:
  Store& store_;
};

/// Deletes every token record of `user` (bare JID string), in a write
/// transaction.
void revoke_tokens(Connection& db, const std::string& user);

}  // namespace mimrest::sql::detail
