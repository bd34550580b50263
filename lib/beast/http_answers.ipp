// The HTTP session, continued: answers in request order, the hand-over to
// the event stream, and the end of the connection. Included by
// http_session.cpp only.
#pragma once

#include <array>

#include <boost/asio/write.hpp>

namespace mimrest::beast::detail {

template <class Stream>
void HttpSession<Stream>::on_response(std::uint64_t request, Response response) {
  const bool serving = state_ != State::closed && state_ != State::handed_over;
  Answer* answer = serving ? queue_.find(request) : nullptr;
  if (answer == nullptr || answer->ready) {
    // The connection is gone (or already answered): an event stream that
    // nobody will read ends at once.
    if (response.event_stream) {
      response.event_stream->close();
    }
    return;
  }
  if (response.event_stream) {
    std::shared_ptr<SseStream> stream = std::move(response.event_stream);
    if (server_->gate.add_stream(stream)) {
      AnswerQueue::fill_stream(*answer, response, std::move(stream));
      write_next();
      return;
    }
    response = server_->gate.stopping_response();  // add_stream closed it
  }
  AnswerQueue::fill(*answer, std::move(response));
  write_next();
}

/// Writes the answers that are ready, in order: at once when the socket
/// takes them (FastPath), else one asynchronous write at a time.
template <class Stream>
void HttpSession<Stream>::write_next() {
  while (!write_pending_ &&
         (state_ == State::open || state_ == State::closing || state_ == State::finishing)) {
    Answer* answer = queue_.ready_front();
    if (answer == nullptr) {
      if (queue_.empty() && state_ != State::open) {
        end_connection();
      }
      return;
    }
    if constexpr (!tls) {
      if (FastPath::write_at_once(*stream_, answer->head, answer->body) == FastPath::Written::all) {
        answer_out();
        continue;
      }
    }
    write_pending_ = true;
    write_deadline_.expire_after(options_.idle_timeout, this);
    std::array<net::const_buffer, 2> buffers{net::buffer(answer->head), net::buffer(answer->body)};
    net::async_write(
        *stream_, buffers,
        [self = this->shared_from_this()](error_code ec, std::size_t) { self->on_written(ec); });
    return;
  }
}

template <class Stream>
void HttpSession<Stream>::on_written(error_code ec) {
  write_pending_ = false;
  if (state_ == State::closed) {
    return;
  }
  write_deadline_.clear();
  if (ec) {
    close_now();
    return;
  }
  answer_out();
  write_next();
  resume();
}

/// The first answer is out.
template <class Stream>
void HttpSession<Stream>::answer_out() {
  Answer done = queue_.pop();
  if (done.stream) {
    hand_over(std::move(done));
    return;
  }
  if (done.close && state_ == State::open) {
    state_ = State::closing;
  }
  done.ticket.reset();
  if (queue_.empty() && !parser_ && read_pending_ && state_ == State::open) {
    // A read that started while answers were pending: idle from now on.
    read_deadline_.expire_after(options_.idle_timeout, this);
  }
  publish_activity();
}

/// The head of an event stream is out: the connection now only streams, and
/// requests sent after GET /sse are never answered.
template <class Stream>
void HttpSession<Stream>::hand_over(Answer answer) {
  state_ = State::handed_over;
  queue_.clear();
  parser_.reset();
  current_.reset();
  read_deadline_.cancel();
  write_deadline_.cancel();
  auto heir = std::make_shared<SseSession<Stream>>(
      server_, std::move(stream_), std::move(registration_), std::move(answer.stream),
      std::move(answer.ticket), answer.version >= 11);
  if (read_pending_) {
    heir_ = heir;  // on_read() passes the read on
  }
  heir->start(read_pending_);
}

/// After the last answer: stop sending, drain what the client still sends
/// for a moment, then close.
template <class Stream>
void HttpSession<Stream>::end_connection() {
  if (state_ == State::finishing) {
    close_now();
    return;
  }
  state_ = State::lingering;
  queue_.clear();
  parser_.reset();
  current_.reset();
  error_code ignored;
  boost::beast::get_lowest_layer(*stream_).shutdown(tcp::socket::shutdown_send, ignored);
  read_deadline_.expire_after(linger_time, this);
  publish_activity();
  start_read();
}

template <class Stream>
void HttpSession<Stream>::close_now() {
  if (state_ == State::closed || state_ == State::handed_over) {
    return;
  }
  state_ = State::closed;
  error_code ignored;
  boost::beast::get_lowest_layer(*stream_).close(ignored);
  read_deadline_.cancel();
  write_deadline_.cancel();
  // What a closed connection gives back: its event streams, its tickets,
  // its place in the count.
  queue_.clear();
  parser_.reset();
  registration_.reset();
}

/// What the session does, for the listener's shedding.
template <class Stream>
Activity HttpSession<Stream>::activity() const {
  const bool answering = !queue_.empty() || write_pending_;
  switch (state_) {
    case State::handshake:
      return Activity::waiting;
    case State::open:
      if (answering || (parser_ && parser_->is_header_done())) {
        return Activity::busy;
      }
      return parser_ || queue_.requests() == 0 ? Activity::waiting : Activity::idle;
    case State::closing:
    case State::finishing:
      return answering ? Activity::busy : Activity::idle;
    case State::lingering:
      return Activity::idle;
    default:
      return Activity::busy;
  }
}

template <class Stream>
void HttpSession<Stream>::publish_activity() {
  if (state_ == State::closed || state_ == State::handed_over) {
    return;
  }
  if (!publish(activity_, activity())) {
    close_now();  // shed
  }
}

}  // namespace mimrest::beast::detail
