// Internal: the authentication step of every request that needs a user.
#pragma once

#include <chrono>
#include <functional>

#include "core/api/call.hpp"

namespace mimrest::detail {

/// Finds the user of `call`: HTTP Basic (the host's verifier, behind the
/// failed-login throttle), or a Bearer token when tokens are enabled (the
/// Authorization header, or `access_token` in the query where the operation
/// allows it). On success sets the user and runs `next` (inline or from the
/// backend's thread); otherwise answers 401 (every failure alike), 429 when
/// throttled, or 500/503 when the backend failed.
void authenticate(const CallPtr& call, std::function<void()> next);

/// The 401 answer: the WWW-Authenticate challenges and an empty body.
void answer_unauthorized(Call& call);

/// 429 "Too many failed logins" with Retry-After.
void answer_throttled(Call& call, std::chrono::seconds retry_after);

}  // namespace mimrest::detail
