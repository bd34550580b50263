#include "server_config.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <set>
#include <sstream>

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include "mimrest/api.hpp"

namespace mimrest::server {
namespace {

using Value = rapidjson::Value;
using Error = Unexpected<std::string>;

// A configuration file is small; refuse to read anything huge.
constexpr std::streamoff max_config_bytes = 16 << 20;

Error fail(const std::string& where, const std::string& what) {
  return unexpected(where.empty() ? what : where + ": " + what);
}

std::string child(const std::string& where, const char* key) {
  return where.empty() ? std::string(key) : where + "." + key;
}

std::string element(const std::string& where, std::size_t index) {
  return where + "[" + std::to_string(index) + "]";
}

/// Every member of `object` must be one of `allowed`, and appear once.
Expected<void, std::string> check_keys(const Value& object, const std::string& where,
                                       std::initializer_list<const char*> allowed) {
  std::set<std::string> seen;
  for (const auto& member : object.GetObject()) {
    std::string key(member.name.GetString(), member.name.GetStringLength());
    bool known = false;
    for (const char* name : allowed) {
      known = known || key == name;
    }
    if (!known) {
      return fail(where, "unknown key '" + key + "'");
    }
    if (!seen.insert(key).second) {
      return fail(where, "duplicate key '" + key + "'");
    }
  }
  return {};
}

Expected<std::string, std::string> get_string(const Value& value, const std::string& where) {
  if (!value.IsString()) {
    return fail(where, "expected a string");
  }
  return std::string(value.GetString(), value.GetStringLength());
}

Expected<bool, std::string> get_bool(const Value& value, const std::string& where) {
  if (!value.IsBool()) {
    return fail(where, "expected true or false");
  }
  return value.GetBool();
}

Expected<const Value*, std::string> get_object(const Value& value, const std::string& where) {
  if (!value.IsObject()) {
    return fail(where, "expected an object");
  }
  return &value;
}

Expected<const Value*, std::string> get_array(const Value& value, const std::string& where) {
  if (!value.IsArray()) {
    return fail(where, "expected an array");
  }
  return &value;
}

bool is_absolute(const std::string& path) {
  return !path.empty() && path.front() == '/';
}

std::string resolve(const std::string& base_dir, const std::string& path) {
  if (base_dir.empty() || is_absolute(path)) {
    return path;
  }
  return base_dir + "/" + path;
}

bool all_digits(std::string_view text) {
  if (text.empty()) {
    return false;
  }
  for (char c : text) {
    if (c < '0' || c > '9') {
      return false;
    }
  }
  return true;
}

bool valid_host_name(std::string_view host) {
  if (host.empty()) {
    return false;
  }
  for (char c : host) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '-';
    if (!ok) {
      return false;
    }
  }
  return true;
}

bool valid_ipv6_literal(std::string_view inner) {
  if (inner.empty()) {
    return false;
  }
  for (char c : inner) {
    const bool ok = (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || (c >= '0' && c <= '9') ||
                    c == ':' || c == '.';
    if (!ok) {
      return false;
    }
  }
  return inner.find(':') != std::string_view::npos;
}

/// A domain the server may host: a JID that is only a domain part.
Expected<std::string, std::string> prepare_domain(const std::string& text,
                                                  const std::string& where) {
  auto jid = Jid::parse(text);
  if (!jid || !jid->local().empty() || !jid->resource().empty()) {
    return fail(where, "'" + text + "' is not a valid domain");
  }
  return jid->domain();
}

/// An optional integer member `key` of `object` within [min, max].
Expected<std::optional<std::int64_t>, std::string> optional_integer(const Value& object,
                                                                    const std::string& where,
                                                                    const char* key,
                                                                    std::int64_t min,
                                                                    std::int64_t max) {
  if (!object.HasMember(key)) {
    return std::optional<std::int64_t>();
  }
  const Value& value = object[key];
  const std::string at = child(where, key);
  if (!value.IsInt64()) {
    return fail(at, "expected an integer");
  }
  const std::int64_t n = value.GetInt64();
  if (n < min || n > max) {
    return fail(at, "must be between " + std::to_string(min) + " and " + std::to_string(max) +
                        ", not " + std::to_string(n));
  }
  return std::optional<std::int64_t>(n);
}

bool valid_realm(const std::string& realm) {
  // It is sent inside a quoted string of the WWW-Authenticate header.
  for (unsigned char c : realm) {
    if (c < 0x20 || c == 0x7f || c == '"' || c == '\\') {
      return false;
    }
  }
  return true;
}

bool valid_base_path(const std::string& path) {
  if (path.empty() || path.front() != '/') {
    return false;
  }
  if (path.size() > 1 && path.back() == '/') {
    return false;
  }
  for (unsigned char c : path) {
    if (c <= 0x20 || c >= 0x7f || c == '?' || c == '#' || c == '%') {
      return false;
    }
  }
  return true;
}

// Each section below parses one top-level key into the config.

Expected<void, std::string> parse_handlers(const Value& value, ApiConfig& api) {
  const std::string where = "handlers";
  auto array = get_array(value, where);
  if (!array) {
    return unexpected(array.error());
  }
  // The names are the route groups' own.
  const auto known = Api::group_names();
  std::string known_list;
  for (auto name : known) {
    known_list += known_list.empty() ? "" : ", ";
    known_list += name;
  }
  api.handlers.emplace();
  std::size_t index = 0;
  for (const auto& item : value.GetArray()) {
    const std::string at = element(where, index++);
    auto name = get_string(item, at);
    if (!name) {
      return unexpected(name.error());
    }
    if (std::find(known.begin(), known.end(), *name) == known.end()) {
      return fail(at, "unknown handler '" + *name + "' (known: " + known_list + ")");
    }
    api.handlers->insert(std::move(*name));
  }
  return {};
}

Expected<void, std::string> parse_cors(const Value& value, ApiConfig& api) {
  const std::string where = "cors";
  if (auto object = get_object(value, where); !object) {
    return unexpected(object.error());
  }
  if (auto keys = check_keys(value, where, {"allowed_origins"}); !keys) {
    return keys;
  }
  if (value.HasMember("allowed_origins")) {
    const std::string at = child(where, "allowed_origins");
    const Value& origins = value["allowed_origins"];
    if (auto array = get_array(origins, at); !array) {
      return unexpected(array.error());
    }
    std::size_t index = 0;
    for (const auto& item : origins.GetArray()) {
      const std::string item_at = element(at, index++);
      auto origin = get_string(item, item_at);
      if (!origin) {
        return unexpected(origin.error());
      }
      if (origin->empty()) {
        return fail(item_at, "an origin must not be empty");
      }
      api.cors_allowed_origins.push_back(std::move(*origin));
    }
  }
  return {};
}

Expected<void, std::string> parse_tls(const Value& value, const std::string& base_dir,
                                      ServerConfig& config) {
  const std::string where = "tls";
  if (auto object = get_object(value, where); !object) {
    return unexpected(object.error());
  }
  if (auto keys = check_keys(value, where, {"certificate", "private_key"}); !keys) {
    return keys;
  }
  TlsFiles files;
  for (const char* key : {"certificate", "private_key"}) {
    const std::string at = child(where, key);
    if (!value.HasMember(key)) {
      return fail(where, std::string("missing '") + key + "'");
    }
    auto path = get_string(value[key], at);
    if (!path) {
      return unexpected(path.error());
    }
    if (path->empty()) {
      return fail(at, "a file name must not be empty");
    }
    (std::string_view(key) == "certificate" ? files.certificate : files.private_key) =
        resolve(base_dir, *path);
  }
  config.tls = std::move(files);
  return {};
}

Expected<void, std::string> parse_muc_light(const Value& value, HostingConfig& backend) {
  const std::string where = "muc_light";
  if (auto object = get_object(value, where); !object) {
    return unexpected(object.error());
  }
  if (auto keys = check_keys(value, where, {"enabled", "host", "all_can_configure"}); !keys) {
    return keys;
  }
  if (value.HasMember("enabled")) {
    auto enabled = get_bool(value["enabled"], child(where, "enabled"));
    if (!enabled) {
      return unexpected(enabled.error());
    }
    backend.muc_light_enabled = *enabled;
  }
  if (value.HasMember("host")) {
    auto host = get_string(value["host"], child(where, "host"));
    if (!host) {
      return unexpected(host.error());
    }
    backend.muc_light_host = std::move(*host);
  }
  if (value.HasMember("all_can_configure")) {
    auto all = get_bool(value["all_can_configure"], child(where, "all_can_configure"));
    if (!all) {
      return unexpected(all.error());
    }
    backend.all_can_configure = *all;
  }
  return {};
}

Expected<void, std::string> parse_archive(const Value& value, HostingConfig& backend) {
  const std::string where = "archive";
  if (auto object = get_object(value, where); !object) {
    return unexpected(object.error());
  }
  if (auto keys = check_keys(value, where, {"max_result_limit"}); !keys) {
    return keys;
  }
  if (value.HasMember("max_result_limit")) {
    const Value& limit = value["max_result_limit"];
    const std::string at = child(where, "max_result_limit");
    if (!limit.IsInt64() && !limit.IsUint64()) {
      return fail(at, "expected a positive integer");
    }
    if (limit.IsInt64() && limit.GetInt64() <= 0) {
      return fail(at, "must be a positive integer, not " + std::to_string(limit.GetInt64()));
    }
    backend.max_result_limit = static_cast<std::size_t>(limit.GetUint64());
  }
  return {};
}

Expected<void, std::string> parse_sse(const Value& value, ApiConfig& api) {
  const std::string where = "sse";
  if (auto object = get_object(value, where); !object) {
    return unexpected(object.error());
  }
  if (auto keys = check_keys(value, where,
                             {"timestamp_unit", "max_streams_per_user", "resume", "max_replay"});
      !keys) {
    return keys;
  }
  if (value.HasMember("timestamp_unit")) {
    const std::string at = child(where, "timestamp_unit");
    auto unit = get_string(value["timestamp_unit"], at);
    if (!unit) {
      return unexpected(unit.error());
    }
    if (*unit == "us") {
      api.sse.timestamp_unit = TimestampUnit::microseconds;
    } else if (*unit == "ms") {
      api.sse.timestamp_unit = TimestampUnit::milliseconds;
    } else {
      return fail(at, "expected \"us\" or \"ms\", not \"" + *unit + "\"");
    }
  }
  if (auto n = optional_integer(value, where, "max_streams_per_user", 1, 1000000); !n) {
    return unexpected(n.error());
  } else if (*n) {
    api.sse.max_streams_per_user = static_cast<std::size_t>(**n);
  }
  if (auto n = optional_integer(value, where, "max_replay", 0, 1000000); !n) {
    return unexpected(n.error());
  } else if (*n) {
    api.sse.max_replay = static_cast<std::size_t>(**n);
  }
  if (value.HasMember("resume")) {
    auto resume = get_bool(value["resume"], child(where, "resume"));
    if (!resume) {
      return unexpected(resume.error());
    }
    api.sse.resume = *resume;
  }
  return {};
}

Expected<void, std::string> parse_limits(const Value& value, ServerConfig& config) {
  const std::string where = "limits";
  if (auto object = get_object(value, where); !object) {
    return unexpected(object.error());
  }
  if (auto keys = check_keys(value, where,
                             {"max_header_bytes", "max_body_bytes", "header_timeout_s",
                              "idle_timeout_s", "max_connections"});
      !keys) {
    return keys;
  }
  struct Limit {
    const char* key;
    std::int64_t min;
    std::int64_t max;
  };
  for (const Limit& limit :
       {Limit{"max_header_bytes", 1024, 1 << 20}, Limit{"max_body_bytes", 1, std::int64_t{1} << 30},
        Limit{"header_timeout_s", 1, 86400}, Limit{"idle_timeout_s", 1, 86400},
        Limit{"max_connections", 1, 1000000}}) {
    auto n = optional_integer(value, where, limit.key, limit.min, limit.max);
    if (!n) {
      return unexpected(n.error());
    }
    if (!*n) {
      continue;
    }
    const std::string_view key = limit.key;
    const auto v = **n;
    if (key == "max_header_bytes") {
      config.limits.max_header_bytes = static_cast<std::size_t>(v);
    } else if (key == "max_body_bytes") {
      config.api.max_body_bytes = static_cast<std::size_t>(v);
    } else if (key == "header_timeout_s") {
      config.limits.header_timeout = std::chrono::seconds(v);
    } else if (key == "idle_timeout_s") {
      config.limits.idle_timeout = std::chrono::seconds(v);
    } else {
      config.limits.max_connections = static_cast<std::size_t>(v);
    }
  }
  return {};
}

Expected<void, std::string> parse_auth(const Value& value, ApiConfig& api) {
  const std::string where = "auth";
  if (auto object = get_object(value, where); !object) {
    return unexpected(object.error());
  }
  if (auto keys = check_keys(value, where, {"max_failures", "window_s"}); !keys) {
    return keys;
  }
  if (auto n = optional_integer(value, where, "max_failures", 0, 1000000); !n) {
    return unexpected(n.error());
  } else if (*n) {
    api.auth.max_failures = static_cast<std::size_t>(**n);
  }
  if (auto n = optional_integer(value, where, "window_s", 1, 86400 * 30); !n) {
    return unexpected(n.error());
  } else if (*n) {
    api.auth.window = std::chrono::seconds(**n);
  }
  return {};
}

Expected<void, std::string> parse_tokens(const Value& value, ApiConfig& api) {
  const std::string where = "tokens";
  if (auto object = get_object(value, where); !object) {
    return unexpected(object.error());
  }
  if (auto keys = check_keys(value, where, {"enabled", "access_ttl_s", "refresh_ttl_s"}); !keys) {
    return keys;
  }
  if (value.HasMember("enabled")) {
    auto enabled = get_bool(value["enabled"], child(where, "enabled"));
    if (!enabled) {
      return unexpected(enabled.error());
    }
    api.tokens.enabled = *enabled;
  }
  constexpr std::int64_t year = 366LL * 86400;
  if (auto n = optional_integer(value, where, "access_ttl_s", 1, year); !n) {
    return unexpected(n.error());
  } else if (*n) {
    api.tokens.access_ttl = std::chrono::seconds(**n);
  }
  if (auto n = optional_integer(value, where, "refresh_ttl_s", 1, 10 * year); !n) {
    return unexpected(n.error());
  } else if (*n) {
    api.tokens.refresh_ttl = std::chrono::seconds(**n);
  }
  return {};
}

/// "host:port" or "[v6]:port": the host and the port (1-65535).
std::optional<std::pair<std::string, std::uint16_t>> host_and_port(std::string_view text) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == text.size()) {
    return std::nullopt;
  }
  std::string host(text.substr(0, colon));
  if (host.front() == '[') {
    if (host.back() != ']' || host.size() < 3) {
      return std::nullopt;
    }
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string::npos) {
    return std::nullopt;  // an IPv6 address needs its brackets
  }
  unsigned port = 0;
  for (char c : text.substr(colon + 1)) {
    if (c < '0' || c > '9' || (port = port * 10 + static_cast<unsigned>(c - '0')) > 65535) {
      return std::nullopt;
    }
  }
  if (port == 0 || host.find_first_of(" /\\@") != std::string::npos) {
    return std::nullopt;
  }
  return std::make_pair(std::move(host), static_cast<std::uint16_t>(port));
}

