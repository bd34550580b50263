// The JSON configuration of mimrest-server: parsed strictly (unknown keys,
// wrong types and inconsistent values are errors) into the settings of the
// Api, the in-memory backend and the cpprestsdk listener.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "mimrest/api_config.hpp"
#include "mimrest/cpprest/listener.hpp"
#include "mimrest/expected.hpp"
#include "mimrest/jid.hpp"
#include "mimrest/memory/memory_backend.hpp"

namespace mimrest::server {

struct UserAccount {
  Jid jid;  ///< prepared bare JID on one of the configured domains
  std::string password;
};

struct ServerConfig {
  ApiConfig api;
  memory::MemoryBackendConfig backend;
  cpprest::ListenerOptions listener;
  std::vector<UserAccount> users;
};

/// Parses the configuration text. Relative TLS file names are taken relative
/// to `base_dir` (the folder of the configuration file) when it is not empty.
/// Does not touch the file system. An error text saying what is wrong and
/// where (for example "cors.allowed_origins[1]: expected a string").
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
