#include "storage.hpp"

#include <algorithm>
#include <istream>
#include <ostream>

#include "mimrest/memory/memory_backend.hpp"
#if MIMREST_SERVER_WITH_SQL
#include "mimrest/sql/sql_backend.hpp"
#endif
#if MIMREST_SERVER_WITH_XMPP
#include "mimrest/xmpp/gateway.hpp"
#endif

namespace mimrest::server {

namespace {

/// A backend that keeps its own accounts (memory, SQL).
template <class Backend_>
class Hosted final : public Storage {
 public:
  explicit Hosted(std::unique_ptr<Backend_> backend) : backend_(std::move(backend)) {}
  Backend backend() override { return backend_->backend(); }
  Accounts* accounts() override { return backend_.get(); }

 private:
  std::unique_ptr<Backend_> backend_;
};

#if MIMREST_SERVER_WITH_XMPP
/// The XMPP gateway: the accounts are the XMPP server's.
class Gatewayed final : public Storage {
 public:
  explicit Gatewayed(std::unique_ptr<xmpp::Gateway> gateway) : gateway_(std::move(gateway)) {}
  Backend backend() override { return gateway_->backend(); }
  Accounts* accounts() override { return nullptr; }

 private:
  std::unique_ptr<xmpp::Gateway> gateway_;
};
#endif

Expected<std::unique_ptr<Storage>, std::string> open_gateway(const ServerConfig& config) {
#if MIMREST_SERVER_WITH_XMPP
  const XmppStorage& xmpp = config.storage.xmpp;
  xmpp::GatewayConfig gateway;
  gateway.host = xmpp.host;
  gateway.port = xmpp.port;
  gateway.tls = xmpp.tls ? xmpp::GatewayConfig::Tls::required : xmpp::GatewayConfig::Tls::none;
  gateway.ca_file = xmpp.ca_file;
  gateway.domains = config.hosting.domains;
  gateway.muc_service = xmpp.muc_service;
  gateway.idle_timeout = xmpp.idle_timeout;
  gateway.max_sessions = xmpp.max_sessions;
  gateway.max_result_limit = config.hosting.max_result_limit;
  auto opened = xmpp::Gateway::open(std::move(gateway));
  if (!opened) {
    return unexpected("cannot start the XMPP gateway: " + opened.error());
  }
  return std::unique_ptr<Storage>(std::make_unique<Gatewayed>(std::move(*opened)));
#else
  (void)config;
  return unexpected(std::string("this build has no XMPP gateway (MIMREST_WITH_XMPP=OFF)"));
#endif
}

}  // namespace

Expected<std::unique_ptr<Storage>, std::string> open_storage(const ServerConfig& config) {
  switch (config.storage.type) {
    case StorageConfig::Type::memory:
      return std::unique_ptr<Storage>(std::make_unique<Hosted<memory::MemoryBackend>>(
          std::make_unique<memory::MemoryBackend>(config.hosting)));
    case StorageConfig::Type::xmpp:
      return open_gateway(config);
    case StorageConfig::Type::sqlite:
    case StorageConfig::Type::postgresql:
      break;
  }
#if MIMREST_SERVER_WITH_SQL
  sql::SqlConfig sql;
  const bool sqlite = config.storage.type == StorageConfig::Type::sqlite;
  sql.type = sqlite ? sql::SqlConfig::Type::sqlite : sql::SqlConfig::Type::postgresql;
  sql.path = config.storage.path;
  sql.url = config.storage.url;
  sql.sync = config.storage.sync_full ? sql::SqlConfig::Sync::full : sql::SqlConfig::Sync::normal;
  sql.hosting = config.hosting;
  auto opened = sql::SqlBackend::open(std::move(sql));
  if (!opened) {
    return unexpected("cannot open the " + std::string(sqlite ? "SQLite" : "PostgreSQL") +
                      " storage: " + opened.error());
  }
  return std::unique_ptr<Storage>(std::make_unique<Hosted<sql::SqlBackend>>(std::move(*opened)));
#else
  return unexpected(std::string(
      "this build has no SQL storage (MIMREST_WITH_SQL=OFF): use \"storage\": {\"type\": "
      "\"memory\"}"));
#endif
}

Expected<void, std::string> ensure_users(Accounts& backend, const std::vector<UserAccount>& users) {
  for (const auto& user : users) {
    auto exists = backend.user_exists(user.jid);
    if (!exists) {
      return unexpected("cannot look up user '" + user.jid.bare_string() +
                        "': " + std::string(to_string(exists.error())));
    }
    if (*exists) {
      continue;
    }
    // Another node starting on the same database may add it meanwhile.
    if (auto added = backend.add_user(user.jid, user.password);
        !added && added.error() != AccountError::already_exists) {
      return unexpected("cannot add user '" + user.jid.bare_string() +
                        "': " + std::string(to_string(added.error())));
    }
  }
  return {};
}

namespace {

/// The command's JID: a bare user JID on one of the configured domains.
Expected<Jid, std::string> command_jid(const ServerConfig& config, const std::string& text) {
  auto jid = Jid::parse(text);
  if (!jid || jid->local().empty() || !jid->is_bare()) {
    return unexpected("'" + text + "' is not a bare user JID (user@domain)");
  }
  const auto& domains = config.hosting.domains;
  if (std::find(domains.begin(), domains.end(), jid->domain()) == domains.end()) {
    return unexpected("'" + text + "' is not on one of the configured domains");
  }
  return std::move(jid).value();
}

/// The first line of `in`, without its line end; nullopt when there is none.
std::optional<std::string> read_password(std::istream& in) {
  std::string line;
  if (!std::getline(in, line)) {
    return std::nullopt;
  }
  if (!line.empty() && line.back() == '\r') {
    line.pop_back();
  }
  return line;
}

}  // namespace

int run_user_command(const ServerConfig& config, const std::vector<std::string>& command,
                     std::istream& in, std::ostream& out, std::ostream& err) {
  const std::string verb = command.empty() ? std::string() : command[0];
  const bool takes_jid = verb == "add" || verb == "passwd" || verb == "delete";
  if (!(takes_jid && command.size() == 2) && !(verb == "list" && command.size() == 1)) {
    err << server_usage();
    return 2;
  }
  if (config.storage.type == StorageConfig::Type::memory) {
    err << "mimrest-server: user commands need a stored configuration: \"storage\" is "
           "\"memory\"\n";
    return 1;
  }
  if (config.storage.type == StorageConfig::Type::xmpp) {
    err << "mimrest-server: with \"xmpp\" storage the accounts are the XMPP server's: "
           "manage them there\n";
    return 1;
  }
  std::optional<Jid> jid;
  if (takes_jid) {
    auto parsed = command_jid(config, command[1]);
    if (!parsed) {
      err << "mimrest-server: " << parsed.error() << "\n";
      return 1;
    }
    jid = std::move(*parsed);
  }
  std::optional<std::string> password;
  if (verb == "add" || verb == "passwd") {
    password = read_password(in);
    if (!password || password->empty()) {
      err << "mimrest-server: the password (the first line of standard input) is missing\n";
      return 1;
    }
  }
  auto store = open_storage(config);
  if (!store) {
    err << "mimrest-server: " << store.error() << "\n";
    return 1;
  }
  Accounts* accounts = (*store)->accounts();
  if (accounts == nullptr) {
    err << "mimrest-server: this storage keeps no accounts of its own\n";
    return 1;
  }
  Accounts& backend = *accounts;
  auto report = [&](const AccountResult& result) {
    if (result) {
      return 0;
    }
    err << "mimrest-server: " << verb << " " << jid->bare_string() << ": "
        << to_string(result.error()) << "\n";
    return 1;
  };
  if (verb == "add") {
    return report(backend.add_user(*jid, *password));
  }
  if (verb == "passwd") {
    return report(backend.set_password(*jid, *password));
  }
  if (verb == "delete") {
    return report(backend.remove_user(*jid));
  }
  auto users = backend.list_users();
  if (!users) {
    err << "mimrest-server: list: " << to_string(users.error()) << "\n";
    return 1;
  }
  for (const auto& user : *users) {
    out << user.bare_string() << "\n";
  }
  return 0;
}

}  // namespace mimrest::server
