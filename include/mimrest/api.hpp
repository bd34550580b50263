// The client REST API: one transport-neutral entry point that routes a
// request to its handler and answers with the exact statuses and bodies of
// MongooseIM's client API.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "mimrest/api_config.hpp"
#include "mimrest/backend/backend.hpp"
#include "mimrest/completion.hpp"
#include "mimrest/expected.hpp"
#include "mimrest/export.hpp"
#include "mimrest/http.hpp"

namespace mimrest {

/// Receives the one Response to a request.
using Responder = Completion<Response>;

class MIMREST_EXPORT Api {
 public:
  /// Throws std::invalid_argument for a configuration that check() rejects or
  /// a Backend without `passwords`.
  Api(ApiConfig config, Backend backend);
  /// Requests still in flight stay safe: a backend completion that arrives
  /// later still answers its request, but no further backend operation is
  /// started for it (a request that needed one answers 503 "Service
  /// unavailable"). Waits for calls into the backend that are under way on
  /// other threads to return (not for them to complete).
  ~Api();
  Api(const Api&) = delete;
  Api& operator=(const Api&) = delete;

  /// Answers one request through `respond`, called exactly once: inline when
  /// every backend step completes inline, else from the thread that completes
  /// the last one. Thread-safe; never throws for bad input. A successful GET
  /// /sse answers a Response with an event_stream that the caller serves and
  /// eventually close()s (see sse.hpp).
  void handle(Request request, Responder respond) const;

  /// The same, waiting for the answer: for hosts and tests whose backend
  /// completes inline (then nothing waits). If a backend completes later, the
  /// calling thread blocks until it does - so never call this on a thread
  /// that the backend needs in order to complete. A backend that drops a
  /// completion unanswered gives 500, never a hang.
  Response handle(const Request& request) const;

  /// A response the core did not route (an adapter's 400, 413, 431 or 503),
  /// with the same common headers as every other: status and the message as
  /// a JSON string body.
  Response error_response(int status, std::string_view message) const;

  const ApiConfig& config() const noexcept;

  /// The route groups that are on: enabled in the configuration and backed
  /// by the backend.
  std::vector<std::string_view> active_groups() const;

  /// Every route group's name, as ApiConfig::handlers spells them.
  static std::vector<std::string_view> group_names();

  /// Whether a configuration can be used (known group names, sane limits);
  /// the reason when not.
  static Expected<void, std::string> check(const ApiConfig& config);

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace mimrest
