// What the ready-made backends (memory, sql) have in common beyond the
// interfaces of Backend: how they host users (HostingConfig), account
// administration for mimrest-server's user commands and tests, and the count
// of their sessions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mimrest/backend/accounts.hpp"
#include "mimrest/backend/backend.hpp"
#include "mimrest/backend/message_observer.hpp"
#include "mimrest/backend/session_monitor.hpp"
#include "mimrest/expected.hpp"
#include "mimrest/export.hpp"
#include "mimrest/jid.hpp"

namespace mimrest {

/// What the ready-made backends host, and how.
struct MIMREST_EXPORT HostingConfig {
  /// Local domains (prepared); users may only live here.
  std::vector<std::string> domains = {"localhost"};
  bool muc_light_enabled = true;
  /// MUC Light service per user domain; "@HOST@" stands for the domain.
  std::string muc_light_host = "muclight.@HOST@";
  bool all_can_configure = false;
  /// Cap on the number of archived messages one read returns.
  std::size_t max_result_limit = 50;
  /// PBKDF2 iterations for stored passwords.
  unsigned password_iterations = 4096;
  /// Current time in microseconds since the epoch (system clock if empty).
  std::function<std::int64_t()> now_us;
  /// Told of every archived message (see message_observer.hpp).
  std::vector<std::shared_ptr<MessageObserver>> observers;
};

/// The MUC Light service of `user_domain` under `pattern` ("@HOST@" replaced
/// by the domain, then prepared as a domain); nullopt when that is not a
/// valid domain.
MIMREST_EXPORT std::optional<std::string> muc_light_service(std::string_view pattern,
                                                            std::string_view user_domain);

/// A backend that hosts users itself (memory, sql): its interfaces, account
/// administration and the count of its sessions.
class MIMREST_EXPORT ReferenceBackend : public Accounts, public SessionMonitor {
 public:
  /// The interfaces, for an Api. Valid as long as this object.
  virtual Backend backend() = 0;
};

}  // namespace mimrest
