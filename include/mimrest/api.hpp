// The client REST API: one transport-neutral entry point that routes a
// request to its handler and answers with the exact statuses and bodies of
// MongooseIM's client API.
#pragma once

#include <memory>

#include "mimrest/api_config.hpp"
#include "mimrest/backend/backend.hpp"
#include "mimrest/http.hpp"

namespace mimrest {

class Api {
 public:
  Api(ApiConfig config, Backend backend);
  ~Api();
  Api(const Api&) = delete;
  Api& operator=(const Api&) = delete;

  /// Answers one request. Thread-safe: call it concurrently from as many
  /// threads as the server has. Never throws for bad input; a GET /sse that
  /// succeeds returns a Response with an event_stream the caller must serve
  /// and eventually close().
  Response handle(const Request& request) const;

  const ApiConfig& config() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mimrest
