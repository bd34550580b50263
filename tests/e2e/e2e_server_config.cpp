// The configuration parser of mimrest-server.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

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
  CHECK(config->listen == "http://127.0.0.1:8089");
  CHECK_FALSE(config->tls);
  CHECK(config->api.base_path == "/api");
  CHECK_FALSE(config->api.handlers);  // every group
  CHECK(config->api.docs);
  CHECK(config->api.realm == "mongooseim");
  CHECK(config->api.cors_allowed_origins.empty());
  CHECK(config->api.sse.timestamp_unit == mimrest::TimestampUnit::microseconds);
  CHECK(config->hosting.domains == std::vector<std::string>{"localhost"});
  CHECK(config->hosting.muc_light_enabled);
  CHECK(config->hosting.muc_light_host == "muclight.@HOST@");
  CHECK_FALSE(config->hosting.all_can_configure);
  CHECK(config->hosting.max_result_limit == 50);
  CHECK(config->users.empty());
  CHECK(config->api.now_us);
  // Beyond MongooseIM: the documented defaults.
  CHECK(config->transport == mimrest::server::Transport::beast);
  CHECK(config->api.server_name == "mimrest");
  CHECK(config->limits.max_header_bytes == 16384);
  CHECK(config->api.max_body_bytes == 1048576);
  CHECK(config->limits.header_timeout == std::chrono::seconds(10));
  CHECK(config->limits.idle_timeout == std::chrono::seconds(60));
  CHECK(config->limits.max_connections == 10000);
  CHECK(config->api.sse.max_streams_per_user == 10);
  CHECK_FALSE(config->api.sse.resume);
  CHECK(config->api.sse.max_replay == 1000);
  CHECK(config->api.auth.max_failures == 10);
  CHECK(config->api.auth.window == std::chrono::seconds(60));
  CHECK_FALSE(config->api.tokens.enabled);
  CHECK(config->api.tokens.access_ttl == std::chrono::seconds(900));
  CHECK(config->api.tokens.refresh_ttl == std::chrono::seconds(1209600));
  CHECK(config->storage.type == mimrest::server::StorageConfig::Type::sqlite);
  CHECK(config->storage.path == "mimrest.db");
  CHECK_FALSE(config->storage.sync_full);
  CHECK_FALSE(config->demo);
}

TEST_CASE("the SQLite file lives beside the configuration by default") {
  auto config = parse_server_config("{}", "/srv/conf");
  REQUIRE(config);
  CHECK(config->storage.path == "/srv/conf/mimrest.db");
  auto relative =
      parse_server_config(R"({"storage": {"type": "sqlite", "path": "data/x.db"}})", "/srv/conf");
  REQUIRE(relative);
  CHECK(relative->storage.path == "/srv/conf/data/x.db");
  auto absolute = parse_server_config(
      R"({"storage": {"type": "sqlite", "path": "/var/lib/m.db", "sync": "full"}})", "/srv/conf");
  REQUIRE(absolute);
  CHECK(absolute->storage.path == "/var/lib/m.db");
  CHECK(absolute->storage.sync_full);
}

TEST_CASE("the keys beyond MongooseIM are read") {
  auto config = parse_server_config(R"({
    "transport": "cpprest",
    "server_name": "chat",
    "limits": {"max_header_bytes": 8192, "max_body_bytes": 4096, "header_timeout_s": 3,
               "idle_timeout_s": 30, "max_connections": 100},
    "sse": {"max_streams_per_user": 2, "resume": true, "max_replay": 50},
    "auth": {"max_failures": 5, "window_s": 120},
    "tokens": {"enabled": true, "access_ttl_s": 60, "refresh_ttl_s": 3600},
    "storage": {"type": "postgresql", "url": "postgresql://mimrest@db:5432/chat"},
    "demo": true
  })");
  REQUIRE(config);
  CHECK(config->transport == mimrest::server::Transport::cpprest);
  CHECK(config->api.server_name == "chat");
  CHECK(config->limits.max_header_bytes == 8192);
  CHECK(config->api.max_body_bytes == 4096);
  CHECK(config->limits.header_timeout == std::chrono::seconds(3));
  CHECK(config->limits.idle_timeout == std::chrono::seconds(30));
  CHECK(config->limits.max_connections == 100);
  CHECK(config->api.sse.max_streams_per_user == 2);
  CHECK(config->api.sse.resume);
  CHECK(config->api.sse.max_replay == 50);
  CHECK(config->api.auth.max_failures == 5);
  CHECK(config->api.auth.window == std::chrono::seconds(120));
  CHECK(config->api.tokens.enabled);
  CHECK(config->api.tokens.access_ttl == std::chrono::seconds(60));
  CHECK(config->api.tokens.refresh_ttl == std::chrono::seconds(3600));
  CHECK(config->storage.type == mimrest::server::StorageConfig::Type::postgresql);
  CHECK(config->storage.url == "postgresql://mimrest@db:5432/chat");
  CHECK(config->demo);
  auto memory = parse_server_config(R"({"storage": {"type": "memory"}})");
  REQUIRE(memory);
  CHECK(memory->storage.type == mimrest::server::StorageConfig::Type::memory);
}

