// The throw-away XMPP servers (Prosody, ejabberd) that ctest starts for the
// tests (tests/xmpp/CMakeLists.txt, the fixtures mimrest_prosody and
// mimrest_ejabberd). A test program registered with mimrest_xmpp_tests()
// runs once per server kind: MIMREST_TEST_XMPP_KIND names the kind of this
// run and MIMREST_TEST_XMPP_DIR_<KIND> its folder, whose `env` file says
// where the server listens.
//
//   auto server = mimrest::test::xmpp::xmpp_server();
//   if (!server) return;  // skipped, said with WARN (fails under
//                         // MIMREST_REQUIRE_XMPP=1)
//   XmppPeer bob(server->peer_options("bob"));
//
// Catch2 v2 has no SKIP: a test without its server WARNs and returns.
#pragma once

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "xmpp_peer.hpp"

extern char** environ;

namespace mimrest::test::xmpp {

/// True when a missing server (or peer library) must fail the test (CI).
inline bool xmpp_required() {
  const char* value = std::getenv("MIMREST_REQUIRE_XMPP");
  return value != nullptr && std::string_view(value) == "1";
}

/// Runs a program, waits for it; its exit code (-1 when it did not exit).
/// `quiet`: its output goes to /dev/null.
inline int run_program(std::vector<std::string> args, bool quiet = false) {
  std::vector<char*> argv;
  for (auto& arg : args) {
    argv.push_back(arg.data());
  }
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (quiet) {
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  }
  pid_t pid = -1;
  const int failed = ::posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (failed != 0) {
    return -1;
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      return -1;
    }
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/// A running test server, as its DIR/env file describes it.
struct XmppServer {
  std::string kind;     ///< "prosody" or "ejabberd"
  std::string dir;      ///< its folder (config, data, logs, env)
  std::string host;     ///< 127.0.0.1
  int port = 0;         ///< c2s port (STARTTLS offered, not required)
  std::string domain;   ///< localhost
  std::string muc;      ///< conference.localhost
  std::string ca_file;  ///< the test CA that signed the server's certificate
  std::string auth;     ///< sha256, sha1 or plain (see tests/xmpp/README.md)
  std::string script;   ///< tests/xmpp/xmpp_server

  std::string address() const { return host + ":" + std::to_string(port); }
  std::string jid(std::string_view user) const { return std::string(user) + "@" + domain; }
  std::string room_jid(std::string_view room) const { return std::string(room) + "@" + muc; }

  /// Options for a peer logged in as `user` (password `secret` by default).
  PeerOptions peer_options(std::string_view user, std::string password = "secret") const {
    PeerOptions options;
    options.host = host;
    options.port = port;
    options.jid = jid(user);
    options.password = std::move(password);
    options.ca_file = ca_file;
    return options;
  }

  /// xmpp_server COMMAND DIR ARGS...; throws when it fails.
  void control(const std::string& command, std::vector<std::string> args = {}) const {
    std::vector<std::string> argv{"/bin/bash", script, command, dir};
    argv.insert(argv.end(), args.begin(), args.end());
    if (run_program(argv) != 0) {
      throw std::runtime_error("xmpp_server " + command + " " + dir + " failed");
    }
  }
  /// Stops and starts the server again (same port, same data): the
  /// connections of the moment are lost.
  void restart() const { control("restart"); }
  /// SIGSTOP: the server accepts TCP connections (the kernel does) but
  /// answers nothing until resume().
  void pause() const { control("pause"); }
  void resume() const { control("resume"); }
  void register_user(const std::string& user, const std::string& password) const {
    control("register", {user, password});
  }
  /// Several accounts in one call (for ejabberd one Erlang VM start, not
  /// one per account). Names and passwords of [A-Za-z0-9._@+=-].
  void register_users(const std::vector<std::pair<std::string, std::string>>& accounts) const {
    std::vector<std::string> args;
    for (const auto& [user, password] : accounts) {
      args.push_back(user);
      args.push_back(password);
    }
    control("register", args);
  }
  /// Deletes the account and its data (roster, archive, PEP...).
  void unregister_user(const std::string& user) const { control("unregister", {user}); }
};

/// A fresh user name per call (servers are shared by all the tests of a
/// run): `prefix` + a counter + the process id.
inline std::string unique_user(std::string_view prefix) {
  static int counter = 0;
  return std::string(prefix) + std::to_string(++counter) + "x" + std::to_string(::getpid());
}

inline std::map<std::string, std::string> read_env_file(const std::filesystem::path& file) {
  std::map<std::string, std::string> values;
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    const auto equals = line.find('=');
    if (equals != std::string::npos && line[0] != '#') {
      values[line.substr(0, equals)] = line.substr(equals + 1);
    }
  }
  return values;
}

/// The kind this run of the test program is for: MIMREST_TEST_XMPP_KIND.
inline std::string xmpp_kind() {
  const char* kind = std::getenv("MIMREST_TEST_XMPP_KIND");
  return kind != nullptr ? kind : "";
}

/// The server of `kind` (default: this run's kind), or nullopt when the test
/// cannot run: not under ctest, or the server is not installed. Says why
/// with WARN; under MIMREST_REQUIRE_XMPP=1 a missing server FAILs instead.
/// A server that is installed but did not start fails the test.
inline std::optional<XmppServer> xmpp_server(std::string kind = xmpp_kind()) {
  auto skip = [](const std::string& why) -> std::optional<XmppServer> {
    if (xmpp_required()) {
      FAIL(why << " (MIMREST_REQUIRE_XMPP=1: required)");
    }
    WARN(why << ": XMPP test SKIPPED");
    return std::nullopt;
  };
  if (kind.empty()) {
    return skip("MIMREST_TEST_XMPP_KIND is not set (run through ctest)");
  }
  std::string upper = kind;
  std::transform(upper.begin(), upper.end(), upper.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  const char* dir = std::getenv(("MIMREST_TEST_XMPP_DIR_" + upper).c_str());
  if (dir == nullptr || *dir == '\0') {
    return skip("MIMREST_TEST_XMPP_DIR_" + upper + " is not set (run through ctest)");
  }
  const std::filesystem::path folder(dir);
  if (std::filesystem::exists(folder / "unavailable")) {
    std::ifstream in(folder / "unavailable");
    std::string why;
    std::getline(in, why);
    return skip(kind + " test server unavailable: " + why);
  }
  INFO(kind << " test server folder: " << folder.string());
  const auto env = read_env_file(folder / "env");
  REQUIRE(env.count("XMPP_PORT") == 1);
  XmppServer server;
  server.kind = kind;
  server.dir = folder.string();
  server.host = env.at("XMPP_HOST");
  server.port = std::stoi(env.at("XMPP_PORT"));
  server.domain = env.at("XMPP_DOMAIN");
  server.muc = env.at("XMPP_MUC");
  server.ca_file = env.at("XMPP_CA");
  server.auth = env.count("XMPP_AUTH") != 0 ? env.at("XMPP_AUTH") : "";
  const char* script = std::getenv("MIMREST_XMPP_SERVER");
#ifdef MIMREST_XMPP_SERVER_SCRIPT
  server.script = script != nullptr ? script : MIMREST_XMPP_SERVER_SCRIPT;
#else
  server.script = script != nullptr ? script : "tests/xmpp/xmpp_server";
#endif
  return server;
}

/// True when peers can run (python3-slixmpp installed); otherwise WARNs
/// (FAILs under MIMREST_REQUIRE_XMPP=1).
inline bool peer_available() {
  static const int found =
      run_program({default_peer_python(), "-c", "import slixmpp"}, true);  // once per program
  if (found == 0) {
    return true;
  }
  if (xmpp_required()) {
    FAIL("python3-slixmpp is not installed (MIMREST_REQUIRE_XMPP=1: required)");
  }
  WARN("python3-slixmpp is not installed: XMPP peer test SKIPPED");
  return false;
}

/// A server of the test's own, started here and stopped when this goes (for
/// tests that pause or restart their server, or need it empty): `kind` as
/// the fixtures' (the control script from MIMREST_XMPP_SERVER), `options`
/// passed to `xmpp_server start`.
class OwnXmppServer {
 public:
  OwnXmppServer(const std::string& kind, std::vector<std::string> options = {}) {
    static int counter = 0;
    const char* script = std::getenv("MIMREST_XMPP_SERVER");
#ifdef MIMREST_XMPP_SERVER_SCRIPT
    server_.script = script != nullptr ? script : MIMREST_XMPP_SERVER_SCRIPT;
#else
    server_.script = script != nullptr ? script : "tests/xmpp/xmpp_server";
#endif
    server_.kind = kind;
    server_.dir = "/tmp/mimrest-xmpp-own-" + kind + "-" + std::to_string(::getpid()) + "-" +
                  std::to_string(++counter);
    std::vector<std::string> args{"/bin/bash", server_.script, "start", kind, server_.dir};
    args.insert(args.end(), options.begin(), options.end());
    started_ = run_program(args, true) == 0;
    if (!started_) {
      return;
    }
    const auto env = read_env_file(std::filesystem::path(server_.dir) / "env");
    server_.host = env.at("XMPP_HOST");
    server_.port = std::stoi(env.at("XMPP_PORT"));
    server_.domain = env.at("XMPP_DOMAIN");
    server_.muc = env.at("XMPP_MUC");
    server_.ca_file = env.at("XMPP_CA");
    server_.auth = env.count("XMPP_AUTH") != 0 ? env.at("XMPP_AUTH") : "";
  }
  ~OwnXmppServer() {
    run_program({"/bin/bash", server_.script, "stop", server_.dir}, true);
  }
  OwnXmppServer(const OwnXmppServer&) = delete;
  OwnXmppServer& operator=(const OwnXmppServer&) = delete;

  bool started() const {
    return started_;
  }
  const XmppServer& server() const {
    return server_;
  }

 private:
  XmppServer server_;
  bool started_ = false;
};

}  // namespace mimrest::test::xmpp