/// Whether a host names this machine: plain TCP is allowed there only.
bool is_loopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

Expected<void, std::string> parse_xmpp_storage(const Value& value, const std::string& base_dir,
                                               XmppStorage& xmpp) {
  const std::string where = "storage";
  if (auto keys = check_keys(
          value, where,
          {"type", "server", "tls", "ca_file", "muc_service", "idle_timeout_s", "max_sessions"});
      !keys) {
    return keys;
  }
  if (value.HasMember("server")) {
    auto server = get_string(value["server"], child(where, "server"));
    if (!server) {
      return unexpected(server.error());
    }
    auto parsed = host_and_port(*server);
    if (!parsed) {
      return fail(child(where, "server"),
                  "'" + *server + "' is not HOST:PORT (the XMPP server's client port)");
    }
    xmpp.host = std::move(parsed->first);
    xmpp.port = parsed->second;
  }
  if (value.HasMember("tls")) {
    auto tls = get_string(value["tls"], child(where, "tls"));
    if (!tls) {
      return unexpected(tls.error());
    }
    if (*tls != "required" && *tls != "none") {
      return fail(child(where, "tls"), "expected \"required\" or \"none\", not \"" + *tls + "\"");
    }
    xmpp.tls = *tls == "required";
  }
  if (!xmpp.tls && !is_loopback(xmpp.host)) {
    return fail(child(where, "tls"),
                "\"none\" (plain TCP) is allowed only for a server on a "
                "loopback address, not '" +
                    xmpp.host + "'");
  }
  if (value.HasMember("ca_file")) {
    auto ca_file = get_string(value["ca_file"], child(where, "ca_file"));
    if (!ca_file) {
      return unexpected(ca_file.error());
    }
    if (ca_file->empty()) {
      return fail(child(where, "ca_file"), "a file name must not be empty");
    }
    xmpp.ca_file = resolve(base_dir, *ca_file);
  }
  if (value.HasMember("muc_service")) {
    auto service = get_string(value["muc_service"], child(where, "muc_service"));
    if (!service) {
      return unexpected(service.error());
    }
    xmpp.muc_service = std::move(*service);
  }
  if (auto n = optional_integer(value, where, "idle_timeout_s", 1, 86400); !n) {
    return unexpected(n.error());
  } else if (*n) {
    xmpp.idle_timeout = std::chrono::seconds(**n);
  }
  if (auto n = optional_integer(value, where, "max_sessions", 1, 1000000); !n) {
    return unexpected(n.error());
  } else if (*n) {
    xmpp.max_sessions = static_cast<std::size_t>(**n);
  }
  return {};
}

