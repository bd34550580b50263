// The Boost.Beast server: a Listener on its own strand, `threads` I/O threads
// sharing one io_context, and per accepted socket an HttpSession on a strand
// of its own, which hands the socket to an SseSession for GET /sse.
#include "mimrest/beast/server.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <exception>
#include <mutex>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <openssl/ssl.h>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>

#include "beast/listener.hpp"
#include "beast/state.hpp"
#include "beast/wire.hpp"
#include "mimrest/tls.hpp"

namespace mimrest::beast {

void detail::ServerState::log(std::string_view line) const {
  if (options.log) {
    options.log(line);
  } else {
    std::fprintf(stderr, "%.*s\n", static_cast<int>(line.size()), line.data());
  }
}

namespace {

using detail::Listener;
using detail::ServerState;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;

/// How long stop() waits for closed connections to let go of their sockets.
constexpr auto close_wait = std::chrono::seconds(2);

Expected<detail::ListenUrl, std::string> check_options(const ServerOptions& options) {
  auto url = detail::parse_listen_url(options.url);
  if (!url) {
    return unexpected(url.error());
  }
  if (options.max_header_bytes == 0 || options.max_connections == 0) {
    return unexpected(std::string("max_header_bytes and max_connections must be positive"));
  }
  if (url->tls && !options.tls) {
    return unexpected("listen URL '" + options.url +
                      "' is https:// but no TLS certificate and key are configured");
  }
  return url;
}

Expected<void, std::string> load_tls(ServerState& state, const TlsFiles& files) {
  auto material = load_tls_material(files);
  if (!material) {
    return unexpected(material.error());
  }
  try {
    state.tls.emplace(net::ssl::context::tls_server);
  } catch (const std::exception& e) {
    return unexpected(std::string("cannot create a TLS context: ") + e.what());
  }
  if (!install_tls_material(state.tls->native_handle(), *material)) {
    return unexpected(std::string("cannot use the TLS certificate and key"));
  }
  // Idle connections (event streams) give their TLS buffers back.
  SSL_CTX_set_mode(state.tls->native_handle(), SSL_MODE_RELEASE_BUFFERS);
  return {};
}

/// Binds and listens; the port it got.
Expected<unsigned short, std::string> listen(tcp::acceptor& acceptor,
                                             const detail::ListenUrl& url) {
  error_code ec;
  tcp::resolver resolver(acceptor.get_executor());
  const auto endpoints = resolver.resolve(
      url.host, url.port, tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec || endpoints.empty()) {
    return unexpected(ec ? ec.message() : std::string("the host has no address"));
  }
  const tcp::endpoint endpoint = endpoints.begin()->endpoint();
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) {
    acceptor.set_option(net::socket_base::reuse_address(true), ec);
  }
  if (!ec) {
    acceptor.bind(endpoint, ec);
  }
  if (!ec) {
    acceptor.listen(net::socket_base::max_listen_connections, ec);
  }
  tcp::endpoint bound;
  if (!ec) {
    bound = acceptor.local_endpoint(ec);
  }
  if (ec) {
    return unexpected(ec.message());
  }
  return bound.port();
}

/// Runs the I/O context until it stops. A handler that throws does not end
/// the thread: it is logged, and serving goes on.
void run_io(ServerState& state) {
  while (true) {
    try {
      state.io.run();
      return;
    } catch (const std::exception& e) {
      state.log(std::string("mimrest beast: an I/O handler threw: ") + e.what());
    } catch (...) {
      state.log("mimrest beast: an I/O handler threw a non-standard exception");
    }
  }
}

/// Runs what is left in the I/O context, for at most `limit`.
void run_io_for(ServerState& state, std::chrono::milliseconds limit) {
  try {
    state.io.run_for(limit);
  } catch (const std::exception& e) {
    state.log(std::string("mimrest beast: a handler threw while stopping: ") + e.what());
  } catch (...) {
    state.log("mimrest beast: a handler threw a non-standard exception while stopping");
  }
}

}  // namespace

