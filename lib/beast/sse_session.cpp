// The event stream's session.
#include "beast/sse_session.hpp"

#include <array>
#include <string_view>
#include <utility>

#include <boost/asio/post.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/stream_traits.hpp>

#include "beast/http_session.hpp"
#include "beast/wire.hpp"

namespace mimrest::beast::detail {

using tcp = net::ip::tcp;
using error_code = boost::system::error_code;

template <class Stream>
SseSession<Stream>::SseSession(std::shared_ptr<ServerState> state, std::unique_ptr<Stream> socket,
                               Registration registration, std::shared_ptr<SseStream> stream,
                               std::optional<ServingGate::Ticket> ticket, bool chunked)
    : server_(std::move(state)),
      socket_(std::move(socket)),
      executor_(socket_->get_executor()),
      registration_(std::move(registration)),
      stream_(std::move(stream)),
      ticket_(std::move(ticket)),
      chunked_(chunked),
      read_deadline_(executor_),
      write_deadline_(executor_),
      ticker_(executor_),
      unread_(std::make_shared<std::atomic<std::size_t>>(0)) {}

template <class Stream>
SseSession<Stream>::~SseSession() {
  stream_->close();  // idempotent; ends the user's session if nothing else did
}

template <class Stream>
void SseSession<Stream>::start(bool read_pending) {
  registration_.rebind(this->weak_from_this(), &activity_);
  read_pending_ = read_pending;
  std::weak_ptr<SseSession> weak = this->shared_from_this();
  SseStream::Transport transport;
  transport.wake = [weak] {
    if (auto self = weak.lock()) {
      auto& state = *self->server_;
      auto executor = self->executor_;
      state.post(executor, [self = std::move(self)] { self->write(); });
    }
  };
  transport.unread_bytes = [unread = unread_] { return unread->load(std::memory_order_relaxed); };
  stream_->start(std::move(transport));
  tick_later();
  write();
  read();
}

template <class Stream>
void SseSession<Stream>::continue_read(error_code ec) {
  read_pending_ = false;
  if (ec) {
    on_read(ec, 0);
  } else {
    read();
  }
}

template <class Stream>
void SseSession<Stream>::shut() {
  server_->post(executor_, [self = this->shared_from_this()] { self->close_now(); });
}

// ---- reading: only to see the client leave ----------------------------------

template <class Stream>
void SseSession<Stream>::read() {
  if (read_pending_ || state_ == State::closed) {
    return;
  }
  buffer_.clear();
  read_pending_ = true;
  socket_->async_read_some(buffer_.prepare(first_read_bytes),
                           [self = this->shared_from_this()](error_code ec, std::size_t count) {
                             self->on_read(ec, count);
                           });
}

template <class Stream>
void SseSession<Stream>::on_read(error_code ec, std::size_t count) {
  read_pending_ = false;
  if (state_ == State::closed) {
    return;
  }
  if (ec) {
    // The client has left (or reset): the stream ends, and with it the
    // user's session.
    close_now();
    return;
  }
  if (state_ == State::lingering) {
    lingered_ += count;
    if (lingered_ > linger_bytes) {
      close_now();
      return;
    }
  }
  // Nothing sent after GET /sse is answered: the bytes only show that the
  // client is still there.
  read();
}

// ---- writing -----------------------------------------------------------------

/// Writes what the stream has, one write at a time.
template <class Stream>
void SseSession<Stream>::write() {
  if (state_ != State::streaming) {
    return;
  }
  if (write_pending_) {
    // Closed while the client does not even read what is being written
    // (the unread-bytes cap): nothing more will reach it. When the server
    // stops, the write in progress is let to finish instead.
    if (stream_->closed() && !server_->gate.stopping()) {
      close_now();
    }
    return;
  }
  std::string bytes = stream_->take();
  if (bytes.empty()) {
    if (stream_->closed()) {
      end_stream();
    }
    return;
  }
  chunk_head_ = chunked_ ? chunk_line(bytes.size()) : std::string();
  out_ = std::move(bytes);
  unread_->store(out_.size() + chunk_head_.size(), std::memory_order_relaxed);
  write_pending_ = true;
  write_deadline_.expire_after(server_->options.idle_timeout, this);
  const std::string_view tail = chunked_ ? chunk_end : std::string_view();
  std::array<net::const_buffer, 3> buffers{net::buffer(chunk_head_), net::buffer(out_),
                                           net::buffer(tail.data(), tail.size())};
  net::async_write(
      *socket_, buffers,
      [self = this->shared_from_this()](error_code ec, std::size_t) { self->on_written(ec); });
}

/// The stream is closed: end the body (the last chunk), then the connection.
template <class Stream>
void SseSession<Stream>::end_stream() {
  state_ = State::ending;
  ticker_.cancel();
  if (!chunked_) {
    end_connection();
    return;
  }
  chunk_head_.clear();
  out_.assign(last_chunk.data(), last_chunk.size());
  write_pending_ = true;
  write_deadline_.expire_after(server_->options.idle_timeout, this);
  net::async_write(
      *socket_, net::buffer(out_),
      [self = this->shared_from_this()](error_code ec, std::size_t) { self->on_written(ec); });
}

template <class Stream>
void SseSession<Stream>::on_written(error_code ec) {
  write_pending_ = false;
  unread_->store(0, std::memory_order_relaxed);
  std::string().swap(out_);  // the bytes are the client's now
  if (state_ == State::closed) {
    return;
  }
  write_deadline_.clear();
  if (ec) {
    close_now();
    return;
  }
  if (state_ == State::ending) {
    end_connection();
    return;
  }
  write();
}

template <class Stream>
void SseSession<Stream>::tick_later() {
  ticker_.expires_after(server_->gate.keepalive_interval());
  ticker_.async_wait([self = this->shared_from_this()](error_code ec) {
    if (ec || self->state_ != State::streaming) {
      return;
    }
    self->stream_->keepalive();  // wakes write(); a failed write tells the client is gone
    self->tick_later();
  });
}

// ---- ending --------------------------------------------------------------------

/// After the last chunk: stop sending, drain what the client still sends for
/// a moment, then close.
template <class Stream>
void SseSession<Stream>::end_connection() {
  state_ = State::lingering;
  ticket_.reset();  // the answer is complete
  publish(activity_, Activity::idle);
  error_code ignored;
  boost::beast::get_lowest_layer(*socket_).shutdown(tcp::socket::shutdown_send, ignored);
  read_deadline_.expire_after(linger_time, this);
  read();
}

template <class Stream>
void SseSession<Stream>::close_now() {
  if (state_ == State::closed) {
    return;
  }
  state_ = State::closed;
  error_code ignored;
  boost::beast::get_lowest_layer(*socket_).close(ignored);
  read_deadline_.cancel();
  write_deadline_.cancel();
  ticker_.cancel();
  // What a closed stream gives back: the user's session, its ticket, its
  // place in the count.
  stream_->close();
  ticket_.reset();
  registration_.reset();
}

template class SseSession<tcp::socket>;
template class SseSession<TlsStream>;

}  // namespace mimrest::beast::detail
