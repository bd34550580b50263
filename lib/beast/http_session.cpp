// The HTTP session: reading and handing requests to the core. Answering is in
// http_answers.ipp, the event stream in sse_session.cpp.
#include "beast/http_session.hpp"

#include <algorithm>
#include <limits>
#include <utility>

#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/http/error.hpp>

#include "beast/request.hpp"
#include "beast/sse_session.hpp"
#include "beast/wire.hpp"

namespace mimrest::beast::detail {

namespace http = boost::beast::http;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;
using Clock = Deadline::Clock;

template <class Stream>
HttpSession<Stream>::HttpSession(std::shared_ptr<ServerState> state, std::string remote,
                                 std::unique_ptr<Stream> stream)
    : server_(std::move(state)),
      options_(server_->options),
      stream_(std::move(stream)),
      executor_(stream_->get_executor()),
      remote_(std::move(remote)),
      read_deadline_(executor_),
      write_deadline_(executor_),
      // The first request's headers (and the TLS handshake) are due within
      // the header timeout from the accept.
      header_deadline_(Clock::now() + options_.header_timeout) {}

template <class Stream>
void HttpSession<Stream>::start() {
  registration_ = Registration(server_->connections, this->weak_from_this(), &activity_);
  net::post(executor_, [self = this->shared_from_this()] { self->begin(); });
}

template <class Stream>
void HttpSession<Stream>::shut() {
  server_->post(executor_, [self = this->shared_from_this()] { self->close_now(); });
}

// ---- start and TLS handshake ----------------------------------------------

template <class Stream>
void HttpSession<Stream>::begin() {
  if (state_ == State::closed) {
    return;  // shut or shed before it began
  }
  if constexpr (tls) {
    read_deadline_.expire_at(header_deadline_, this);
    stream_->async_handshake(
        ssl::stream_base::server,
        [self = this->shared_from_this()](error_code ec) { self->on_handshake(ec); });
  } else {
    // FastPath::write_at_once() must never block.
    error_code ignored;
    stream_->non_blocking(true, ignored);
    start_read();
  }
}

template <class Stream>
void HttpSession<Stream>::on_handshake(error_code ec) {
  if (state_ == State::closed) {
    return;
  }
  read_deadline_.clear();
  if (ec) {
    close_now();
    return;
  }
  state_ = State::open;
  start_read();
}

// ---- reading ----------------------------------------------------------------

template <class Stream>
void HttpSession<Stream>::start_read() {
  if (read_pending_) {
    return;
  }
  std::size_t want = read_bytes;
  if (state_ == State::lingering) {
    buffer_.clear();
    want = first_read_bytes;
    // The deadline was set as the lingering began.
  } else if (state_ != State::open || queue_.full()) {
    return;  // resumed once answers have gone out, or nothing more to read
  } else if (!parser_) {
    if (buffer_.size() == 0) {
      if (buffer_.capacity() > kept_buffer_bytes) {
        buffer_.shrink_to_fit();
      }
      want = first_read_bytes;
    }
    read_deadline_.expire_at(next_request_expiry(), this);
  } else if (!parser_->is_header_done()) {
    read_deadline_.expire_at(header_deadline_, this);
  } else {
    read_deadline_.expire_after(options_.idle_timeout, this);  // a body: per read
  }
  read_pending_ = true;
  stream_->async_read_some(buffer_.prepare(want),
                           [self = this->shared_from_this()](error_code ec, std::size_t count) {
                             self->on_read(ec, count);
                           });
}

/// For a read that waits for the next request: the first request's header
/// timeout, else the idle timeout once every answer is out (until then the
/// core is at work, and the idle time starts with the last answer).
template <class Stream>
Clock::time_point HttpSession<Stream>::next_request_expiry() const {
  if (queue_.requests() == 0) {
    return header_deadline_;
  }
  if (queue_.empty() && !write_pending_) {
    return Clock::now() + options_.idle_timeout;
  }
  return Deadline::never;
}

template <class Stream>
void HttpSession<Stream>::on_read(error_code ec, std::size_t count) {
  read_pending_ = false;
  if (state_ == State::handed_over) {
    // The read was pending when the socket went to the event stream.
    auto heir = std::move(heir_);
    heir->continue_read(ec);
    return;
  }
  if (state_ == State::closed) {
    return;
  }
  if (state_ != State::lingering) {
    read_deadline_.clear();
  }
  if (ec) {
    on_read_end(ec);
    return;
  }
  buffer_.commit(count);
  if (state_ == State::lingering) {
    lingered_ += count;
    buffer_.clear();
    if (lingered_ > linger_bytes) {
      close_now();
    } else {
      start_read();
    }
    return;
  }
  parse();
}

template <class Stream>
void HttpSession<Stream>::on_read_end(error_code ec) {
  const bool eof = ec == net::error::eof || ec == ssl::error::stream_truncated;
  if (!eof || state_ == State::lingering || (parser_ && parser_->got_some()) ||
      (queue_.empty() && !write_pending_)) {
    // Gone, or mid-request, or nothing left to answer.
    close_now();
    return;
  }
  // The client has sent its last request and waits for the answers.
  state_ = State::finishing;
}

/// Parses what the buffer holds into requests. Only while no read is
/// pending: the buffer is the read's.
template <class Stream>
void HttpSession<Stream>::parse() {
  while (state_ == State::open && !queue_.full()) {
    if (!parser_) {
      if (buffer_.size() == 0) {
        break;
      }
      new_parser();
    }
    if (buffer_.size() == 0 && !parser_->is_done()) {
      break;
    }
    const bool had_header = parser_->is_header_done();
    error_code ec;
    const std::size_t used = parser_->put(buffer_.data(), ec);
    buffer_.consume(used);
    if (ec == http::error::need_more) {
      break;
    }
    if (ec) {
      refuse(ec);
      break;
    }
    if (!had_header && parser_->is_header_done() && !on_header()) {
      break;
    }
    if (parser_->is_done()) {
      dispatch();
    } else if (used == 0 && had_header) {
      break;  // no progress: wait for more bytes
    }
  }
  publish_activity();
  start_read();
}

template <class Stream>
void HttpSession<Stream>::new_parser() {
  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(
      std::min<std::size_t>(options_.max_header_bytes, std::numeric_limits<std::uint32_t>::max())));
  // The Api's body limit (ServingGate::body_too_large): checked against a
  // Content-Length as the headers end, and against the chunks as they come.
  parser_->body_limit(static_cast<std::uint64_t>(server_->max_body_bytes));
  if (queue_.requests() != 0) {
    header_deadline_ = Clock::now() + options_.header_timeout;
  }
}

