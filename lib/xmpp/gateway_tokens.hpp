// Internal: the gateway's Bearer tokens. The gateway stores nothing of its
// own, so tokens live in memory and are tied to the XMPP session the user had
// when they were issued: once that session is gone, they are not found
// (401 invalid_token) and the client logs in with Basic again.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "mimrest/backend/token_store.hpp"

namespace mimrest::xmpp {

class UserSession;

class GatewayTokens final : public SyncTokenStore<NullMutex> {
 public:
  /// The open session of a user, if any.
  using SessionOf = std::function<std::shared_ptr<UserSession>(const Jid&)>;
  explicit GatewayTokens(SessionOf session_of) : session_of_(std::move(session_of)) {}

  TokenChangeResult issue(const std::vector<TokenRecord>& records, std::int64_t now_us) override;
  TokenLookupResult find(const std::string& hash, std::int64_t now_us) override;
  RotateResult rotate(const std::string& refresh_hash, const std::vector<TokenRecord>& replacements,
                      std::int64_t now_us) override;
  TokenChangeResult revoke_user(const Caller& user) override;

 private:
  struct Entry {
    TokenRecord record;
    std::weak_ptr<UserSession> session;
    bool spent = false;
  };
  /// Whether the entry's session is still the user's open one.
  bool live(const Entry& entry, std::int64_t now_us) const;
  void purge(std::int64_t now_us);

  SessionOf session_of_;
  std::mutex mutex_;
  std::map<std::string, Entry> entries_;  // by hash
};

}  // namespace mimrest::xmpp
