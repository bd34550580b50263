// What a backend tells about the live sessions it holds in this process: for
// monitoring, operations and tests. Thread-safe.
#pragma once

#include <cstddef>

#include "mimrest/export.hpp"
#include "mimrest/jid.hpp"

namespace mimrest {

class MIMREST_EXPORT SessionMonitor {
 public:
  virtual ~SessionMonitor() = default;
  /// Open sessions of a user (every resource) in this process.
  virtual std::size_t session_count(const Jid& user) const = 0;
};

}  // namespace mimrest
