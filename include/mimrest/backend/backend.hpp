// Everything the route handlers need from the host, as one bundle of
// pointers. A host that lacks a capability (no rooms, no live events) leaves
// its pointer null: the route groups that need it are then off (their paths
// answer 404 and are left out of the documentation).
//
// Lifetime: the host keeps every object alive until the Api is destroyed AND
// every operation the Api started has completed.
#pragma once

#include <type_traits>

#include "mimrest/backend/archive.hpp"
#include "mimrest/backend/event_log.hpp"
#include "mimrest/backend/message_router.hpp"
#include "mimrest/backend/muc_light.hpp"
#include "mimrest/backend/roster.hpp"
#include "mimrest/backend/sessions.hpp"
#include "mimrest/backend/token_store.hpp"
#include "mimrest/export.hpp"
#include "mimrest/password_verifier.hpp"

/// The one list of backend capabilities: X(interface, Backend member). The
/// Backend struct, for_each_capability() and the adapters that wrap a whole
/// backend (backend/on_executor.hpp) are generated from it, so a new
/// interface is one line here plus its implementations.
#define MIMREST_BACKEND_CAPABILITIES(X) \
  X(PasswordVerifier, passwords)        \
  X(MessageRouter, router)              \
  X(MessageArchive, archive)            \
  X(Roster, roster)                     \
  X(MucLight, muc_light)                \
  X(SessionManager, sessions)           \
  X(TokenStore, tokens)                 \
  X(EventLog, events)

namespace mimrest {

/// One pointer per capability; null where the host has none. `passwords` is
/// required. The route groups say what they need: `router` with `archive`
/// the messages group, `roster` contacts, `muc_light` the rooms* groups,
/// `sessions` sse, `tokens` Bearer tokens (when enabled in ApiConfig) and
/// `events` resumable event streams (when enabled).
struct MIMREST_EXPORT Backend {
#define MIMREST_BACKEND_MEMBER(Interface, member) Interface* member = nullptr;
  MIMREST_BACKEND_CAPABILITIES(MIMREST_BACKEND_MEMBER)
#undef MIMREST_BACKEND_MEMBER
};

/// Calls `f(backend.member)` for every capability, in the list's order, with
/// a reference to the pointer (so that `f` may read or set it).
template <class F>
void for_each_capability(Backend& backend, F&& f) {
#define MIMREST_BACKEND_VISIT(Interface, member) f(backend.member);
  MIMREST_BACKEND_CAPABILITIES(MIMREST_BACKEND_VISIT)
#undef MIMREST_BACKEND_VISIT
}

/// The member of `backend` whose interface is `Interface` (null when unset).
template <class Interface>
Interface* capability(Backend& backend) {
  Interface* found = nullptr;
  for_each_capability(backend, [&found](auto*& slot) {
    using Slot = std::remove_pointer_t<std::remove_reference_t<decltype(slot)>>;
    if constexpr (std::is_same_v<Slot, Interface>) {
      found = slot;
    }
  });
  return found;
}

/// Wires a Backend from the objects that implement its interfaces (derive
/// from them): each capability points at the first of `parts` that
/// implements it, or stays null when none does. One object may implement
/// several interfaces.
template <class... Parts>
Backend backend_of(Parts&... parts) {
  Backend backend;
  for_each_capability(backend, [&](auto*& slot) {
    using Interface = std::remove_pointer_t<std::remove_reference_t<decltype(slot)>>;
    auto take = [&slot](auto& part) {
      using Part = std::remove_reference_t<decltype(part)>;
      if constexpr (std::is_base_of_v<Interface, Part>) {
        if (slot == nullptr) {
          slot = &part;
        }
      }
    };
    (take(parts), ...);
  });
  return backend;
}

}  // namespace mimrest