struct Server::Impl {
  Impl(const Api& served, ServerOptions server_options)
      : api(served), options(std::move(server_options)) {}

  const Api& api;
  const ServerOptions options;
  std::mutex lifecycle;  // serializes start() and stop()
  std::shared_ptr<ServerState> state;
  std::shared_ptr<Listener> listener;
  std::vector<std::thread> threads;
  std::string url;  // guarded by lifecycle

  /// `count` I/O threads (0: one per hardware thread); an error when none
  /// could start.
  Expected<void, std::string> start_threads(unsigned count) {
    if (count == 0) {
      count = std::max(1u, std::thread::hardware_concurrency());
    }
    try {
      for (unsigned i = 0; i < count; ++i) {
        threads.emplace_back([state = state.get()] { run_io(*state); });
      }
    } catch (const std::exception& e) {
      if (threads.empty()) {
        return unexpected(std::string("cannot start the I/O threads: ") + e.what());
      }
      state->log(std::string("mimrest beast: fewer I/O threads than asked: ") + e.what());
    }
    return {};
  }
};

Server::Server(const Api& api, ServerOptions options)
    : impl_(std::make_unique<Impl>(api, std::move(options))) {}

Server::~Server() {
  stop();
}

std::string Server::url() const {
  std::lock_guard<std::mutex> lock(impl_->lifecycle);
  return impl_->url.empty() ? impl_->options.url : impl_->url;
}

Expected<void, std::string> Server::start() {
  std::lock_guard<std::mutex> lifecycle(impl_->lifecycle);
  if (impl_->state) {
    return unexpected(std::string("the server is already started"));
  }
  const ServerOptions& options = impl_->options;
  // 1. The options and the URL.
  auto url = check_options(options);
  if (!url) {
    return unexpected(url.error());
  }
  // 2. What the sessions share, with the TLS context for https://.
  auto state = std::make_shared<ServerState>(impl_->api, options);
  if (url->tls) {
    if (auto loaded = load_tls(*state, *options.tls); !loaded) {
      return loaded;
    }
  }
  // 3. The listening socket.
  auto listener = std::make_shared<Listener>(state);
  auto port = listen(listener->acceptor(), *url);
  if (!port) {
    return unexpected("cannot listen on '" + options.url + "': " + port.error());
  }
  // 4. Accepting, then the threads that serve.
  impl_->state = state;
  impl_->listener = listener;
  impl_->url = detail::server_url(*url, *port);
  listener->start();
  if (auto started = impl_->start_threads(options.threads); !started) {
    impl_->listener.reset();
    impl_->state.reset();
    return started;
  }
  return {};
}

void Server::stop() {
  std::lock_guard<std::mutex> lifecycle(impl_->lifecycle);
  auto state = impl_->state;
  if (!state) {
    return;
  }
  // 1. No new connections.
  impl_->listener->close();
  impl_->listener.reset();
  // 2. Event streams end; requests in flight get their answers out.
  state->gate.stop(impl_->options.drain);
  // 3. Every connection still open (idle, or stuck past the drain) closes.
  for (const auto& connection : state->connections.open()) {
    connection->shut();
  }
  const auto deadline = std::chrono::steady_clock::now() + close_wait;
  while (state->connections.count() != 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  // 4. Nothing is posted any more; the I/O threads end.
  state->end_posting();
  state->io.stop();
  for (auto& thread : impl_->threads) {
    thread.join();
  }
  impl_->threads.clear();
  // 5. Handlers that were still queued run once, so that what they hold
  //    (closed connections) is released now rather than kept in a cycle
  //    with the I/O context.
  state->io.restart();
  run_io_for(*state, std::chrono::duration_cast<std::chrono::milliseconds>(close_wait));
  impl_->state.reset();
}

}  // namespace mimrest::beast