Expected<void, std::string> parse_storage(const Value& value, const std::string& base_dir,
                                          StorageConfig& storage) {
  const std::string where = "storage";
  if (auto object = get_object(value, where); !object) {
    return unexpected(object.error());
  }
  if (!value.HasMember("type")) {
    return fail(where, "missing 'type' (\"sqlite\", \"postgresql\", \"memory\" or \"xmpp\")");
  }
  auto type = get_string(value["type"], child(where, "type"));
  if (!type) {
    return unexpected(type.error());
  }
  if (*type == "sqlite") {
    if (auto keys = check_keys(value, where, {"type", "path", "sync"}); !keys) {
      return keys;
    }
    storage.type = StorageConfig::Type::sqlite;
    if (value.HasMember("path")) {
      auto path = get_string(value["path"], child(where, "path"));
      if (!path) {
        return unexpected(path.error());
      }
      if (path->empty()) {
        return fail(child(where, "path"), "a file name must not be empty");
      }
      storage.path = resolve(base_dir, *path);
    }
    if (value.HasMember("sync")) {
      auto sync = get_string(value["sync"], child(where, "sync"));
      if (!sync) {
        return unexpected(sync.error());
      }
      if (*sync != "normal" && *sync != "full") {
        return fail(child(where, "sync"), "expected \"normal\" or \"full\", not \"" + *sync + "\"");
      }
      storage.sync_full = *sync == "full";
    }
  } else if (*type == "postgresql") {
    if (auto keys = check_keys(value, where, {"type", "url"}); !keys) {
      return keys;
    }
    storage.type = StorageConfig::Type::postgresql;
    if (!value.HasMember("url")) {
      return fail(where, "missing 'url' (postgresql://user@host:5432/db)");
    }
    auto url = get_string(value["url"], child(where, "url"));
    if (!url) {
      return unexpected(url.error());
    }
    if (url->rfind("postgresql://", 0) != 0 && url->rfind("postgres://", 0) != 0) {
      return fail(child(where, "url"), "'" + *url + "' is not a postgresql:// URL");
    }
    storage.url = std::move(*url);
  } else if (*type == "memory") {
    if (auto keys = check_keys(value, where, {"type"}); !keys) {
      return keys;
    }
    storage.type = StorageConfig::Type::memory;
  } else if (*type == "xmpp") {
    storage.type = StorageConfig::Type::xmpp;
    return parse_xmpp_storage(value, base_dir, storage.xmpp);
  } else {
    return fail(child(where, "type"),
                "unknown storage '" + *type + "' (known: sqlite, postgresql, memory, xmpp)");
  }
  return {};
}

