// mimrest-server's storage: the configured backend, the configured users,
// and the `user` commands.
#pragma once

#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "mimrest/backend/reference_backend.hpp"
#include "mimrest/expected.hpp"
#include "server_config.hpp"

namespace mimrest::server {

/// Opens the configured storage (SQLite, PostgreSQL or memory); a message
/// saying why when it cannot.
Expected<std::unique_ptr<ReferenceBackend>, std::string> open_storage(const ServerConfig& config);

/// Creates the configured users that do not exist yet (with their
/// configured password); existing users stay as stored.
Expected<void, std::string> ensure_users(ReferenceBackend& backend,
                                         const std::vector<UserAccount>& users);

/// `user add JID`, `user passwd JID` (the password is the first line of
/// `in`), `user delete JID`, `user list`: the exit code, with messages on
/// `err` (0 success, 1 failure, 2 bad usage).
int run_user_command(const ServerConfig& config, const std::vector<std::string>& command,
                     std::istream& in, std::ostream& out, std::ostream& err);

}  // namespace mimrest::server
