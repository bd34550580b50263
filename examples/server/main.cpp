// mimrest-server: the client REST API over a ready-made backend (SQLite by
// default, PostgreSQL, or memory) or in front of an XMPP server (the
// gateway), served by Boost.Beast (default) or cpprestsdk; and the user
// commands on the configured storage.
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "demo_page.hpp"
#include "mimrest/api.hpp"
#include "server_config.hpp"
#include "storage.hpp"
#include "transport.hpp"

namespace {

using mimrest::server::ServerConfig;

constexpr int exit_usage = 2;
constexpr int exit_config = 2;
constexpr int exit_runtime = 1;

int serve(const ServerConfig& config, const sigset_t& stop_signals) {
  auto store = mimrest::server::open_storage(config);
  if (!store) {
    std::cerr << "mimrest-server: " << store.error() << "\n";
    return exit_runtime;
  }
  if (auto* accounts = (*store)->accounts()) {
    if (auto users = mimrest::server::ensure_users(*accounts, config.users); !users) {
      std::cerr << "mimrest-server: " << users.error() << "\n";
      return exit_runtime;
    }
  }
  mimrest::ApiConfig api_config = config.api;
  if (config.demo) {
    api_config.pages.push_back(mimrest::server::demo_page());
  }
  mimrest::Api api(std::move(api_config), (*store)->backend());
  auto transport = mimrest::server::start_transport(api, config);
  if (!transport) {
    std::cerr << "mimrest-server: " << transport.error() << "\n";
    return exit_runtime;
  }
  std::cout << "listening on " << (*transport)->url() << std::endl;

  // The signals are blocked in every thread; this is the only place they
  // are taken, so no work happens in a signal handler.
  int received = 0;
  while (sigwait(&stop_signals, &received) != 0) {
  }
  (*transport)->stop();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() == 1 && args[0] == "--help") {
    std::cout << mimrest::server::server_usage();
    return 0;
  }
  if (args.size() < 2 || args[0] != "--config" || (args.size() > 2 && args[2] != "user")) {
    std::cerr << mimrest::server::server_usage();
    return exit_usage;
  }

  // Block before any thread starts, so that every thread inherits the mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  // A client closing its socket must not kill the server.
  signal(SIGPIPE, SIG_IGN);

  try {
    auto config = mimrest::server::load_server_config(args[1]);
    if (!config) {
      std::cerr << "mimrest-server: " << config.error() << "\n";
      return exit_config;
    }
    if (args.size() > 2) {
      const std::vector<std::string> command(args.begin() + 3, args.end());
      return mimrest::server::run_user_command(*config, command, std::cin, std::cout, std::cerr);
    }
    return serve(*config, stop_signals);
  } catch (const std::exception& e) {
    std::cerr << "mimrest-server: " << e.what() << "\n";
    return exit_runtime;
  }
}
