// The listener: accepting, shedding, backing off.
#include "beast/listener.hpp"

#include <cerrno>
#include <chrono>
#include <future>
#include <utility>

#include <boost/asio/post.hpp>

#include "beast/http_session.hpp"

namespace mimrest::beast::detail {
namespace {

using tcp = net::ip::tcp;
using error_code = boost::system::error_code;

/// After an accept error that shedding cannot help (out of memory, or no
/// connection that may go), accepting resumes after this pause instead of
/// failing again at once in a loop.
constexpr auto accept_backoff = std::chrono::milliseconds(100);

bool out_of_descriptors(const error_code& ec) {
  return ec == error_code(EMFILE, boost::system::system_category()) ||
         ec == error_code(ENFILE, boost::system::system_category());
}

}  // namespace

Listener::Listener(std::shared_ptr<ServerState> state)
    : state_(std::move(state)),
      strand_(net::make_strand(state_->io)),
      acceptor_(strand_),
      backoff_(strand_),
      pruner_(strand_) {}

void Listener::start() {
  std::weak_ptr<Listener> weak = shared_from_this();
  state_->connections.on_shed = [weak] {
    if (auto self = weak.lock()) {
      auto& state = *self->state_;
      state.post(self->strand_, [self] { self->on_shed(); });
    }
  };
  net::post(strand_, [self = shared_from_this()] {
    self->accept();
    self->prune_later();
  });
}

void Listener::close() {
  std::promise<void> done;
  net::post(strand_, [this, &done] {
    error_code ignored;
    closing_ = true;
    acceptor_.close(ignored);
    backoff_.cancel();
    pruner_.cancel();
    done.set_value();
  });
  done.get_future().wait();
}

void Listener::accept() {
  if (closing_ || accepting_) {
    return;
  }
  accepting_ = true;
  acceptor_.async_accept(net::make_strand(state_->io),
                         [self = shared_from_this()](error_code ec, tcp::socket socket) {
                           self->on_accept(ec, std::move(socket));
                         });
}

void Listener::on_accept(error_code ec, tcp::socket socket) {
  accepting_ = false;
  if (closing_ || ec == net::error::operation_aborted) {
    return;
  }
  if (ec) {
    if (ec == net::error::connection_aborted) {
      accept();  // the client left before the accept: nothing is wrong here
    } else if (out_of_descriptors(ec)) {
      // The pending connection stays in the backlog and would fail again at
      // once: make room, or pause.
      wait_for_descriptor(state_->connections.shed_oldest(Shed::waiting_or_idle));
    } else {
      wait_for_descriptor(false);  // ENOBUFS, ENOMEM...
    }
    return;
  }
  if (state_->connections.count() >= state_->options.max_connections &&
      !state_->connections.shed_oldest(Shed::waiting)) {
    error_code ignored;
    socket.close(ignored);  // over the cap: closed at once
  } else {
    // A shed connection closes on its own strand: the count is over the cap
    // until then, by one per connection shed.
    serve_connection(state_, std::move(socket));
  }
  accept();
}

void Listener::wait_for_descriptor(bool shed) {
  waiting_ = shed;
  // When shedding, the pause only covers a connection that became busy
  // before it could be closed; on_shed() usually comes first.
  backoff_.expires_after(accept_backoff);
  backoff_.async_wait([self = shared_from_this()](error_code ec) {
    if (!ec) {
      self->waiting_ = false;
      self->accept();
    }
  });
}

void Listener::on_shed() {
  if (waiting_) {
    waiting_ = false;
    backoff_.cancel();
    accept();
  }
}

void Listener::prune_later() {
  if (closing_) {
    return;
  }
  pruner_.expires_after(state_->gate.keepalive_interval());
  pruner_.async_wait([self = shared_from_this()](error_code ec) {
    if (ec || self->closing_) {
      return;
    }
    // Event streams send their own keepalives (SseSession); the gate only
    // forgets the closed ones here.
    self->state_->gate.forget_closed();
    self->prune_later();
  });
}

}  // namespace mimrest::beast::detail