/// The request's headers are in: decide whether to read its body. (A
/// Content-Length over the Api's body limit never gets here: the parser,
/// which has that limit, fails with body_limit as the headers end, before a
/// byte of the body is read.)
template <class Stream>
bool HttpSession<Stream>::on_header() {
  if (!publish(activity_, Activity::busy)) {
    close_now();  // shed while the headers arrived
    return false;
  }
  if (auto defect = header_defect(parser_->get())) {
    answer_now(server_->gate.transport_error(400, *defect));
    return false;
  }
  auto ticket = server_->gate.enter();
  if (!ticket) {
    answer_now(server_->gate.stopping_response());
    return false;
  }
  if (!parser_->is_done() && buffer_.size() == 0 && expects_continue(parser_->get())) {
    queue_.push_interim(continue_head);
  }
  current_ = queue_.push(std::move(ticket)).request;
  parser_->eager(true);
  write_next();
  return true;
}

/// A request the parser rejected: answered, and the connection ends (its
/// framing is lost).
template <class Stream>
void HttpSession<Stream>::refuse(error_code ec) {
  if (ec == http::error::header_limit) {
    answer_now(server_->gate.transport_error(431, "Request header fields too large"));
  } else if (ec == http::error::body_limit) {
    answer_now(server_->gate.body_too_large());
  } else {
    answer_now(server_->gate.transport_error(400, "Bad request"));
  }
}