/// Users are checked against the final list of domains, so they are parsed last.
Expected<void, std::string> parse_users(const Value& value, ServerConfig& config) {
  const std::string where = "users";
  if (auto array = get_array(value, where); !array) {
    return unexpected(array.error());
  }
  std::set<Jid> seen;
  std::size_t index = 0;
  for (const auto& item : value.GetArray()) {
    const std::string at = element(where, index++);
    if (auto object = get_object(item, at); !object) {
      return unexpected(object.error());
    }
    if (auto keys = check_keys(item, at, {"jid", "password"}); !keys) {
      return keys;
    }
    if (!item.HasMember("jid")) {
      return fail(at, "missing 'jid'");
    }
    if (!item.HasMember("password")) {
      return fail(at, "missing 'password'");
    }
    auto text = get_string(item["jid"], child(at, "jid"));
    if (!text) {
      return unexpected(text.error());
    }
    auto password = get_string(item["password"], child(at, "password"));
    if (!password) {
      return unexpected(password.error());
    }
    auto jid = Jid::parse(*text);
    if (!jid) {
      return fail(child(at, "jid"), "'" + *text + "' is not a valid JID (" +
                                        std::string(to_string(jid.error())) + ")");
    }
    if (jid->local().empty() || !jid->is_bare()) {
      return fail(child(at, "jid"), "'" + *text + "' is not a bare user JID (user@domain)");
    }
    const auto& domains = config.hosting.domains;
    if (std::find(domains.begin(), domains.end(), jid->domain()) == domains.end()) {
      return fail(child(at, "jid"), "'" + *text + "' is not on one of the configured domains");
    }
    // Basic authentication splits "user:password" at the first colon, so a
    // user whose JID has one (on an IPv6 address domain) could never log in.
    if (jid->bare_string().find(':') != std::string::npos) {
      return fail(child(at, "jid"), "'" + *text +
                                        "' could never log in: Basic authentication ends the "
                                        "user name at the first ':'");
    }
    if (!seen.insert(*jid).second) {
      return fail(child(at, "jid"), "duplicate user '" + jid->bare_string() + "'");
    }
    config.users.push_back(UserAccount{*jid, std::move(*password)});
  }
  return {};
}

