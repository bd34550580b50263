// The configuration parser of mimrest-server.
#include <catch2/catch.hpp>

#include <string>

#include "e2e_support.hpp"
#include "server_config.hpp"

using mimrest::server::parse_server_config;

namespace {

std::string error_of(const std::string& json) {
  auto config = parse_server_config(json);
  return config ? std::string() : config.error();
}

}  // namespace

TEST_CASE("an empty object gives the documented defaults") {
  auto config = parse_server_config("{}");
  REQUIRE(config);
  CHECK(config->listener.url == "http://127.0.0.1:8089");
  CHECK_FALSE(config->listener.tls);
  CHECK(config->api.base_path == "/api");
  CHECK(config->api.handlers == mimrest::all_handlers());
  CHECK(config->api.docs);
  CHECK(config->api.realm == "mongooseim");
  CHECK(config->api.cors_allowed_origins.empty());
  CHECK(config->api.sse_timestamp_unit == mimrest::TimestampUnit::microseconds);
  CHECK(config->backend.domains == std::vector<std::string>{"localhost"});
  CHECK(config->backend.muc_light_enabled);
  CHECK(config->backend.muc_light_host == "muclight.@HOST@");
  CHECK_FALSE(config->backend.all_can_configure);
  CHECK(config->backend.max_result_limit == 50);
  CHECK(config->users.empty());
  CHECK(config->api.now_us);
}

TEST_CASE("every key is read") {
  auto config = parse_server_config(R"({
    "listen": "https://0.0.0.0:9443",
    "base_path": "/client",
    "handlers": ["sse", "messages"],
    "docs": false,
    "realm": "example",
    "cors": {"allowed_origins": ["https://app.example", "*"]},
    "tls": {"certificate": "cert.pem", "private_key": "/etc/key.pem"},
    "domains": ["Example.COM", "localhost"],
    "muc_light": {"enabled": false, "host": "groups.@HOST@", "all_can_configure": true},
    "archive": {"max_result_limit": 200},
    "sse": {"timestamp_unit": "ms"},
    "users": [{"jid": "Alice@example.com", "password": "pa:ss"}]
  })",
                                    "/srv/conf");
  REQUIRE(config);
  CHECK(config->listener.url == "https://0.0.0.0:9443");
  REQUIRE(config->listener.tls);
  CHECK(config->listener.tls->certificate == "/srv/conf/cert.pem");
  CHECK(config->listener.tls->private_key == "/etc/key.pem");
  CHECK(config->api.base_path == "/client");
  CHECK(config->api.handlers ==
        std::set<mimrest::Handler>{mimrest::Handler::sse, mimrest::Handler::messages});
  CHECK_FALSE(config->api.docs);
  CHECK(config->api.realm == "example");
  CHECK(config->api.cors_allowed_origins == std::vector<std::string>{"https://app.example", "*"});
  CHECK(config->backend.domains == std::vector<std::string>{"example.com", "localhost"});
  CHECK_FALSE(config->backend.muc_light_enabled);
  CHECK(config->backend.muc_light_host == "groups.@HOST@");
  CHECK(config->backend.all_can_configure);
  CHECK(config->backend.max_result_limit == 200);
  CHECK(config->api.sse_timestamp_unit == mimrest::TimestampUnit::milliseconds);
  REQUIRE(config->users.size() == 1);
  CHECK(config->users[0].jid.bare_string() == "alice@example.com");
  CHECK(config->users[0].password == "pa:ss");
}

