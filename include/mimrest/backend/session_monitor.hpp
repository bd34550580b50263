// What a backend tells about the live sessions it holds in this process: for
// monitoring, operations and tests. Thread-safe.
#pragma once

#include <cstddef>

#include "mimrest/jid.hpp"

namespace mimrest {

class SessionMonitor {
 public:
  virtual ~SessionMonitor() = default;
  /// Open sessions of a user (every resource) in this process.
  virtual std::size_t session_count(const Jid& user) const = 0;
};

}  // namespace mimrest