Expected<void, std::string> parse_domains(const Value& value, HostingConfig& backend) {
  const std::string where = "domains";
  if (auto array = get_array(value, where); !array) {
    return unexpected(array.error());
  }
  backend.domains.clear();
  std::size_t index = 0;
  for (const auto& item : value.GetArray()) {
    const std::string at = element(where, index++);
    auto text = get_string(item, at);
    if (!text) {
      return unexpected(text.error());
    }
    auto domain = prepare_domain(*text, at);
    if (!domain) {
      return unexpected(domain.error());
    }
    if (std::find(backend.domains.begin(), backend.domains.end(), *domain) !=
        backend.domains.end()) {
      return fail(at, "duplicate domain '" + *domain + "'");
    }
    backend.domains.push_back(std::move(*domain));
  }
  return {};
}

}  // namespace

bool valid_listen_url(std::string_view url) {
  std::string_view rest;
  if (url.substr(0, 7) == "http://") {
    rest = url.substr(7);
  } else if (url.substr(0, 8) == "https://") {
    rest = url.substr(8);
  } else {
    return false;
  }
  const auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos && rest.substr(slash) != "/") {
    return false;  // a path, query or fragment
  }
  std::string_view host = authority;
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos || !valid_ipv6_literal(authority.substr(1, close - 1))) {
      return false;
    }
    host = authority.substr(0, close + 1);
    const auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        return false;
      }
      port = after.substr(1);
      if (!all_digits(port)) {
        return false;
      }
    }
  } else {
    const auto colon = authority.find(':');
    if (colon != std::string_view::npos) {
      host = authority.substr(0, colon);
      port = authority.substr(colon + 1);
      if (!all_digits(port)) {
        return false;
      }
    }
    if (!valid_host_name(host)) {
      return false;
    }
  }
  if (!port.empty()) {
    if (port.size() > 5) {
      return false;
    }
    const int number = std::stoi(std::string(port));
    if (number < 1 || number > 65535) {
      return false;
    }
  }
  return true;
}

