// mimrest-server: the client REST API over the in-memory reference backend,
// served by the cpprestsdk adapter.
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "mimrest/api.hpp"
#include "mimrest/cpprest/listener.hpp"
#include "mimrest/memory/memory_backend.hpp"
#include "mimrest/verification_cache.hpp"
#include "server_config.hpp"

namespace {

constexpr int exit_usage = 2;
constexpr int exit_config = 2;
constexpr int exit_runtime = 1;

int run(const std::string& config_path, const sigset_t& stop_signals) {
  auto config = mimrest::server::load_server_config(config_path);
  if (!config) {
    std::cerr << "mimrest-server: " << config.error() << "\n";
    return exit_config;
  }

  mimrest::memory::MemoryBackend backend(config->backend);
  for (const auto& user : config->users) {
    if (auto added = backend.add_user(user.jid, user.password); !added) {
      std::cerr << "mimrest-server: cannot add user '" << user.jid.bare_string() << "'\n";
      return exit_config;
    }
  }

  // Stored passwords are salted PBKDF2 hashes; remember recent successful
  // logins so that each request does not pay for the hash again.
  mimrest::Backend parts = backend.backend();
  mimrest::CachingPasswordVerifier passwords(parts.passwords);
  mimrest::Backend served{passwords,    parts.router,    parts.archive,
                          parts.roster, parts.muc_light, parts.sessions};
  mimrest::Api api(config->api, served);

  mimrest::cpprest::Listener listener(api, config->listener);
  if (auto started = listener.start(); !started) {
    std::cerr << "mimrest-server: " << started.error() << "\n";
    return exit_runtime;
  }
  std::cout << "listening on " << listener.url() << std::endl;

  // The signals are blocked in every thread; this is the only place they
  // are taken, so no work happens in a signal handler.
  int received = 0;
  while (sigwait(&stop_signals, &received) != 0) {
  }
  listener.stop();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() == 1 && args[0] == "--help") {
    std::cout << mimrest::server::server_usage();
    return 0;
  }
  if (args.size() != 2 || args[0] != "--config") {
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
    return run(args[1], stop_signals);
  } catch (const std::exception& e) {
    std::cerr << "mimrest-server: " << e.what() << "\n";
    return exit_runtime;
  }
}
