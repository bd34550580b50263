// Internal: Bearer token records of the in-memory backend.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/detail/test_export.hpp"
#include "mimrest/backend/token_store.hpp"

namespace mimrest::memory::detail {

/// Thread-safe: one mutex guards the table, so rotation and family
/// revocation are atomic. Expired records are purged whenever new ones are
/// issued, so the table holds only live tokens (and spent refresh tokens
/// until they expire, to detect a replay).
class MIMREST_TEST_EXPORT TokenTable final : public SyncTokenStore<NullMutex> {
 public:
  TokenChangeResult issue(const std::vector<TokenRecord>& records, std::int64_t now_us) override;
  TokenLookupResult find(const std::string& hash, std::int64_t now_us) override;
  RotateResult rotate(const std::string& refresh_hash, const std::vector<TokenRecord>& replacements,
                      std::int64_t now_us) override;
  TokenChangeResult revoke_user(const Caller& user) override;

  std::size_t size() const;

 private:
  struct Entry {
    TokenRecord record;
    bool spent = false;
  };
  void purge_locked(std::int64_t now_us);
  void revoke_family_locked(const std::string& family);

  mutable std::mutex mutex_;
  std::unordered_map<std::string, Entry> by_hash_;
};

}  // namespace mimrest::memory::detail