Expected<ServerConfig, std::string> parse_server_config(std::string_view json,
                                                        const std::string& base_dir) {
  rapidjson::Document document;
  // Iterative parsing: deep nesting cannot exhaust the stack.
  document.Parse<rapidjson::kParseIterativeFlag>(json.data(), json.size());
  if (document.HasParseError()) {
    return unexpected(
        "not valid JSON: " + std::string(rapidjson::GetParseError_En(document.GetParseError())) +
        " (at byte " + std::to_string(document.GetErrorOffset()) + ")");
  }
  if (!document.IsObject()) {
    return unexpected(std::string("the configuration must be a JSON object"));
  }
  if (auto keys = check_keys(document, "",
                             {"listen", "base_path", "handlers", "docs", "realm", "server_name",
                              "cors", "tls", "domains", "muc_light", "archive", "sse", "users",
                              "transport", "limits", "auth", "tokens", "storage", "demo"});
      !keys) {
    return unexpected(keys.error());
  }

  ServerConfig config;
  config.api.now_us = system_now_us;
  config.hosting.now_us = system_now_us;
  config.storage.path = resolve(base_dir, "mimrest.db");

  if (document.HasMember("listen")) {
    auto listen = get_string(document["listen"], "listen");
    if (!listen) {
      return unexpected(listen.error());
    }
    if (!valid_listen_url(*listen)) {
      return fail("listen",
                  "'" + *listen + "' is not a listen URL (http://HOST:PORT or https://HOST:PORT)");
    }
    config.listen = std::move(*listen);
  }
  if (document.HasMember("transport")) {
    auto transport = get_string(document["transport"], "transport");
    if (!transport) {
      return unexpected(transport.error());
    }
    if (*transport == "beast") {
      config.transport = Transport::beast;
    } else if (*transport == "cpprest") {
      config.transport = Transport::cpprest;
    } else {
      return fail("transport", "unknown transport '" + *transport + "' (known: beast, cpprest)");
    }
  }
  if (document.HasMember("base_path")) {
    auto path = get_string(document["base_path"], "base_path");
    if (!path) {
      return unexpected(path.error());
    }
    if (!valid_base_path(*path)) {
      return fail("base_path",
                  "'" + *path + "' must start with '/', not end with '/' and be plain ASCII");
    }
    config.api.base_path = std::move(*path);
  }
  if (document.HasMember("handlers")) {
    if (auto result = parse_handlers(document["handlers"], config.api); !result) {
      return unexpected(result.error());
    }
  }
  for (const char* key : {"docs", "demo"}) {
    if (document.HasMember(key)) {
      auto flag = get_bool(document[key], key);
      if (!flag) {
        return unexpected(flag.error());
      }
      (std::string_view(key) == "docs" ? config.api.docs : config.demo) = *flag;
    }
  }
  for (const char* key : {"realm", "server_name"}) {
    if (document.HasMember(key)) {
      auto text = get_string(document[key], key);
      if (!text) {
        return unexpected(text.error());
      }
      // Both go into header values (the realm inside a quoted string).
      if (!valid_realm(*text) || (std::string_view(key) == "server_name" && text->empty())) {
        return fail(key, "must be non-empty, without quotes, backslashes or control characters");
      }
      (std::string_view(key) == "realm" ? config.api.realm : config.api.server_name) =
          std::move(*text);
    }
  }
  if (document.HasMember("cors")) {
    if (auto result = parse_cors(document["cors"], config.api); !result) {
      return unexpected(result.error());
    }
  }
  if (document.HasMember("tls")) {
    if (auto result = parse_tls(document["tls"], base_dir, config); !result) {
      return unexpected(result.error());
    }
  }
  if (config.listen.rfind("https://", 0) == 0 && !config.tls) {
    return fail("listen", "an https:// URL needs \"tls\": {\"certificate\", \"private_key\"}");
  }
  if (document.HasMember("domains")) {
    if (auto result = parse_domains(document["domains"], config.hosting); !result) {
      return unexpected(result.error());
    }
  }
  if (document.HasMember("muc_light")) {
    if (auto result = parse_muc_light(document["muc_light"], config.hosting); !result) {
      return unexpected(result.error());
    }
  }
  if (config.hosting.muc_light_enabled) {
    // The service name must make a valid domain for every user domain.
    std::vector<std::string> probes = config.hosting.domains;
    if (probes.empty()) {
      probes.push_back("localhost");
    }
    std::set<std::string> services;
    for (const auto& domain : probes) {
      const auto service = muc_light_service(config.hosting.muc_light_host, domain);
      if (!service) {
        return fail("muc_light.host", "'" + config.hosting.muc_light_host +
                                          "' does not give a valid domain for '" + domain + "'");
      }
      if (!services.insert(*service).second) {
        return fail("muc_light.host", "'" + config.hosting.muc_light_host +
                                          "' gives the same service for several domains; "
                                          "use @HOST@");
      }
    }
  }
  if (document.HasMember("archive")) {
    if (auto result = parse_archive(document["archive"], config.hosting); !result) {
      return unexpected(result.error());
    }
  }
  if (document.HasMember("sse")) {
    if (auto result = parse_sse(document["sse"], config.api); !result) {
      return unexpected(result.error());
    }
  }
  if (document.HasMember("limits")) {
    if (auto result = parse_limits(document["limits"], config); !result) {
      return unexpected(result.error());
    }
  }
  if (document.HasMember("auth")) {
    if (auto result = parse_auth(document["auth"], config.api); !result) {
      return unexpected(result.error());
    }
  }
  if (document.HasMember("tokens")) {
    if (auto result = parse_tokens(document["tokens"], config.api); !result) {
      return unexpected(result.error());
    }
  }
  if (document.HasMember("storage")) {
    if (auto result = parse_storage(document["storage"], base_dir, config.storage); !result) {
      return unexpected(result.error());
    }
  }
  if (document.HasMember("users")) {
    if (auto result = parse_users(document["users"], config); !result) {
      return unexpected(result.error());
    }
  }
  if (config.storage.type == StorageConfig::Type::xmpp) {
    // The XMPP server keeps the accounts and the archives.
    if (!config.users.empty()) {
      return fail("users",
                  "with \"xmpp\" storage the accounts are the XMPP server's: "
                  "remove 'users' and register them there");
    }
    if (config.api.sse.resume) {
      return fail("sse.resume",
                  "resumable event streams need a stored event log, which "
                  "\"xmpp\" storage does not have");
    }
    for (const auto& domain : config.hosting.domains) {
      if (!muc_light_service(config.storage.xmpp.muc_service, domain)) {
        return fail("storage.muc_service", "'" + config.storage.xmpp.muc_service +
                                               "' is not a domain for '" + domain + "'");
      }
    }
    // A gateway that cannot reach its server says so by name.
    config.api.unavailable_message = "XMPP server unavailable";
  }
  if (auto checked = Api::check(config.api); !checked) {
    return unexpected(checked.error());
  }
  return config;
}

