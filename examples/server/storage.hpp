// mimrest-server's storage: the configured backend (one of the ready-made
// ones, or the XMPP gateway), the configured users, and the `user` commands.
#pragma once

#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "mimrest/backend/accounts.hpp"
#include "mimrest/backend/backend.hpp"
#include "mimrest/expected.hpp"
#include "server_config.hpp"

namespace mimrest::server {

/// The configured backend: its interfaces, and its account administration
/// when the accounts are its own (not with the XMPP gateway, whose accounts
/// are the XMPP server's).
class Storage {
 public:
  virtual ~Storage() = default;
  virtual Backend backend() = 0;
  virtual Accounts* accounts() = 0;
};

/// Opens the configured storage (SQLite, PostgreSQL, memory, or an XMPP
/// server through the gateway); a message saying why when it cannot.
Expected<std::unique_ptr<Storage>, std::string> open_storage(const ServerConfig& config);

/// Creates the configured users that do not exist yet (with their
/// configured password); existing users stay as stored.
Expected<void, std::string> ensure_users(Accounts& accounts, const std::vector<UserAccount>& users);

/// `user add JID`, `user passwd JID` (the password is the first line of
/// `in`), `user delete JID`, `user list`: the exit code, with messages on
/// `err` (0 success, 1 failure, 2 bad usage).
int run_user_command(const ServerConfig& config, const std::vector<std::string>& command,
                     std::istream& in, std::ostream& out, std::ostream& err);

}  // namespace mimrest::server
