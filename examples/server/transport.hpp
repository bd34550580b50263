// mimrest-server's transports behind one face: Boost.Beast or cpprestsdk.
#pragma once

#include <memory>
#include <string>

#include "mimrest/api.hpp"
#include "mimrest/expected.hpp"
#include "server_config.hpp"

namespace mimrest::server {

class RunningTransport {
 public:
  virtual ~RunningTransport() = default;
  virtual std::string url() const = 0;
  /// Graceful: ends event streams, lets requests in flight finish.
  virtual void stop() = 0;
};

/// Starts the configured transport over `api`, which must outlive it.
Expected<std::unique_ptr<RunningTransport>, std::string> start_transport(
    const Api& api, const ServerConfig& config);

}  // namespace mimrest::server
