// The JSON configuration of mimrest-server: parsed strictly (unknown keys,
// wrong types and inconsistent values are errors) into the settings of the
// Api, the backend and the transport.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mimrest/api_config.hpp"
#include "mimrest/backend/reference_backend.hpp"
#include "mimrest/expected.hpp"
#include "mimrest/jid.hpp"
#include "mimrest/tls.hpp"

namespace mimrest::server {

struct UserAccount {
  Jid jid;  ///< prepared bare JID on one of the configured domains
  std::string password;
};

enum class Transport { beast, cpprest };

/// The transport's limits (docs/api.md, "Transport"); the body limit is the Api's.
struct TransportLimits {
  std::size_t max_header_bytes = 16384;
  std::chrono::seconds header_timeout{10};
  std::chrono::seconds idle_timeout{60};
  std::size_t max_connections = 10000;
};

/// The XMPP server a gateway fronts ("storage": {"type": "xmpp"}).
struct XmppStorage {
  std::string host = "127.0.0.1";
  std::uint16_t port = 5222;
  /// STARTTLS with the certificate verified (false: plain TCP, loopback only).
  bool tls = true;
  /// Trusted CAs (PEM); empty: the system's store.
  std::string ca_file;
  std::string muc_service = "conference.@HOST@";
  std::chrono::seconds idle_timeout{300};
  std::size_t max_sessions = 10000;
};

struct StorageConfig {
  enum class Type { memory, sqlite, postgresql, xmpp };
  Type type = Type::sqlite;
  /// SQLite: the database file; relative names are relative to the folder of
  /// the configuration file ("mimrest.db" there by default).
  std::string path;
  /// PostgreSQL: the connection URL.
  std::string url;
  /// SQLite: also survive a power loss (synchronous=FULL), not only a crash.
  bool sync_full = false;
  XmppStorage xmpp;
};

struct ServerConfig {
  ApiConfig api;
  HostingConfig hosting;
  Transport transport = Transport::beast;
  std::string listen = "http://127.0.0.1:8089";
  std::optional<TlsFiles> tls;
  TransportLimits limits;
  StorageConfig storage;
  std::vector<UserAccount> users;
  /// Serve the browser demo page at {base_path}/demo.
  bool demo = false;
};

/// Parses the configuration text. Relative file names (TLS files, the SQLite
/// database) are taken relative to `base_dir` (the folder of the
/// configuration file; the current folder when empty). Does not touch the
/// file system. An error text saying what is wrong and where (for example
/// "cors.allowed_origins[1]: expected a string").
Expected<ServerConfig, std::string> parse_server_config(std::string_view json,
                                                        const std::string& base_dir = {});

/// Reads and parses a configuration file, then checks that the TLS files, if
/// any, load.
Expected<ServerConfig, std::string> load_server_config(const std::string& path);

/// Whether `url` is an acceptable listen URL: http:// or https://, a host
/// (name, IPv4 or [IPv6]), an optional port 1-65535, no path beyond "/".
bool valid_listen_url(std::string_view url);

/// The usage text of mimrest-server.
std::string server_usage();

}  // namespace mimrest::server
