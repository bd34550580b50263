#include "xmpp/gateway_tokens.hpp"

#include "xmpp/user_session.hpp"

namespace mimrest::xmpp {

bool GatewayTokens::live(const Entry& entry, std::int64_t now_us) const {
  if (entry.record.expires_us <= now_us) {
    return false;
  }
  auto session = entry.session.lock();
  return session && session->is_open() && session_of_(entry.record.user) == session;
}

void GatewayTokens::purge(std::int64_t now_us) {
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (it->second.record.expires_us <= now_us || it->second.session.expired()) {
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
}

TokenChangeResult GatewayTokens::issue(const std::vector<TokenRecord>& records,
                                       std::int64_t now_us) {
  std::lock_guard<std::mutex> lock(mutex_);
  purge(now_us);
  for (const TokenRecord& record : records) {
    auto session = session_of_(record.user);
    if (!session) {
      return unexpected(Failure::unavailable);  // the session went meanwhile
    }
    entries_.insert_or_assign(record.hash, Entry{record, session, false});
  }
  return {};
}

TokenLookupResult GatewayTokens::find(const std::string& hash, std::int64_t now_us) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = entries_.find(hash);
  if (found == entries_.end() || found->second.spent || !live(found->second, now_us)) {
    return std::optional<TokenRecord>();
  }
  return std::optional<TokenRecord>(found->second.record);
}

RotateResult GatewayTokens::rotate(const std::string& refresh_hash,
                                   const std::vector<TokenRecord>& replacements,
                                   std::int64_t now_us) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = entries_.find(refresh_hash);
  if (found == entries_.end() || found->second.record.kind != TokenKind::refresh ||
      !live(found->second, now_us)) {
    return RotateOutcome::invalid;
  }
  if (found->second.spent) {
    // Presented twice: every token of its family goes.
    const std::string family = found->second.record.family;
    for (auto it = entries_.begin(); it != entries_.end();) {
      it = it->second.record.family == family ? entries_.erase(it) : std::next(it);
    }
    return RotateOutcome::replayed;
  }
  found->second.spent = true;
  const std::weak_ptr<UserSession> session = found->second.session;
  for (const TokenRecord& record : replacements) {
    entries_.insert_or_assign(record.hash, Entry{record, session, false});
  }
  return RotateOutcome::rotated;
}

TokenChangeResult GatewayTokens::revoke_user(const Caller& user) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto it = entries_.begin(); it != entries_.end();) {
    it = it->second.record.user == user.jid() ? entries_.erase(it) : std::next(it);
  }
  return {};
}

}  // namespace mimrest::xmpp