/// Answers the request being read with `response` and reads no more.
template <class Stream>
void HttpSession<Stream>::answer_now(Response response) {
  parser_.reset();
  state_ = State::closing;
  Answer* answer = current_ ? queue_.find(*current_) : nullptr;
  current_.reset();
  if (answer == nullptr) {
    answer = &queue_.push(std::nullopt);
  }
  answer->close = true;
  AnswerQueue::fill(*answer, std::move(response));
  write_next();
}

/// Hands a complete request to the core.
template <class Stream>
void HttpSession<Stream>::dispatch() {
  auto message = parser_->release();
  parser_.reset();
  Answer* answer = current_ ? queue_.find(*current_) : nullptr;
  current_.reset();
  if (answer == nullptr) {
    return;  // cannot happen: on_header queued it
  }
  answer->head_only = message.method() == http::verb::head;
  answer->version = message.version();
  answer->keep_alive = message.keep_alive();
  if (!answer->keep_alive) {
    state_ = State::closing;
  }
  auto request = to_request(message, remote_);
  if (!request) {
    AnswerQueue::fill(*answer, server_->gate.transport_error(400, "Invalid request target"));
    write_next();
    return;
  }
  const std::uint64_t id = answer->request;
  bool handled = false;
  auto answers =
      fast_.dispatch([&] { handled = server_->gate.handle(std::move(*request), responder(id)); });
  if (!handled) {
    on_response(id, server_->gate.stopping_response());
  }
  for (auto& given : answers) {
    on_response(given.request, std::move(given.response));
  }
}

template <class Stream>
Responder HttpSession<Stream>::responder(std::uint64_t request) {
  auto self = this->shared_from_this();
  return Responder(
      [self, request](Response response) {
        if (self->fast_.offer(request, response)) {
          return;  // dispatch() takes it
        }
        auto& state = *self->server_;
        auto executor = self->executor_;
        state.post(executor,
                   [self = std::move(self), request, response = std::move(response)]() mutable {
                     self->on_response(request, std::move(response));
                     self->resume();
                   });
      },
      [self, request] {
        // The core answers every request; in case a responder is dropped.
        auto& state = *self->server_;
        auto executor = self->executor_;
        state.post(executor, [self, request] {
          self->on_response(request,
                            self->server_->gate.transport_error(500, "Internal server error"));
          self->resume();
        });
      });
}

template <class Stream>
void HttpSession<Stream>::resume() {
  if (state_ == State::open && !read_pending_) {
    parse();  // reading may have paused for the pipeline
  }
}

}  // namespace mimrest::beast::detail

#include "beast/http_answers.ipp"

namespace mimrest::beast::detail {

template class HttpSession<net::ip::tcp::socket>;
template class HttpSession<TlsStream>;

void serve_connection(const std::shared_ptr<ServerState>& state, tcp::socket socket) {
  error_code ec;
  std::string remote;
  const auto endpoint = socket.remote_endpoint(ec);
  if (!ec) {
    auto address = endpoint.address();
    if (address.is_v6() && address.to_v6().is_v4_mapped()) {
      address = net::ip::make_address_v4(net::ip::v4_mapped, address.to_v6());
    }
    remote = address.to_string();
  }
  socket.set_option(tcp::no_delay(true), ec);
  if (state->tls) {
    std::make_shared<HttpSession<TlsStream>>(
        state, std::move(remote), std::make_unique<TlsStream>(std::move(socket), *state->tls))
        ->start();
  } else {
    std::make_shared<HttpSession<tcp::socket>>(state, std::move(remote),
                                               std::make_unique<tcp::socket>(std::move(socket)))
        ->start();
  }
}

}  // namespace mimrest::beast::detail
