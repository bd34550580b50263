// The facade: builds the components and hands out their interfaces.
//
// Locking: each component has its own mutex (accounts, sessions, one-to-one
// archives, rosters, rooms). The only nesting is rosters/rooms -> accounts
// and rooms -> sessions (taking a delivery snapshot); sinks always run with
// no lock held.
#include "mimrest/memory/memory_backend.hpp"

#include <chrono>
#include <utility>

#include "memory/chat_archive.hpp"
#include "memory/muc_light_store.hpp"
#include "memory/roster_store.hpp"
#include "memory/session_registry.hpp"
#include "memory/user_directory.hpp"
#include "mimrest/scram_credentials.hpp"
#include "mimrest/verification_cache.hpp"

namespace mimrest::memory {

namespace {

MemoryBackendConfig with_defaults(MemoryBackendConfig config) {
  if (!config.now_us) {
    config.now_us = [] {
      return std::chrono::duration_cast<std::chrono::microseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
          .count();
    };
  }
  return config;
}

detail::MucLightOptions muc_light_options(const MemoryBackendConfig& config) {
  detail::MucLightOptions options;
  options.enabled = config.muc_light_enabled;
  options.host_pattern = config.muc_light_host;
  options.all_can_configure = config.all_can_configure;
  options.max_result_limit = config.max_result_limit;
  return options;
}

}  // namespace

struct MemoryBackend::Impl {
  explicit Impl(MemoryBackendConfig backend_config)
      : config(with_defaults(std::move(backend_config))),
        users(config.domains, config.password_iterations),
        archive(config.now_us, config.max_result_limit),
        router(users, archive, sessions),
        roster(users),
        muc_light(muc_light_options(config), users, config.now_us, sessions),
        scram_verifier(users),
        verifier(scram_verifier, cache_options(users)) {}

  static VerificationCacheOptions cache_options(const detail::UserDirectory& users) {
    VerificationCacheOptions options;
    // A password change bumps the version, which drops cached successes.
    options.credentials_version = [&users](const Jid& user) {
      return users.credentials_version(user);
    };
    return options;
  }

  const MemoryBackendConfig config;
  detail::UserDirectory users;
  detail::SessionRegistry sessions;
  detail::ChatArchive archive;
  detail::ChatRouter router;
  detail::RosterStore roster;
  detail::MucLightStore muc_light;
  ScramPasswordVerifier scram_verifier;
  CachingPasswordVerifier verifier;
};

MemoryBackend::MemoryBackend(MemoryBackendConfig config)
    : impl_(std::make_unique<Impl>(std::move(config))) {}

MemoryBackend::~MemoryBackend() = default;

Expected<void, UserError> MemoryBackend::add_user(const Jid& user, std::string_view password) {
  return impl_->users.add_user(user, password);
}

Expected<void, UserError> MemoryBackend::set_password(const Jid& user, std::string_view password) {
  auto result = impl_->users.set_password(user, password);
  if (result) {
    impl_->verifier.invalidate(user);
  }
  return result;
}

bool MemoryBackend::user_exists(const Jid& user) const {
  return impl_->users.exists(user);
}

Backend MemoryBackend::backend() {
  return Backend{impl_->verifier, impl_->router,    impl_->archive,
                 impl_->roster,   impl_->muc_light, impl_->sessions};
}

std::size_t MemoryBackend::session_count(const Jid& user) const {
  return impl_->sessions.session_count(user);
}

const MemoryBackendConfig& MemoryBackend::config() const noexcept {
  return impl_->config;
}

}  // namespace mimrest::memory
