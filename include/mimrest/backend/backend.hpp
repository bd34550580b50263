// Everything the route handlers need from the host, as one bundle of
// references. The host keeps the objects alive as long as the Api.
#pragma once

#include "mimrest/backend/archive.hpp"
#include "mimrest/backend/message_router.hpp"
#include "mimrest/backend/muc_light.hpp"
#include "mimrest/backend/roster.hpp"
#include "mimrest/backend/sessions.hpp"
#include "mimrest/password_verifier.hpp"

namespace mimrest {

struct Backend {
  PasswordVerifier& passwords;
  MessageRouter& router;
  MessageArchive& archive;
  Roster& roster;
  MucLight& muc_light;
  SessionManager& sessions;
};

}  // namespace mimrest
