#include "mimrest/verification_cache.hpp"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "mimrest/crypto.hpp"

namespace mimrest {
namespace {

using TimePoint = std::chrono::steady_clock::time_point;

struct Entry {
  std::string key;        // HMAC of user and password
  std::string bare_user;  // for invalidate()
  TimePoint expires;
  std::optional<std::uint64_t> version;
};

// now + ttl, saturating instead of overflowing for a huge time to live.
TimePoint expiry(TimePoint now, std::chrono::seconds ttl) {
  using Duration = TimePoint::duration;
  const Duration since_epoch = now.time_since_epoch();
  // What can still be added to `now` without overflow.
  const Duration room =
      since_epoch >= Duration::zero() ? Duration::max() - since_epoch : Duration::max();
  if (ttl >= std::chrono::duration_cast<std::chrono::seconds>(room)) {
    return now + room;
  }
  return now + std::chrono::duration_cast<Duration>(ttl);
}

}  // namespace

struct CachingPasswordVerifier::State {
  VerificationCacheOptions options;
  // HMAC-SHA256 under a random key, so that a dump of the cache reveals
  // nothing about passwords that an attacker could test offline. Keyed once
  // here, each lookup works on a copy: fetching the algorithms and processing
  // the key in a one-shot HMAC() per request cost most of every lookup.
  std::unique_ptr<EVP_MAC_CTX, decltype(&EVP_MAC_CTX_free)> keyed_mac =
      make_keyed_mac(random_bytes(32));
  std::mutex keyed_mac_mutex;  // OpenSSL promises nothing for concurrent copies

  mutable std::mutex mutex;
  std::list<Entry> order;  // oldest first
  std::unordered_map<std::string, std::list<Entry>::iterator> index;
  // Bumped by invalidate(): a verification that started before it must not
  // store its (possibly stale) success afterwards.
  std::uint64_t invalidations = 0;

  static std::unique_ptr<EVP_MAC_CTX, decltype(&EVP_MAC_CTX_free)> make_keyed_mac(
      const std::string& key) {
    std::unique_ptr<EVP_MAC, decltype(&EVP_MAC_free)> mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr),
                                                          &EVP_MAC_free);
    std::unique_ptr<EVP_MAC_CTX, decltype(&EVP_MAC_CTX_free)> context(
        mac ? EVP_MAC_CTX_new(mac.get()) : nullptr, &EVP_MAC_CTX_free);
    char digest[] = "SHA256";
    const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                                 OSSL_PARAM_construct_end()};
    if (!context || EVP_MAC_init(context.get(), reinterpret_cast<const unsigned char*>(key.data()),
                                 key.size(), params) != 1) {
      context.reset();  // no cache: every verification goes to the inner verifier
    }
    return context;
  }

  std::optional<std::string> key_of(const std::string& bare_user, std::string_view password) {
    if (!keyed_mac) {
      return std::nullopt;
    }
    std::unique_ptr<EVP_MAC_CTX, decltype(&EVP_MAC_CTX_free)> context(nullptr, &EVP_MAC_CTX_free);
    {
      std::lock_guard<std::mutex> lock(keyed_mac_mutex);
      context.reset(EVP_MAC_CTX_dup(keyed_mac.get()));
    }
    // A bare JID never contains NUL, so the separator keeps the pair unambiguous.
    static constexpr unsigned char separator = 0;
    unsigned char out[EVP_MAX_MD_SIZE];
    std::size_t length = 0;
    if (!context ||
        EVP_MAC_update(context.get(), reinterpret_cast<const unsigned char*>(bare_user.data()),
                       bare_user.size()) != 1 ||
        EVP_MAC_update(context.get(), &separator, 1) != 1 ||
        EVP_MAC_update(context.get(), reinterpret_cast<const unsigned char*>(password.data()),
                       password.size()) != 1 ||
        EVP_MAC_final(context.get(), out, &length, sizeof out) != 1) {
      return std::nullopt;
    }
    return std::string(reinterpret_cast<const char*>(out), length);
  }

  /// Stores a success, unless the user's entries were invalidated since the
  /// verification started.
  void remember(const std::string& key, const std::string& bare_user,
                std::optional<std::uint64_t> version, TimePoint now,
                std::uint64_t invalidations_before) {
    std::lock_guard<std::mutex> lock(mutex);
    if (invalidations != invalidations_before || options.max_entries == 0 ||
        options.time_to_live <= std::chrono::seconds::zero()) {
      return;
    }
    const TimePoint expires = expiry(now, options.time_to_live);
    if (const auto found = index.find(key); found != index.end()) {
      // Another thread stored it meanwhile: refresh it as the newest entry.
      found->second->expires = expires;
      found->second->version = version;
      order.splice(order.end(), order, found->second);
      return;
    }
    order.push_back(Entry{key, bare_user, expires, version});
    index.emplace(key, std::prev(order.end()));
    while (order.size() > options.max_entries) {
      erase(order.begin());
    }
  }

  void erase(std::list<Entry>::iterator it) {
    index.erase(it->key);
    order.erase(it);
  }
};

CachingPasswordVerifier::CachingPasswordVerifier(PasswordVerifier& inner,
                                                 VerificationCacheOptions options)
    : inner_(inner), state_(std::make_shared<State>()) {
  state_->options = std::move(options);
  if (!state_->options.now) {
    state_->options.now = [] { return std::chrono::steady_clock::now(); };
  }
}

CachingPasswordVerifier::~CachingPasswordVerifier() = default;

void CachingPasswordVerifier::async_verify(const Jid& user, std::string_view password,
                                           Completion<VerifyResult> done) {
  State& s = *state_;
  std::string bare_user = user.bare_string();
  std::optional<std::string> key = s.key_of(bare_user, password);
  if (!key) {
    inner_.async_verify(user, password, std::move(done));
    return;
  }
  // Host callbacks run outside the lock: they may be slow or take locks of their own.
  std::optional<std::uint64_t> version;
  if (s.options.credentials_version) {
    version = s.options.credentials_version(user);
  }
  const TimePoint now = s.options.now();

  std::uint64_t invalidations_before = 0;
  {
    std::lock_guard<std::mutex> lock(s.mutex);
    if (const auto found = s.index.find(*key); found != s.index.end()) {
      const Entry& entry = *found->second;
      if (now < entry.expires && entry.version == version) {
        done(true);
        return;
      }
      s.erase(found->second);
    }
    invalidations_before = s.invalidations;
  }

  // The slow check, deliberately not under the lock.
  // If the inner verifier drops its completion, `done` goes with it and is
  // abandoned in turn.
  inner_.async_verify(
      user, password,
      [state = state_, done, key = std::move(*key), bare_user = std::move(bare_user), version, now,
       invalidations_before](VerifyResult result) {
        if (result && *result) {
          state->remember(key, bare_user, version, now, invalidations_before);
        }
        done(std::move(result));
      });
}

void CachingPasswordVerifier::invalidate(const Jid& user) {
  State& s = *state_;
  const std::string bare_user = user.bare_string();
  std::lock_guard<std::mutex> lock(s.mutex);
  ++s.invalidations;
  for (auto it = s.order.begin(); it != s.order.end();) {
    const auto next = std::next(it);
    if (it->bare_user == bare_user) {
      s.erase(it);
    }
    it = next;
  }
}

std::size_t CachingPasswordVerifier::size() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->order.size();
}

}  // namespace mimrest