TEST_CASE("bad keys beyond MongooseIM are rejected with a message that says where") {
  for (const auto& [text, where] : std::vector<std::pair<std::string, std::string>>{
           {R"({"transport": "asio"})", "transport"},
           {R"({"transport": 1})", "transport"},
           {R"({"server_name": ""})", "server_name"},
           {R"({"server_name": "a\nb"})", "server_name"},
           {R"({"limits": {"max_header_bytes": 10}})", "limits.max_header_bytes"},
           {R"({"limits": {"max_body_bytes": 0}})", "limits.max_body_bytes"},
           {R"({"limits": {"header_timeout_s": "10"}})", "limits.header_timeout_s"},
           {R"({"limits": {"idle_timeout_s": 0}})", "limits.idle_timeout_s"},
           {R"({"limits": {"max_connections": -1}})", "limits.max_connections"},
           {R"({"limits": {"max_streams": 1}})", "limits"},
           {R"({"sse": {"max_streams_per_user": 0}})", "sse.max_streams_per_user"},
           {R"({"sse": {"resume": "yes"}})", "sse.resume"},
           {R"({"sse": {"max_replay": 1.5}})", "sse.max_replay"},
           {R"({"auth": {"max_failures": -1}})", "auth.max_failures"},
           {R"({"auth": {"window_s": 0}})", "auth.window_s"},
           {R"({"auth": {"lockout": true}})", "auth"},
           {R"({"tokens": {"enabled": 1}})", "tokens.enabled"},
           {R"({"tokens": {"access_ttl_s": 0}})", "tokens.access_ttl_s"},
           {R"({"tokens": {"secret": "x"}})", "tokens"},
           {R"({"storage": {"type": "mysql"}})", "storage.type"},
           {R"({"storage": {}})", "storage"},
           {R"({"storage": {"type": "sqlite", "url": "x"}})", "storage"},
           {R"({"storage": {"type": "sqlite", "sync": "sometimes"}})", "storage.sync"},
           {R"({"storage": {"type": "sqlite", "path": ""}})", "storage.path"},
           {R"({"storage": {"type": "postgresql"}})", "storage"},
           {R"({"storage": {"type": "postgresql", "url": "mysql://x"}})", "storage.url"},
           {R"({"storage": {"type": "memory", "path": "x"}})", "storage"},
           {R"({"demo": "on"})", "demo"},
       }) {
    INFO(text);
    CHECK(error_of(text).find(where) != std::string::npos);
  }
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
  CHECK(config->listen == "https://0.0.0.0:9443");
  REQUIRE(config->tls);
  CHECK(config->tls->certificate == "/srv/conf/cert.pem");
  CHECK(config->tls->private_key == "/etc/key.pem");
  CHECK(config->api.base_path == "/client");
  CHECK(config->api.handlers == std::set<std::string>{"sse", "messages"});
  CHECK_FALSE(config->api.docs);
  CHECK(config->api.realm == "example");
  CHECK(config->api.cors_allowed_origins == std::vector<std::string>{"https://app.example", "*"});
  CHECK(config->hosting.domains == std::vector<std::string>{"example.com", "localhost"});
  CHECK_FALSE(config->hosting.muc_light_enabled);
  CHECK(config->hosting.muc_light_host == "groups.@HOST@");
  CHECK(config->hosting.all_can_configure);
  CHECK(config->hosting.max_result_limit == 200);
  CHECK(config->api.sse.timestamp_unit == mimrest::TimestampUnit::milliseconds);
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

TEST_CASE("a user whose JID holds a colon is refused: Basic authentication could not carry it") {
  // An IPv6 address domain is a valid domain, and it may be hosted.
  auto hosted = parse_server_config(R"({"domains": ["[::1]"], "muc_light": {"enabled": false}})");
  REQUIRE(hosted);
  CHECK(hosted->hosting.domains == std::vector<std::string>{"[::1]"});

  // A user on it could never log in: the credentials split at the first ':'.
  const std::string error = error_of(
      R"({"domains": ["localhost", "[::1]"], "muc_light": {"enabled": false},
          "users": [{"jid": "bob@localhost", "password": "p"},
                    {"jid": "alice@[::1]", "password": "secret"}]})");
  INFO(error);
  CHECK(error.find("users[1].jid") != std::string::npos);
  CHECK(error.find("alice@[::1]") != std::string::npos);
  CHECK(error.find("':'") != std::string::npos);
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
