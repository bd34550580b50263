#include "sql/hosting.hpp"

#include "mimrest/api_config.hpp"
#include "sql/store.hpp"

namespace mimrest::sql::detail {

std::string prepare_domain(std::string_view domain) {
  auto parsed = Jid::parse(domain);
  if (parsed && parsed->local().empty() && parsed->is_bare()) {
    return parsed->domain();
  }
  return std::string(domain);
}

Hosting::Hosting(const HostingConfig& config) : config_(config) {
  if (!config_.now_us) {
    config_.now_us = system_now_us;
  }
  if (config_.password_iterations == 0) {
    config_.password_iterations = 1;
  }
  for (const auto& domain : config_.domains) {
    domains_.insert(prepare_domain(domain));
  }
}

bool Hosting::is_local_domain(std::string_view domain) const {
  return domains_.count(std::string(domain)) != 0;
}

bool Hosting::is_local_user_jid(const Jid& jid) const {
  return jid.is_bare() && !jid.local().empty() && is_local_domain(jid.domain());
}

std::optional<std::string> Hosting::service_domain(std::string_view user_domain) const {
  if (!config_.muc_light_enabled) {
    return std::nullopt;
  }
  const std::string domain = prepare_domain(user_domain);
  if (!is_local_domain(domain)) {
    return std::nullopt;
  }
  return muc_light_service(config_.muc_light_host, domain);
}

void Hosting::observe_chat(WriteContext& context, const Jid& owner, const Jid& with, bool outgoing,
                           std::uint64_t seq,
                           const std::shared_ptr<const std::string>& stanza) const {
  if (config_.observers.empty()) {
    return;
  }
  context.on_commit([observers = config_.observers, owner, with, outgoing, seq, stanza] {
    const ArchivedMessage row{std::to_string(seq), static_cast<std::int64_t>(seq), *stanza};
    for (const auto& observer : observers) {
      observer->chat_archived(owner, with, outgoing, row);
    }
  });
}

void Hosting::observe_room(WriteContext& context, const Jid& room, const Jid& sender,
                           std::uint64_t seq,
                           const std::shared_ptr<const std::string>& stanza) const {
  if (config_.observers.empty()) {
    return;
  }
  context.on_commit([observers = config_.observers, room, sender, seq, stanza] {
    const ArchivedMessage row{std::to_string(seq), static_cast<std::int64_t>(seq), *stanza};
    for (const auto& observer : observers) {
      observer->room_archived(room, sender, row);
    }
  });
}

}  // namespace mimrest::sql::detail
