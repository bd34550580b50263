// Everything the route handlers need from the host, as one bundle of
// pointers. A host that lacks a capability (no rooms, no live events) leaves
// its pointer null: the route groups that need it are then off (their paths
// answer 404 and are left out of the documentation).
//
// Lifetime: the host keeps every object alive until the Api is destroyed AND
// every operation the Api started has completed.
#pragma once

#include "mimrest/backend/archive.hpp"
#include "mimrest/backend/event_log.hpp"
#include "mimrest/backend/message_router.hpp"
#include "mimrest/backend/muc_light.hpp"
#include "mimrest/backend/roster.hpp"
#include "mimrest/backend/sessions.hpp"
#include "mimrest/backend/token_store.hpp"
#include "mimrest/password_verifier.hpp"

namespace mimrest {

struct Backend {
  PasswordVerifier* passwords = nullptr;  ///< required: Basic authentication
  MessageRouter* router = nullptr;        ///< with `archive`: the messages group
  MessageArchive* archive = nullptr;      ///< with `router`: the messages group
  Roster* roster = nullptr;               ///< the contacts group
  MucLight* muc_light = nullptr;          ///< the rooms* groups
  SessionManager* sessions = nullptr;     ///< the sse group
  TokenStore* tokens = nullptr;           ///< Bearer tokens (when enabled in ApiConfig)
  EventLog* events = nullptr;             ///< resumable event streams (when enabled)
};

}  // namespace mimrest
