// Internal: what every part of the SQL backend knows of the configuration.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>

#include "core/detail/test_export.hpp"
#include "mimrest/backend/reference_backend.hpp"
#include "mimrest/jid.hpp"

namespace mimrest::sql::detail {

class WriteContext;

class MIMREST_TEST_EXPORT Hosting {
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

  /// Tells the configured observers, once `context`'s transaction has
  /// committed, of a row archived with sequence `seq` in `owner`'s
  /// one-to-one archive (`with` the other party) ...
  void observe_chat(WriteContext& context, const Jid& owner, const Jid& with, bool outgoing,
                    std::uint64_t seq, const std::shared_ptr<const std::string>& stanza) const;
  /// ... or in `room`'s archive, caused by `sender`.
  void observe_room(WriteContext& context, const Jid& room, const Jid& sender, std::uint64_t seq,
                    const std::shared_ptr<const std::string>& stanza) const;

 private:
  HostingConfig config_;
  std::unordered_set<std::string> domains_;
};

/// The prepared form of a domain, or the text as given when it is not one.
std::string prepare_domain(std::string_view domain);

}  // namespace mimrest::sql::detail
