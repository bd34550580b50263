// The facade: builds the components and hands out their interfaces.
//
// Locking: each component has its own mutex (accounts, sessions, one-to-one
// archives, rosters, rooms, tokens). The only nesting is rosters/rooms ->
// accounts and rooms -> sessions (taking a delivery snapshot); sinks always
// run with no lock held.
#include "mimrest/memory/memory_backend.hpp"

#include <algorithm>
#include <utility>

#include "memory/chat_archive.hpp"
#include "memory/muc_light_store.hpp"
#include "memory/roster_store.hpp"
#include "memory/session_registry.hpp"
#include "memory/token_table.hpp"
#include "memory/user_directory.hpp"
#include "mimrest/api_config.hpp"
#include "mimrest/scram_credentials.hpp"
#include "mimrest/verification_cache.hpp"

namespace mimrest::memory {

namespace {

MemoryBackendConfig with_defaults(MemoryBackendConfig config) {
  if (!config.now_us) {
    config.now_us = system_now_us;
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

/// Replays a user's missed messages from the one-to-one and room archives.
class MemoryEventLog final : public SyncEventLog<NullMutex> {
 public:
  MemoryEventLog(const detail::Sequencer& sequencer, const detail::ChatArchive& archive,
                 const detail::MucLightStore& rooms)
      : sequencer_(sequencer), archive_(archive), rooms_(rooms) {}

  EventsResult events_after(const Caller& user, std::uint64_t after, std::size_t limit) override {
    // Every row numbered up to here is in its log by the time its store's
    // lock is taken, so the two reads below see one consistent snapshot.
    const std::uint64_t up_to = sequencer_.current();
    std::vector<LoggedEvent> events;
    archive_.events_between(user, after, up_to, events);
    rooms_.events_between(user, after, up_to, events);
    std::sort(events.begin(), events.end(),
              [](const LoggedEvent& a, const LoggedEvent& b) { return a.sequence < b.sequence; });
    if (events.size() > limit) {
      events.resize(limit);
    }
    return events;
  }

  SequenceResult last_sequence() override { return sequencer_.current(); }

 private:
  const detail::Sequencer& sequencer_;
  const detail::ChatArchive& archive_;
  const detail::MucLightStore& rooms_;
};

}  // namespace

struct MemoryBackend::Impl {
  explicit Impl(MemoryBackendConfig backend_config)
      : config(with_defaults(std::move(backend_config))),
        users(config.domains, config.password_iterations),
        archive(config.now_us, config.max_result_limit, sequencer),
        router(users, archive, sessions, config.observers),
        roster(users),
        muc_light(muc_light_options(config), users, config.now_us, sessions, sequencer,
                  config.observers),
        events(sequencer, archive, muc_light),
        scram_verifier(users, config.password_iterations == 0 ? 1 : config.password_iterations),
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
  detail::Sequencer sequencer;
  detail::UserDirectory users;
  detail::SessionRegistry sessions;
  detail::ChatArchive archive;
  detail::ChatRouter router;
  detail::RosterStore roster;
  detail::MucLightStore muc_light;
  detail::TokenTable tokens;
  MemoryEventLog events;
  ScramPasswordVerifier scram_verifier;
  CachingPasswordVerifier verifier;
};

MemoryBackend::MemoryBackend(MemoryBackendConfig config)
    : impl_(std::make_unique<Impl>(std::move(config))) {}

MemoryBackend::~MemoryBackend() = default;

AccountResult MemoryBackend::add_user(const Jid& user, std::string_view password) {
  return impl_->users.add_user(user, password);
}

AccountResult MemoryBackend::set_password(const Jid& user, std::string_view password) {
  auto result = impl_->users.set_password(user, password);
  if (result) {
    impl_->verifier.invalidate(user);
    impl_->tokens.revoke_user(user);
  }
  return result;
}

AccountResult MemoryBackend::remove_user(const Jid& user) {
  auto removed = impl_->users.remove_user(user);
  if (!removed) {
    return removed;
  }
  impl_->verifier.invalidate(user);
  impl_->tokens.revoke_user(user);
  impl_->roster.remove_owner(user);
  impl_->archive.remove_owner(user);
  impl_->muc_light.leave_all(user);
  return {};
}

Expected<std::vector<Jid>, Error<AccountError>> MemoryBackend::list_users() {
  return impl_->users.list();
}

Expected<bool, Error<AccountError>> MemoryBackend::user_exists(const Jid& user) {
  return impl_->users.exists(user);
}

Backend MemoryBackend::backend() {
  Impl& parts = *impl_;
  return backend_of(parts.verifier, parts.router, parts.archive, parts.roster, parts.muc_light,
                    parts.sessions, parts.tokens, parts.events);
}

std::size_t MemoryBackend::session_count(const Jid& user) const {
  return impl_->sessions.session_count(user);
}

const MemoryBackendConfig& MemoryBackend::config() const noexcept {
  return impl_->config;
}

}  // namespace mimrest::memory