Expected<ServerConfig, std::string> load_server_config(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return unexpected("cannot read the configuration file '" + path + "'");
  }
  std::string text;
  char chunk[4096];
  while (in.read(chunk, sizeof chunk) || in.gcount() > 0) {
    text.append(chunk, static_cast<std::size_t>(in.gcount()));
    if (static_cast<std::streamoff>(text.size()) > max_config_bytes) {
      return unexpected("the configuration file '" + path + "' is too large");
    }
  }
  if (in.bad()) {
    return unexpected("cannot read the configuration file '" + path + "'");
  }
  const auto slash = path.rfind('/');
  const std::string base_dir = slash == std::string::npos ? "" : path.substr(0, slash);

  auto config = parse_server_config(text, base_dir.empty() && slash == 0 ? "/" : base_dir);
  if (!config) {
    return unexpected("'" + path + "': " + config.error());
  }
  if (config->tls) {
    if (auto tls = load_tls_material(*config->tls); !tls) {
      return unexpected("'" + path + "': tls: " + tls.error());
    }
  }
  return config;
}

std::string server_usage() {
  return "usage: mimrest-server --config FILE\n"
         "       mimrest-server --config FILE user add JID      (password: first line of stdin)\n"
         "       mimrest-server --config FILE user passwd JID   (password: first line of stdin)\n"
         "       mimrest-server --config FILE user delete JID\n"
         "       mimrest-server --config FILE user list\n"
         "       mimrest-server --help\n"
         "\n"
         "Serves the MongooseIM client REST API. FILE is a JSON configuration (see\n"
         "examples/server/README.md); every key is optional. Prints 'listening on <url>'\n"
         "once it accepts connections and stops cleanly on SIGINT or SIGTERM. The user\n"
         "commands work on the configured storage.\n";
}

}  // namespace mimrest::server