TEST_CASE("bad configurations are rejected with a message that says where") {
  CHECK(error_of("").find("JSON") != std::string::npos);
  CHECK(error_of("{").find("JSON") != std::string::npos);
  CHECK(error_of("{} {}").find("JSON") != std::string::npos);
  CHECK_FALSE(error_of("[]").empty());
  CHECK(error_of(R"({"listen": "http://127.0.0.1:1", "listen": "http://127.0.0.1:2"})")
            .find("duplicate") != std::string::npos);

  // Unknown keys at every level.
  CHECK(error_of(R"({"colour": 1})").find("colour") != std::string::npos);
  CHECK(error_of(R"({"cors": {"origins": []}})").find("cors") != std::string::npos);
  CHECK(error_of(R"({"tls": {"certificate": "a", "private_key": "b", "ca": "c"}})").find("tls") !=
        std::string::npos);
  CHECK(error_of(R"({"muc_light": {"enable": true}})").find("muc_light") != std::string::npos);
  CHECK(error_of(R"({"archive": {"limit": 5}})").find("archive") != std::string::npos);
  CHECK(error_of(R"({"sse": {"unit": "ms"}})").find("sse") != std::string::npos);
  CHECK(error_of(R"({"users": [{"jid": "a@localhost", "password": "p", "admin": true}]})")
            .find("users[0]") != std::string::npos);

  // Wrong types.
  CHECK(error_of(R"({"listen": 8089})").find("listen") != std::string::npos);
  CHECK(error_of(R"({"docs": "yes"})").find("docs") != std::string::npos);
  CHECK(error_of(R"({"handlers": "sse"})").find("handlers") != std::string::npos);
  CHECK(error_of(R"({"handlers": [1]})").find("handlers[0]") != std::string::npos);
  CHECK(error_of(R"({"cors": []})").find("cors") != std::string::npos);
  CHECK(error_of(R"({"cors": {"allowed_origins": ["a", 2]}})").find("cors.allowed_origins[1]") !=
        std::string::npos);
  CHECK(error_of(R"({"domains": "localhost"})").find("domains") != std::string::npos);
  CHECK(error_of(R"({"muc_light": {"enabled": 1}})").find("muc_light.enabled") !=
        std::string::npos);
  CHECK(error_of(R"({"archive": {"max_result_limit": "50"}})").find("max_result_limit") !=
        std::string::npos);
  CHECK(error_of(R"({"archive": {"max_result_limit": 2.5}})").find("max_result_limit") !=
        std::string::npos);
  CHECK(error_of(R"({"users": {}})").find("users") != std::string::npos);
  CHECK(error_of(R"({"users": [{"jid": "a@localhost"}]})").find("password") != std::string::npos);

  // Bad values.
  CHECK(error_of(R"({"handlers": ["sse", "presence"]})").find("presence") != std::string::npos);
  for (const char* url :
       {"ftp://127.0.0.1:1", "127.0.0.1:8089", "http://", "http://:80", "http://127.0.0.1:0",
        "http://127.0.0.1:65536", "http://127.0.0.1:x", "http://127.0.0.1:8089/api",
        "http://user@127.0.0.1:1", "http://127.0.0.1:1?x=1", "http://[::1:1"}) {
    INFO(url);
    CHECK(error_of(std::string(R"({"listen": ")") + url + "\"}").find("listen") !=
          std::string::npos);
  }
  CHECK(error_of(R"({"listen": "https://127.0.0.1:8443"})").find("tls") != std::string::npos);
  CHECK(error_of(R"({"tls": {"certificate": "c.pem"}})").find("private_key") != std::string::npos);
  CHECK(error_of(R"({"base_path": "api"})").find("base_path") != std::string::npos);
  CHECK(error_of(R"({"realm": "a\"b"})").find("realm") != std::string::npos);
  CHECK(error_of(R"({"domains": ["bad domain"]})").find("domains[0]") != std::string::npos);
  CHECK(error_of(R"({"domains": ["a.example", "A.example"]})").find("duplicate") !=
        std::string::npos);
  CHECK(error_of(R"({"domains": ["a.example", "b.example"], "muc_light": {"host": "muc"}})")
            .find("muc_light.host") != std::string::npos);
  CHECK(error_of(R"({"sse": {"timestamp_unit": "ns"}})").find("timestamp_unit") !=
        std::string::npos);
  CHECK(error_of(R"({"archive": {"max_result_limit": 0}})").find("max_result_limit") !=
        std::string::npos);
  CHECK(error_of(R"({"archive": {"max_result_limit": -3}})").find("max_result_limit") !=
        std::string::npos);

  // Users.
  CHECK(error_of(R"({"users": [{"jid": "alice@@localhost", "password": "p"}]})")
            .find("users[0].jid") != std::string::npos);
  CHECK(error_of(R"({"users": [{"jid": "localhost", "password": "p"}]})").find("users[0].jid") !=
        std::string::npos);
  CHECK(error_of(R"({"users": [{"jid": "alice@localhost/phone", "password": "p"}]})")
            .find("users[0].jid") != std::string::npos);
  CHECK(error_of(R"({"users": [{"jid": "alice@elsewhere", "password": "p"}]})").find("domains") !=
        std::string::npos);
  CHECK(error_of(R"({"users": [{"jid": "alice@localhost", "password": "p"},
                                {"jid": "ALICE@localhost", "password": "q"}]})")
            .find("duplicate") != std::string::npos);
}

TEST_CASE("load_server_config reads the file and checks TLS files") {
  e2e::TempDir dir;
  CHECK(
      mimrest::server::load_server_config(dir.file("missing.json")).error().find("missing.json") !=
      std::string::npos);

  const auto good =
      dir.write("good.json", R"({"users": [{"jid": "a@localhost", "password": "p"}]})");
  auto config = mimrest::server::load_server_config(good);
  REQUIRE(config);
  CHECK(config->users.size() == 1);

  const auto tls = dir.write(
      "tls.json",
      R"({"listen": "https://127.0.0.1:8443", "tls": {"certificate": "c.pem", "private_key": "k.pem"}})");
  auto loaded = mimrest::server::load_server_config(tls);
  REQUIRE_FALSE(loaded);
  CHECK(loaded.error().find("c.pem") != std::string::npos);
}

TEST_CASE("listen URLs") {
  using mimrest::server::valid_listen_url;
  CHECK(valid_listen_url("http://127.0.0.1:8089"));
  CHECK(valid_listen_url("http://localhost"));
  CHECK(valid_listen_url("https://example.com:443/"));
  CHECK(valid_listen_url("http://[::1]:8089"));
  CHECK_FALSE(valid_listen_url("http://[::1]x"));
  CHECK_FALSE(valid_listen_url("http://exa mple.com"));
}
