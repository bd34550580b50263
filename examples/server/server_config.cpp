#include "server_config.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <set>
#include <sstream>

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

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

std::string substitute_host(std::string pattern, const std::string& domain) {
  static constexpr std::string_view placeholder = "@HOST@";
  for (auto at = pattern.find(placeholder); at != std::string::npos;
       at = pattern.find(placeholder, at + domain.size())) {
    pattern.replace(at, placeholder.size(), domain);
  }
  return pattern;
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
  api.handlers.clear();
  std::size_t index = 0;
  for (const auto& item : value.GetArray()) {
    const std::string at = element(where, index++);
    auto name = get_string(item, at);
    if (!name) {
      return unexpected(name.error());
    }
    auto handler = handler_from_string(*name);
    if (!handler) {
      return fail(at, "unknown handler '" + *name +
                          "' (known: sse, messages, contacts, rooms, rooms_config, rooms_users, "
                          "rooms_messages)");
    }
    api.handlers.insert(*handler);
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
                                      cpprest::ListenerOptions& listener) {
  const std::string where = "tls";
  if (auto object = get_object(value, where); !object) {
    return unexpected(object.error());
  }
  if (auto keys = check_keys(value, where, {"certificate", "private_key"}); !keys) {
    return keys;
  }
  cpprest::TlsFiles files;
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
  listener.tls = std::move(files);
  return {};
}

Expected<void, std::string> parse_muc_light(const Value& value,
                                            memory::MemoryBackendConfig& backend) {
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

Expected<void, std::string> parse_archive(const Value& value,
                                          memory::MemoryBackendConfig& backend) {
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
  if (auto keys = check_keys(value, where, {"timestamp_unit"}); !keys) {
    return keys;
  }
  if (value.HasMember("timestamp_unit")) {
    const std::string at = child(where, "timestamp_unit");
    auto unit = get_string(value["timestamp_unit"], at);
    if (!unit) {
      return unexpected(unit.error());
    }
    if (*unit == "us") {
      api.sse_timestamp_unit = TimestampUnit::microseconds;
    } else if (*unit == "ms") {
      api.sse_timestamp_unit = TimestampUnit::milliseconds;
    } else {
      return fail(at, "expected \"us\" or \"ms\", not \"" + *unit + "\"");
    }
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
    const auto& domains = config.backend.domains;
    if (std::find(domains.begin(), domains.end(), jid->domain()) == domains.end()) {
      return fail(child(at, "jid"), "'" + *text + "' is not on one of the configured domains");
    }
    if (!seen.insert(*jid).second) {
      return fail(child(at, "jid"), "duplicate user '" + jid->bare_string() + "'");
    }
    config.users.push_back(UserAccount{*jid, std::move(*password)});
  }
  return {};
}

Expected<void, std::string> parse_domains(const Value& value,
                                          memory::MemoryBackendConfig& backend) {
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

std::int64_t system_now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
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
                             {"listen", "base_path", "handlers", "docs", "realm", "cors", "tls",
                              "domains", "muc_light", "archive", "sse", "users"});
      !keys) {
    return unexpected(keys.error());
  }

  ServerConfig config;
  config.api.now_us = system_now_us;
  config.backend.now_us = system_now_us;

  if (document.HasMember("listen")) {
    auto listen = get_string(document["listen"], "listen");
    if (!listen) {
      return unexpected(listen.error());
    }
    if (!valid_listen_url(*listen)) {
      return fail("listen",
                  "'" + *listen + "' is not a listen URL (http://HOST:PORT or https://HOST:PORT)");
    }
    config.listener.url = std::move(*listen);
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
  if (document.HasMember("docs")) {
    auto docs = get_bool(document["docs"], "docs");
    if (!docs) {
      return unexpected(docs.error());
    }
    config.api.docs = *docs;
  }
  if (document.HasMember("realm")) {
    auto realm = get_string(document["realm"], "realm");
    if (!realm) {
      return unexpected(realm.error());
    }
    if (!valid_realm(*realm)) {
      return fail("realm", "must not contain quotes, backslashes or control characters");
    }
    config.api.realm = std::move(*realm);
  }
  if (document.HasMember("cors")) {
    if (auto result = parse_cors(document["cors"], config.api); !result) {
      return unexpected(result.error());
    }
  }
  if (document.HasMember("tls")) {
    if (auto result = parse_tls(document["tls"], base_dir, config.listener); !result) {
      return unexpected(result.error());
    }
  }
  if (config.listener.url.rfind("https://", 0) == 0 && !config.listener.tls) {
    return fail("listen", "an https:// URL needs \"tls\": {\"certificate\", \"private_key\"}");
  }
  if (document.HasMember("domains")) {
    if (auto result = parse_domains(document["domains"], config.backend); !result) {
      return unexpected(result.error());
    }
  }
  if (document.HasMember("muc_light")) {
    if (auto result = parse_muc_light(document["muc_light"], config.backend); !result) {
      return unexpected(result.error());
    }
  }
  if (config.backend.muc_light_enabled) {
    // The service name must make a valid domain for every user domain.
    std::vector<std::string> probes = config.backend.domains;
    if (probes.empty()) {
      probes.push_back("localhost");
    }
    std::set<std::string> services;
    for (const auto& domain : probes) {
      const std::string service = substitute_host(config.backend.muc_light_host, domain);
      if (!prepare_domain(service, "")) {
        return fail("muc_light.host", "'" + config.backend.muc_light_host +
                                          "' does not give a valid domain for '" + domain + "'");
      }
      if (!services.insert(service).second) {
        return fail("muc_light.host", "'" + config.backend.muc_light_host +
                                          "' gives the same service for several domains; "
                                          "use @HOST@");
      }
    }
  }
  if (document.HasMember("archive")) {
    if (auto result = parse_archive(document["archive"], config.backend); !result) {
      return unexpected(result.error());
    }
  }
  if (document.HasMember("sse")) {
    if (auto result = parse_sse(document["sse"], config.api); !result) {
      return unexpected(result.error());
    }
  }
  if (document.HasMember("users")) {
    if (auto result = parse_users(document["users"], config); !result) {
      return unexpected(result.error());
    }
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
  if (config->listener.tls) {
    if (auto tls = cpprest::check_tls_files(*config->listener.tls); !tls) {
      return unexpected("'" + path + "': tls: " + tls.error());
    }
  }
  return config;
}

std::string server_usage() {
  return "usage: mimrest-server --config FILE\n"
         "       mimrest-server --help\n"
         "\n"
         "Serves the MongooseIM client REST API from an in-memory backend.\n"
         "FILE is a JSON configuration (see examples/server/README.md); every key\n"
         "is optional. Prints 'listening on <url>' once it accepts connections and\n"
         "stops cleanly on SIGINT or SIGTERM.\n";
}

}  // namespace mimrest::server
