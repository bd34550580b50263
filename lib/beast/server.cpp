// The Boost.Beast server: a listener on its own strand, `threads` I/O threads
// sharing one io_context, one Connection per accepted socket (connection.cpp)
// on a strand of its own, and a timer that drives the SSE keepalives.
#include "mimrest/beast/server.hpp"

#include <algorithm>
#include <chrono>
#include <exception>
#include <future>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include <openssl/ssl.h>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include "beast/connection.hpp"
#include "beast/state.hpp"
#include "beast/wire.hpp"
#include "mimrest/tls.hpp"

namespace mimrest::beast {
namespace {

using detail::ServerState;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;

/// After an accept error other than a vanished client (out of descriptors,
/// out of memory), accepting resumes after this pause instead of failing
/// again at once in a loop.
constexpr auto accept_backoff = std::chrono::milliseconds(100);
/// How long stop() waits for closed connections to let go of their sockets.
constexpr auto close_wait = std::chrono::seconds(2);

/// Accepts connections and ticks the SSE keepalives, both on one strand.
class Listener : public std::enable_shared_from_this<Listener> {
 public:
  explicit Listener(std::shared_ptr<ServerState> state)
      : state_(std::move(state)),
        strand_(net::make_strand(state_->io)),
        acceptor_(strand_),
        backoff_(strand_),
        ticker_(strand_) {}

  tcp::acceptor& acceptor() { return acceptor_; }

  void start() {
    net::post(strand_, [self = shared_from_this()] {
      self->accept();
      self->tick_later();
    });
  }

  /// Stops accepting and ticking; returns once done.
  void close() {
    std::promise<void> done;
    net::post(strand_, [this, &done] {
      error_code ignored;
      closing_ = true;
      acceptor_.close(ignored);
      backoff_.cancel();
      ticker_.cancel();
      done.set_value();
    });
    done.get_future().wait();
  }

 private:
  void accept() {
    if (closing_) {
      return;
    }
    acceptor_.async_accept(net::make_strand(state_->io),
                           [self = shared_from_this()](error_code ec, tcp::socket socket) {
                             self->on_accept(ec, std::move(socket));
                           });
  }

  void on_accept(error_code ec, tcp::socket socket) {
    if (closing_ || ec == net::error::operation_aborted) {
      return;
    }
    if (ec) {
      if (ec == net::error::connection_aborted) {
        accept();  // the client left before the accept: nothing is wrong here
        return;
      }
      // EMFILE, ENFILE, ENOBUFS, ENOMEM...: the pending connection stays in
      // the backlog and would fail again at once. Pause instead of spinning.
      backoff_.expires_after(accept_backoff);
      backoff_.async_wait([self = shared_from_this()](error_code wait_ec) {
        if (!wait_ec) {
          self->accept();
        }
      });
      return;
    }
    if (state_->connections.load() >= state_->options.max_connections) {
      error_code ignored;
      socket.close(ignored);  // over the cap: closed at once
    } else {
      state_->connections.fetch_add(1);
      detail::serve_connection(state_, std::move(socket));
    }
    accept();
  }

  void tick_later() {
    if (closing_) {
      return;
    }
    ticker_.expires_after(state_->gate.keepalive_interval());
    ticker_.async_wait([self = shared_from_this()](error_code ec) {
      if (ec || self->closing_) {
        return;
      }
      self->state_->gate.tick();
      self->tick_later();
    });
  }

  std::shared_ptr<ServerState> state_;
  net::strand<net::io_context::executor_type> strand_;
  tcp::acceptor acceptor_;
  net::steady_timer backoff_;
  net::steady_timer ticker_;
  bool closing_ = false;
};

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

  void run_io() {
    // A handler that throws must not end the I/O thread: keep serving.
    while (true) {
      try {
        state->io.run();
        return;
      } catch (...) {
      }
    }
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
  auto url = detail::parse_listen_url(options.url);
  if (!url) {
    return unexpected(url.error());
  }
  if (options.max_header_bytes == 0 || options.max_connections == 0) {
    return unexpected(std::string("max_header_bytes and max_connections must be positive"));
  }

  auto state = std::make_shared<ServerState>(impl_->api, options);
  if (url->tls) {
    if (!options.tls) {
      return unexpected("listen URL '" + options.url +
                        "' is https:// but no TLS certificate and key are configured");
    }
    auto material = load_tls_material(*options.tls);
    if (!material) {
      return unexpected(material.error());
    }
    try {
      state->tls.emplace(net::ssl::context::tls_server);
    } catch (const std::exception& e) {
      return unexpected(std::string("cannot create a TLS context: ") + e.what());
    }
    if (!install_tls_material(state->tls->native_handle(), *material)) {
      return unexpected(std::string("cannot use the TLS certificate and key"));
    }
    // Idle connections (event streams) give their TLS buffers back.
    SSL_CTX_set_mode(state->tls->native_handle(), SSL_MODE_RELEASE_BUFFERS);
  }

  const std::string where = "cannot listen on '" + options.url + "': ";
  error_code ec;
  tcp::resolver resolver(state->io);
  const auto endpoints = resolver.resolve(
      url->host, url->port, tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec || endpoints.empty()) {
    return unexpected(where + (ec ? ec.message() : std::string("the host has no address")));
  }
  const tcp::endpoint endpoint = endpoints.begin()->endpoint();

  auto listener = std::make_shared<Listener>(state);
  auto& acceptor = listener->acceptor();
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
    return unexpected(where + ec.message());
  }

  impl_->state = state;
  impl_->listener = listener;
  impl_->url = detail::server_url(*url, bound.port());
  listener->start();
  unsigned threads = options.threads;
  if (threads == 0) {
    threads = std::max(1u, std::thread::hardware_concurrency());
  }
  try {
    for (unsigned i = 0; i < threads; ++i) {
      impl_->threads.emplace_back([impl = impl_.get()] { impl->run_io(); });
    }
  } catch (const std::exception& e) {
    if (impl_->threads.empty()) {
      impl_->listener.reset();
      impl_->state.reset();
      return unexpected(std::string("cannot start the I/O threads: ") + e.what());
    }
  }
  return {};
}

void Server::stop() {
  std::lock_guard<std::mutex> lifecycle(impl_->lifecycle);
  auto state = impl_->state;
  if (!state) {
    return;
  }
  // 1. No new connections, no more keepalive ticks.
  impl_->listener->close();
  impl_->listener.reset();
  // 2. Event streams end; requests in flight get their answers out.
  state->gate.stop(impl_->options.drain);
  // 3. Every connection still open (idle, or stuck past the drain) closes.
  for (const auto& connection : state->open_connections()) {
    connection->shut();
  }
  const auto deadline = std::chrono::steady_clock::now() + close_wait;
  while (state->connections.load() != 0 && std::chrono::steady_clock::now() < deadline) {
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
  try {
    state->io.run_for(close_wait);
  } catch (...) {
  }
  impl_->state.reset();
}

}  // namespace mimrest::beast
