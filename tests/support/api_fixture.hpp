// Shared test fixture for the client REST API: a backend (memory by default,
// see TestBackend) with the users alice, bob and carol (all @localhost,
// password "secret"), an Api wired to it, a manual clock, helpers to build
// requests and read JSON bodies, and a check of every error answer against
// the served documentation.
//
// Typical use:
//   mimrest::test::ApiFixture f;
//   auto response = f.post("/messages", R"({"to":"bob@localhost","body":"hi"})");
//   auto json = mimrest::test::parse_json(response.body);
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <catch2/catch.hpp>

#include "async_backend.hpp"
#include "mimrest/api.hpp"
#include "mimrest/api_config.hpp"
#include "mimrest/crypto.hpp"
#include "mimrest/http.hpp"
#include "mimrest/jid.hpp"
#include "mimrest/memory/memory_backend.hpp"
#include "test_jid.hpp"
#if MIMREST_TEST_WITH_SQL
#include "sql_test_support.hpp"
#endif
#if MIMREST_TEST_WITH_XMPP
#include "mimrest/xmpp/gateway.hpp"
#include "xmpp_test_server.hpp"
#endif

namespace mimrest::test {

inline constexpr std::string_view kPassword = "secret";
/// 2023-11-14T22:13:20Z in microseconds: the fixture clock's start.
inline constexpr std::int64_t kStartUs = 1'700'000'000'000'000;

/// "Basic <base64(user:password)>".
inline std::string basic_auth(std::string_view user, std::string_view password = kPassword) {
  std::string pair(user);
  pair += ':';
  pair += password;
  return "Basic " + base64_encode(pair);
}

/// Parses a body that must be JSON.
inline rapidjson::Document parse_json(const std::string& body) {
  rapidjson::Document document;
  document.Parse(body.c_str(), body.size());
  INFO("body: " << body);
  REQUIRE_FALSE(document.HasParseError());
  return document;
}

/// The message of an error answer, whose body must be a JSON string in valid
/// UTF-8 (the parse validates the encoding).
inline std::string valid_error_message(const Response& response) {
  INFO("body: " << response.body);
  rapidjson::Document document;
  document.Parse<rapidjson::kParseValidateEncodingFlag>(response.body.data(), response.body.size());
  REQUIRE_FALSE(document.HasParseError());
  REQUIRE(document.IsString());
  return {document.GetString(), document.GetStringLength()};
}

/// Compact JSON text of a value, for comparisons in assertions.
inline std::string to_json(const rapidjson::Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

/// Settings for the fixture; defaults suit most tests.
struct FixtureOptions {
  ApiConfig api;
  HostingConfig backend;

  FixtureOptions() {
    // Cheap password hashing: tests authenticate on every request.
    backend.password_iterations = 1;
  }
};

/// What the tests do to the accounts and sessions of the backend under test,
/// beside the Api: its own account administration, or (the XMPP gateway,
/// whose accounts are the XMPP server's) the server's.
class TestStore {
 public:
  virtual ~TestStore() = default;
  virtual AccountResult add_user(const Jid& user, std::string_view password) = 0;
  virtual AccountResult set_password(const Jid& user, std::string_view password) = 0;
  /// Open event streams of the user.
  virtual std::size_t session_count(const Jid& user) const = 0;
};

/// The backend the Api tests run on, chosen by the MIMREST_TEST_BACKEND
/// environment variable: "memory" (the default: every operation completes
/// inline), "async" (the memory backend behind a pool that completes every
/// operation later on other threads), "sqlite" or "postgresql:<cluster dir>"
/// (the SQL backend on a fresh database), or "xmpp" (the XMPP gateway in
/// front of a Prosody of the test's own, with alice, bob, carol, dave and eve
/// registered and its rooms on muclight.localhost).
class TestBackend {
 public:
  explicit TestBackend(HostingConfig hosting) {
    const char* chosen = std::getenv("MIMREST_TEST_BACKEND");
    std::string kind = chosen == nullptr ? "memory" : chosen;
    if (kind == "memory" || kind == "async") {
      store_ = std::make_unique<memory::MemoryBackend>(std::move(hosting));
      if (kind == "async") {
        pool_ = std::make_unique<DelayPool>();
        async_ = std::make_unique<AsyncBackend>(store_->backend(), *pool_);
      }
      accounts_ = std::make_unique<Hosted>(*store_);
      return;
    }
#if MIMREST_TEST_WITH_XMPP
    if (kind == "xmpp") {
      open_gateway(hosting);
      return;
    }
#endif
#if MIMREST_TEST_WITH_SQL
    std::string driver = kind.substr(0, kind.find(':'));
    if (driver == "postgresql" && kind.size() > driver.size()) {
      // "postgresql:<folder of the test cluster>", read by the SQL test support.
      ::setenv("MIMREST_TEST_PG_DIR", kind.substr(driver.size() + 1).c_str(), 1);
    }
    if (driver == "sqlite" || driver == "postgresql") {
      database_ = std::make_unique<sql::TestDatabase>(driver);
      auto config = database_->config();
      config.hosting = std::move(hosting);
      store_ = sql::open_backend(config);
      accounts_ = std::make_unique<Hosted>(*store_);
      return;
    }
#endif
    FAIL("unknown MIMREST_TEST_BACKEND: " << kind);
  }
  ~TestBackend() {
    // Threads that may still call into the store stop first.
    async_.reset();
    pool_.reset();
    store_.reset();
#if MIMREST_TEST_WITH_XMPP
    gateway_.reset();
    server_.reset();
#endif
  }
  TestBackend(const TestBackend&) = delete;
  TestBackend& operator=(const TestBackend&) = delete;

  TestStore& store() {
    return *accounts_;
  }
  /// Whether message timestamps come from the fixture's clock (false: from
  /// the XMPP server's).
  bool stamps_with_fixture_clock() const {
#if MIMREST_TEST_WITH_XMPP
    return gateway_ == nullptr;
#else
    return true;
#endif
  }
  Backend backend() {
#if MIMREST_TEST_WITH_XMPP
    if (gateway_) {
      return gateway_->backend();
    }
#endif
    return async_ ? async_->backend() : store_->backend();
  }

 private:
  /// A backend that keeps its own accounts.
  class Hosted final : public TestStore {
   public:
    explicit Hosted(ReferenceBackend& backend) : backend_(backend) {}
    AccountResult add_user(const Jid& user, std::string_view password) override {
      return backend_.add_user(user, password);
    }
    AccountResult set_password(const Jid& user, std::string_view password) override {
      return backend_.set_password(user, password);
    }
    std::size_t session_count(const Jid& user) const override {
      return backend_.session_count(user);
    }

   private:
    ReferenceBackend& backend_;
  };

#if MIMREST_TEST_WITH_XMPP
  /// The XMPP server's accounts, through its control script.
  class ServerAccounts final : public TestStore {
   public:
    ServerAccounts(const test::xmpp::XmppServer& server, const mimrest::xmpp::Gateway& gateway)
        : server_(server), gateway_(gateway) {}
    AccountResult add_user(const Jid& user, std::string_view password) override {
      if (user.domain() != server_.domain) {
        return unexpected(AccountError::unknown_domain);
      }
      // The standard accounts are there from the start.
      for (const char* standard : {"alice", "bob", "carol", "dave", "eve"}) {
        if (user.local() == standard && password == "secret") {
          return {};
        }
      }
      return change(user, password);
    }
    AccountResult set_password(const Jid& user, std::string_view password) override {
      return change(user, password);
    }
    std::size_t session_count(const Jid& user) const override {
      return gateway_.session_count(user);
    }

   private:
    AccountResult change(const Jid& user, std::string_view password) {
      const int code = test::xmpp::run_program({"/bin/bash", server_.script, "register",
                                                server_.dir, user.local(), std::string(password)},
                                               true);
      return code == 0 ? AccountResult() : AccountResult(unexpected(Failure::internal));
    }
    const test::xmpp::XmppServer& server_;
    const mimrest::xmpp::Gateway& gateway_;
  };

  void open_gateway(const HostingConfig& hosting) {
    server_ = std::make_unique<test::xmpp::OwnXmppServer>(
        "prosody", std::vector<std::string>{"--muc", "muclight.localhost"});
    REQUIRE(server_->started());
    const auto& server = server_->server();
    mimrest::xmpp::GatewayConfig config;
    config.host = server.host;
    config.port = static_cast<std::uint16_t>(server.port);
    config.tls = mimrest::xmpp::GatewayConfig::Tls::none;
    config.domains = hosting.domains;
    // No service pattern: no rooms ("MUC Light server not found").
    config.muc_service = hosting.muc_light_enabled ? hosting.muc_light_host : std::string();
    config.max_result_limit = hosting.max_result_limit;
    // Failures are what the tests look at; MIMREST_TEST_GATEWAY_LOG=1 shows
    // what the gateway logs.
    if (std::getenv("MIMREST_TEST_GATEWAY_LOG") == nullptr) {
      config.log = [](std::string_view) {};
    }
    auto opened = mimrest::xmpp::Gateway::open(std::move(config));
    INFO("gateway: " << (opened ? std::string("open") : opened.error()));
    REQUIRE(opened.has_value());
    gateway_ = std::move(opened).value();
    accounts_ = std::make_unique<ServerAccounts>(server, *gateway_);
  }

  std::unique_ptr<test::xmpp::OwnXmppServer> server_;
  std::unique_ptr<mimrest::xmpp::Gateway> gateway_;
#endif
#if MIMREST_TEST_WITH_SQL
  std::unique_ptr<sql::TestDatabase> database_;
#endif
  std::unique_ptr<ReferenceBackend> store_;
  std::unique_ptr<DelayPool> pool_;
  std::unique_ptr<AsyncBackend> async_;
  std::unique_ptr<TestStore> accounts_;
};

/// Checks an error answer against the served OpenAPI document: the status
/// must be documented for the operation, and a JSON string body must be one
/// of its documented messages (or match a documented pattern). So no handler
/// can answer an error its documentation does not show.
class DocumentedErrors {
 public:
  explicit DocumentedErrors(std::string openapi_json) {
    document_.Parse(openapi_json.c_str(), openapi_json.size());
  }

  void check(const Request& request, const Response& response, std::string_view base) const {
    if (response.status < 400 || document_.HasParseError() || !document_.IsObject() ||
        response.status == 401 || response.status == 405 ||
        response.status == 404 && response.body.empty()) {
      // 401, 405 and the bare 404 are the core's own answers, not an
      // operation's (methods are case-sensitive: "get" is not GET).
      return;
    }
    std::string_view path = request.path;
    if (path.substr(0, base.size()) != base) {
      return;
    }
    path.remove_prefix(base.size());
    const rapidjson::Value* operation = find_operation(path, request.method);
    if (operation == nullptr) {
      return;  // no route, or no such method (404, 405): the core's own answers
    }
    INFO(request.method << " " << request.path << " answered " << response.status << " "
                        << response.body);
    const auto& responses = (*operation)["responses"];
    const std::string status = std::to_string(response.status);
    REQUIRE(responses.HasMember(status.c_str()));
    rapidjson::Document body;
    body.Parse(response.body.c_str(), response.body.size());
    if (body.HasParseError() || !body.IsString()) {
      return;
    }
    const auto& documented = responses[status.c_str()];
    REQUIRE(documented.HasMember("content"));
    const auto& schema = documented["content"]["application/json"]["schema"];
    CHECK(matches(schema, std::string(body.GetString(), body.GetStringLength())));
  }

 private:
  const rapidjson::Value* find_operation(std::string_view path, const std::string& method) const {
    auto split = [](std::string_view text) {
      std::vector<std::string_view> parts;
      while (!text.empty()) {
        auto slash = text.find('/', 1);
        parts.push_back(text.substr(1, slash == std::string_view::npos ? slash : slash - 1));
        text.remove_prefix(slash == std::string_view::npos ? text.size() : slash);
      }
      return parts;
    };
    if (path.size() > 1 && path.back() == '/') {
      path.remove_suffix(1);
    }
    auto segments = split(path);
    std::string lower;
    for (char c : method) {
      lower += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    }
    for (const auto& entry : document_["paths"].GetObject()) {
      auto pattern = split(std::string_view(entry.name.GetString(), entry.name.GetStringLength()));
      if (pattern.size() != segments.size()) {
        continue;
      }
      bool same = true;
      for (std::size_t i = 0; i < pattern.size() && same; ++i) {
        same = (!pattern[i].empty() && pattern[i].front() == '{') || pattern[i] == segments[i];
      }
      if (same && entry.value.HasMember(lower.c_str())) {
        return &entry.value[lower.c_str()];
      }
      if (same) {
        return nullptr;
      }
    }
    return nullptr;
  }

  static bool matches(const rapidjson::Value& schema, const std::string& message) {
    if (schema.HasMember("anyOf")) {
      for (const auto& alternative : schema["anyOf"].GetArray()) {
        if (matches(alternative, message)) {
          return true;
        }
      }
      return false;
    }
    if (schema.HasMember("enum")) {
      for (const auto& value : schema["enum"].GetArray()) {
        if (message == value.GetString()) {
          return true;
        }
      }
      return false;
    }
    if (schema.HasMember("pattern")) {
      return matches_pattern(schema["pattern"].GetString(), message);
    }
    return true;
  }

  // The patterns of templated messages have one form: "^" fixed ".*" fixed
  // "$", the fixed parts backslash-escaped (lib/core/api/openapi.cpp).
  // Anything else fails the check.
  static bool matches_pattern(std::string_view pattern, std::string_view message) {
    if (pattern.size() < 2 || pattern.front() != '^' || pattern.back() != '$') {
      return false;
    }
    pattern = pattern.substr(1, pattern.size() - 2);
    std::string fixed[2];
    int part = 0;
    for (std::size_t i = 0; i < pattern.size(); ++i) {
      if (pattern[i] == '\\' && i + 1 < pattern.size()) {
        fixed[part] += pattern[++i];
      } else if (pattern.substr(i, 2) == ".*" && part == 0) {
        part = 1;
        ++i;
      } else if (std::string_view("\\^$.|?*+()[]{}").find(pattern[i]) != std::string_view::npos) {
        return false;  // not the form above
      } else {
        fixed[part] += pattern[i];
      }
    }
    const auto& prefix = fixed[0];
    const auto& suffix = fixed[1];
    return part == 1 && message.size() >= prefix.size() + suffix.size() &&
           message.substr(0, prefix.size()) == prefix &&
           message.substr(message.size() - suffix.size()) == suffix;
  }

  rapidjson::Document document_;
};

class ApiFixture {
 public:
  explicit ApiFixture(FixtureOptions options = {})
      : backend_(with_clock(std::move(options.backend))),
        api_(with_clock(std::move(options.api)), backend_.backend()),
        alice(jid("alice@localhost")),
        bob(jid("bob@localhost")),
        carol(jid("carol@localhost")) {
    REQUIRE(backend_.store().add_user(alice, kPassword).has_value());
    REQUIRE(backend_.store().add_user(bob, kPassword).has_value());
    REQUIRE(backend_.store().add_user(carol, kPassword).has_value());
    if (api_.config().docs) {
      Request docs;
      docs.method = "GET";
      docs.path = api_.config().base_path + "/api-docs/openapi.json";
      documented_ = std::make_unique<DocumentedErrors>(api_.handle(docs).body);
    }
  }

  ApiFixture(const ApiFixture&) = delete;
  ApiFixture& operator=(const ApiFixture&) = delete;

  /// The accounts and sessions of the backend under test.
  TestStore& store() { return backend_.store(); }
  /// Its interfaces as the Api sees them.
  Backend backend() { return backend_.backend(); }
  bool stamps_with_fixture_clock() const { return backend_.stamps_with_fixture_clock(); }
  const Api& api() const { return api_; }
  const ApiConfig& config() const { return api_.config(); }

  /// The manual clock shared by the backend and the Api (microseconds).
  std::int64_t now_us() const { return clock_us_.load(); }
  void set_now_us(std::int64_t us) { clock_us_.store(us); }
  void advance_ms(std::int64_t ms) { clock_us_.fetch_add(ms * 1000); }

  /// A request to `path` below the base path ("/messages"), authenticated as
  /// `user` (no Authorization header when nullopt). A non-empty body gets
  /// Content-Type: application/json. `path` may carry "?query".
  Request request(std::string method, std::string_view path, std::string body = {},
                  std::optional<std::string_view> user = "alice@localhost") const {
    Request request;
    request.method = std::move(method);
    std::string full = api_.config().base_path + std::string(path);
    auto question = full.find('?');
    if (question != std::string::npos) {
      request.query = full.substr(question + 1);
      full.resize(question);
    }
    request.path = std::move(full);
    if (user) {
      request.headers.add("Authorization", basic_auth(*user));
    }
    if (!body.empty()) {
      request.headers.add("Content-Type", "application/json");
    }
    request.body = std::move(body);
    return request;
  }

  /// Answers a request (waiting when the backend completes later); every
  /// error answer is checked against the documentation.
  Response handle(const Request& request) const {
    Response response = api_.handle(request);
    if (documented_) {
      std::string base = api_.config().base_path;
      while (!base.empty() && base.back() == '/') {
        base.pop_back();
      }
      documented_->check(request, response, base);
    }
    return response;
  }

  Response get(std::string_view path, std::string_view user = "alice@localhost") const {
    return handle(request("GET", path, {}, user));
  }
  Response post(std::string_view path, std::string body,
                std::string_view user = "alice@localhost") const {
    return handle(request("POST", path, std::move(body), user));
  }
  Response put(std::string_view path, std::string body,
               std::string_view user = "alice@localhost") const {
    return handle(request("PUT", path, std::move(body), user));
  }
  Response del(std::string_view path, std::string body = {},
               std::string_view user = "alice@localhost") const {
    return handle(request("DELETE", path, std::move(body), user));
  }

 private:
  HostingConfig with_clock(HostingConfig config) {
    config.now_us = [this] { return clock_us_.load(); };
    return config;
  }
  ApiConfig with_clock(ApiConfig config) {
    config.now_us = [this] { return clock_us_.load(); };
    return config;
  }

  std::atomic<std::int64_t> clock_us_{kStartUs};
  TestBackend backend_;
  Api api_;
  std::unique_ptr<DocumentedErrors> documented_;

 public:
  const Jid alice;
  const Jid bob;
  const Jid carol;
};

/// The JSON string body of an error response, decoded ("Missing JID").
inline std::string error_message(const Response& response) {
  auto document = parse_json(response.body);
  REQUIRE(document.IsString());
  return std::string(document.GetString(), document.GetStringLength());
}

/// Checks an error response: its status and its decoded message.
inline void require_error(const Response& response, int status, std::string_view message) {
  INFO("body: " << response.body);
  CHECK(response.status == status);
  CHECK(error_message(response) == message);
}

}  // namespace mimrest::test
