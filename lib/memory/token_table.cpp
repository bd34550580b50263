#include "memory/token_table.hpp"

namespace mimrest::memory::detail {

void TokenTable::purge_locked(std::int64_t now_us) {
  for (auto it = by_hash_.begin(); it != by_hash_.end();) {
    it = it->second.record.expires_us <= now_us ? by_hash_.erase(it) : std::next(it);
  }
}

void TokenTable::revoke_family_locked(const std::string& family) {
  for (auto it = by_hash_.begin(); it != by_hash_.end();) {
    it = it->second.record.family == family ? by_hash_.erase(it) : std::next(it);
  }
}

TokenChangeResult TokenTable::issue(const std::vector<TokenRecord>& records, std::int64_t now_us) {
  std::lock_guard<std::mutex> lock(mutex_);
  purge_locked(now_us);
  for (const auto& record : records) {
    by_hash_.insert_or_assign(record.hash, Entry{record, false});
  }
  return {};
}

TokenLookupResult TokenTable::find(const std::string& hash, std::int64_t now_us) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = by_hash_.find(hash);
  if (found == by_hash_.end() || found->second.spent || found->second.record.expires_us <= now_us) {
    return std::optional<TokenRecord>();
  }
  return std::optional<TokenRecord>(found->second.record);
}

RotateResult TokenTable::rotate(const std::string& refresh_hash,
                                const std::vector<TokenRecord>& replacements, std::int64_t now_us) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = by_hash_.find(refresh_hash);
  if (found == by_hash_.end() || found->second.record.kind != TokenKind::refresh ||
      found->second.record.expires_us <= now_us) {
    return RotateOutcome::invalid;
  }
  if (found->second.spent) {
    revoke_family_locked(std::string(found->second.record.family));
    return RotateOutcome::replayed;
  }
  if (replacements.empty()) {
    return RotateOutcome::invalid;
  }
  found->second.spent = true;
  for (const auto& record : replacements) {
    by_hash_.insert_or_assign(record.hash, Entry{record, false});
  }
  return RotateOutcome::rotated;
}

TokenChangeResult TokenTable::revoke_user(const Caller& user) {
  const Jid bare = user.bare();
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto it = by_hash_.begin(); it != by_hash_.end();) {
    it = it->second.record.user == bare ? by_hash_.erase(it) : std::next(it);
  }
  return {};
}

std::size_t TokenTable::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return by_hash_.size();
}

}  // namespace mimrest::memory::detail
