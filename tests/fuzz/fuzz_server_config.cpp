// libFuzzer target: the reference server's JSON configuration
// (mimrest::server::parse_server_config, examples/server/server_config.hpp).
//
// Input: the configuration text.
//
// Properties:
// * it never crashes or throws; every error is a non-empty text;
// * the folder of the file only changes relative file names: parsed with
//   base_dir "" and "/srv/mimrest", the outcome and the error text are the
//   same, and each TLS file and the SQLite file is the same or
//   "/srv/mimrest/" + it;
// * an accepted configuration is consistent: a valid listen URL (https://
//   only with TLS), a base path starting with '/' without a trailing '/'
//   (except "/") in plain ASCII, a realm that fits in a quoted string,
//   prepared and distinct domains, distinct bare users with a localpart on
//   those domains and no colon (which Basic authentication cannot carry in a
//   user name), a positive archive limit, an ApiConfig that Api::check
//   accepts;
// * it works: an in-memory backend made from it accepts every configured
//   user, and an Api made from it answers OPTIONS {base}/rooms and an
//   authenticated GET {base}/contacts as its handler list says (200, or 404
//   for a switched-off handler) for the first user with a non-empty password,
//   each response with the properties of every response (api_support.hpp).
#include <mimrest/api.hpp>
#include <mimrest/http.hpp>
#include <mimrest/jid.hpp>
#include <mimrest/memory/memory_backend.hpp>

#include <server_config.hpp>

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "api_support.hpp"
#include "fuzz_support.hpp"

namespace {

using mimrest::fuzz::printable;

constexpr std::string_view kBaseDir = "/srv/mimrest";

void check_consistent(const mimrest::server::ServerConfig& config, const std::string& context) {
  const std::string& url = config.listen;
  MIMREST_FUZZ_CHECK(mimrest::server::valid_listen_url(url), context);
  MIMREST_FUZZ_CHECK(url.rfind("https://", 0) != 0 || config.tls.has_value(), context);
  if (config.tls) {
    MIMREST_FUZZ_CHECK(!config.tls->certificate.empty() && !config.tls->private_key.empty(),
                       context);
  }
  const auto checked = mimrest::Api::check(config.api);
  MIMREST_FUZZ_CHECK(checked.has_value(), "Api::check: " + checked.error() + " for " + context);

  const std::string& base = config.api.base_path;
  MIMREST_FUZZ_CHECK(!base.empty() && base.front() == '/', context);
  MIMREST_FUZZ_CHECK(base.size() == 1 || base.back() != '/', context);
  for (const char c : base) {
    const auto u = static_cast<unsigned char>(c);
    MIMREST_FUZZ_CHECK(u > 0x20 && u < 0x7F && c != '?' && c != '#' && c != '%', context);
  }
  for (const char c : config.api.realm) {
    const auto u = static_cast<unsigned char>(c);
    MIMREST_FUZZ_CHECK(u >= 0x20 && u != 0x7F && c != '"' && c != '\\', context);
  }
  for (const auto& origin : config.api.cors_allowed_origins) {
    MIMREST_FUZZ_CHECK(!origin.empty(), context);
  }

  std::set<std::string> domains;
  for (const auto& domain : config.hosting.domains) {
    const auto parsed = mimrest::Jid::parse(domain);
    MIMREST_FUZZ_CHECK(
        parsed && parsed->local().empty() && parsed->is_bare() && parsed->domain() == domain,
        "domain " + printable(domain) + ": " + context);
    MIMREST_FUZZ_CHECK(domains.insert(domain).second, context);
  }
  std::set<mimrest::Jid> users;
  for (const auto& account : config.users) {
    MIMREST_FUZZ_CHECK(account.jid.is_bare() && !account.jid.local().empty(), context);
    // Basic authentication ends the user name at the first colon.
    MIMREST_FUZZ_CHECK(account.jid.bare_string().find(':') == std::string::npos, context);
    MIMREST_FUZZ_CHECK(domains.count(account.jid.domain()) == 1, context);
    MIMREST_FUZZ_CHECK(users.insert(account.jid).second, context);
  }
  MIMREST_FUZZ_CHECK(config.hosting.max_result_limit > 0, context);
}

void check_relative_to(const mimrest::server::ServerConfig& plain,
                       const mimrest::server::ServerConfig& based, const std::string& context) {
  auto same_file = [&](const std::string& as_given, const std::string& resolved) {
    return !as_given.empty() && as_given.front() == '/'
               ? resolved == as_given
               : resolved == std::string(kBaseDir) + "/" + as_given;
  };
  MIMREST_FUZZ_CHECK(plain.storage.type == based.storage.type &&
                         plain.storage.url == based.storage.url &&
                         same_file(plain.storage.path, based.storage.path),
                     context);
  MIMREST_FUZZ_CHECK(plain.tls.has_value() == based.tls.has_value(), context);
  if (!plain.tls) {
    return;
  }
  MIMREST_FUZZ_CHECK(same_file(plain.tls->certificate, based.tls->certificate) &&
                         same_file(plain.tls->private_key, based.tls->private_key),
                     context);
}

void check_works(const mimrest::server::ServerConfig& config, const std::string& context) {
  mimrest::memory::MemoryBackendConfig backend_config = config.hosting;
  backend_config.password_iterations = 1;
  mimrest::memory::MemoryBackend memory(backend_config);
  const mimrest::server::UserAccount* login = nullptr;
  for (const auto& account : config.users) {
    const auto added = memory.add_user(account.jid, account.password);
    MIMREST_FUZZ_CHECK(added.has_value(), "user " + account.jid.to_string() + ": " + context);
    if (login == nullptr && !account.password.empty()) {
      login = &account;
    }
  }
  const mimrest::Api api(config.api, memory.backend());
  std::string base = config.api.base_path;
  if (base == "/") {
    base.clear();
  }
  auto expected = [&](const char* group, int status) {
    return !config.api.handlers || config.api.handlers->count(group) != 0 ? status : 404;
  };
  const mimrest::fuzz::ResponseContext where{api.config()};

  const mimrest::Request options = mimrest::fuzz::make_request("OPTIONS", "/rooms", {}, {}, base);
  const mimrest::Response allowed = mimrest::fuzz::handle(api, options);
  MIMREST_FUZZ_CHECK(allowed.status == expected("rooms", 200),
                     mimrest::fuzz::describe(options, allowed) + " with " + context);
  mimrest::fuzz::check_response(where, options, allowed);

  if (login == nullptr) {
    return;
  }
  mimrest::Request get = mimrest::fuzz::make_request("GET", "/contacts", {}, {}, base);
  get.headers.add("Authorization",
                  mimrest::fuzz::basic_auth(login->jid.bare_string(), login->password));
  const mimrest::Response contacts = mimrest::fuzz::handle(api, get);
  MIMREST_FUZZ_CHECK(contacts.status == expected("contacts", 200),
                     mimrest::fuzz::describe(get, contacts) + " with " + context);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view json(reinterpret_cast<const char*>(data), size);
  const auto plain = mimrest::server::parse_server_config(json, "");
  const auto based = mimrest::server::parse_server_config(json, std::string(kBaseDir));
  const std::string context = printable(json, 1000);
  MIMREST_FUZZ_CHECK(plain.has_value() == based.has_value(), context);
  if (!plain) {
    MIMREST_FUZZ_CHECK(!plain.error().empty(), context);
    MIMREST_FUZZ_CHECK(plain.error() == based.error(), plain.error() + " vs " + based.error());
    return 0;
  }
  check_consistent(*plain, context);
  check_relative_to(*plain, *based, context);
  check_works(*plain, context);
  return 0;
}
