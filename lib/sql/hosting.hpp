// Internal: what every part of the SQL backend knows of the configuration.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>

#include "mimrest/backend/reference_backend.hpp"
#include "mimrest/jid.hpp"

namespace mimrest::sql::detail {

class Hosting {
 public:
  explicit Hosting(const HostingConfig& config);

  const HostingConfig& config() const noexcept { return config_; }
  /// Whether `domain` (prepared) is one of the hosted domains.
  bool is_local_domain(std::string_view domain) const;
  /// A bare user JID on a hosted domain.
  bool is_local_user_jid(const Jid& jid) const;
  /// The MUC Light service of a user domain, nullopt when MUC Light is off
  /// or the domain is not hosted.
  std::optional<std::string> service_domain(std::string_view user_domain) const;

 private:
  HostingConfig config_;
  std::unordered_set<std::string> domains_;
};

/// The prepared form of a domain, or the text as given when it is not one.
std::string prepare_domain(std::string_view domain);

}  // namespace mimrest::sql::detail
