// One connection: Beast's parser over a small flat buffer, requests handed to
// the Api through the gate, answers queued in request order, GET /sse
// streamed with chunked coding. Everything of a connection runs on its strand
// (the executor of its socket); the core's completions and SSE wakes come
// from any thread and are posted there.
//
// A connection lives as long as something holds it: a pending read, write or
// timer wait, a responder the core has not called yet, a posted handler.
#include "beast/connection.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/http/error.hpp>
// GCC 12 with sanitizers sees Beast's boost::optional content length as
// maybe uninitialized (a false positive inside Beast's parser).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#include "beast/wire.hpp"
#include "mimrest/sse.hpp"

namespace mimrest::beast::detail {
namespace {

namespace http = boost::beast::http;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;
using error_code = boost::system::error_code;
using TlsStream = ssl::stream<tcp::socket>;

/// Requests read ahead of their answers; beyond, reading pauses.
constexpr std::size_t max_pipelined = 16;
/// The first read of a request: most requests fit, and an idle connection
/// (or an event stream, which only watches for the client leaving) keeps no
/// more than this.
constexpr std::size_t first_read_bytes = 512;
/// Later reads of a request (large headers, bodies).
constexpr std::size_t read_bytes = 16384;
/// A buffer grown beyond this by an earlier request is given back when the
/// connection waits for its next one.
constexpr std::size_t kept_buffer_bytes = 4096;
/// After the last answer of a connection that ends, what the client still
/// sends is read and dropped for this long (or this many bytes), so that
/// closing does not reset the connection before the client has read the
/// answer.
constexpr auto linger_time = std::chrono::seconds(2);
constexpr std::size_t linger_bytes = 256 * 1024;

constexpr auto never = Clock::time_point::max();

/// The connection whose request the core is handling on this thread, inside
/// ServingGate::handle(). An answer the core gives there and then (a backend
/// that completes inline) is taken over when handle() returns, instead of
/// being posted back to the connection's strand: no queueing, and no wake-up
/// of another I/O thread to run it.
thread_local const void* t_dispatching = nullptr;

/// Sets t_dispatching for the lifetime of a call into the core.
class DispatchScope {
 public:
  explicit DispatchScope(const void* connection) : outer_(t_dispatching) {
    t_dispatching = connection;
  }
  ~DispatchScope() { t_dispatching = outer_; }
  DispatchScope(const DispatchScope&) = delete;
  DispatchScope& operator=(const DispatchScope&) = delete;

 private:
  const void* outer_;
};

bool expects_continue(const http::request_parser<http::string_body>& parser) {
  const auto& header = parser.get();
  const auto expect = header[http::field::expect];
  return header.version() >= 11 &&
         iequals(std::string_view(expect.data(), expect.size()), "100-continue");
}

template <class Stream>
class Connection final : public Closable, public std::enable_shared_from_this<Connection<Stream>> {
 public:
  static constexpr bool tls = std::is_same_v<Stream, TlsStream>;

  template <class... StreamArgs>
  Connection(std::shared_ptr<ServerState> state, std::string remote, StreamArgs&&... args)
      : state_(std::move(state)),
        options_(state_->options),
        stream_(std::forward<StreamArgs>(args)...),
        executor_(stream_.get_executor()),
        timer_(executor_),
        remote_(std::move(remote)),
        unread_(std::make_shared<std::atomic<std::size_t>>(0)) {}

  ~Connection() override {
    // Nothing else holds the connection: no handler of it can run any more.
    closed_ = true;
    release();
  }

  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  /// Registers the connection for stop() and starts serving it.
  void start() {
    id_ = state_->add_connection(this->weak_from_this());
    registered_ = true;
    // The first request's headers (and the TLS handshake) are due within
    // the header timeout from the accept.
    header_deadline_ = Clock::now() + options_.header_timeout;
    net::post(executor_, [self = this->shared_from_this()] { self->begin(); });
  }

  void shut() override {
    state_->post(executor_, [self = this->shared_from_this()] { self->close_now(); });
  }

 private:
  /// One request in arrival order, and its answer once the core gave it.
  struct Slot {
    std::uint64_t seq = 0;
    std::optional<ServingGate::Ticket> ticket;
    bool ready = false;      ///< head (and body) are set
    bool close = false;      ///< the connection ends after this answer
    bool keep_alive = true;  ///< as the request asked
    bool head_only = false;  ///< a HEAD request: no body on the wire
    unsigned version = 11;   ///< of the request
    std::string head;
    std::string body;
    std::shared_ptr<SseStream> stream;  ///< an event stream's answer
  };

  // ---- start and TLS handshake -------------------------------------------

  void begin() {
    if (closed_) {
      return;
    }
    if constexpr (tls) {
      stream_.async_handshake(
          ssl::stream_base::server,
          [self = this->shared_from_this()](error_code ec) { self->on_handshake(ec); });
      update_deadline();
    } else {
      handshaken_ = true;
      // write_now() must never block.
      error_code ignored;
      stream_.non_blocking(true, ignored);
      start_read();
      update_deadline();
    }
  }

  void on_handshake(error_code ec) {
    if (closed_) {
      return;
    }
    if (ec) {
      close_now();
      return;
    }
    handshaken_ = true;
    start_read();
    update_deadline();
  }

  // ---- reading -----------------------------------------------------------

  void start_read() {
    if (reading_ || closed_ || read_closed_ || !handshaken_) {
      return;
    }
    const bool discarding = lingering_ || sse_;
    if (!discarding && (no_more_requests_ || slots_.size() >= max_pipelined)) {
      return;  // resumed once answers have gone out
    }
    std::size_t want = read_bytes;
    if (discarding) {
      buffer_.clear();
      want = first_read_bytes;
    } else if (!parser_ && buffer_.size() == 0) {
      if (buffer_.capacity() > kept_buffer_bytes) {
        buffer_.shrink_to_fit();
      }
      want = first_read_bytes;
    }
    reading_ = true;
    stream_.async_read_some(buffer_.prepare(want),
                            [self = this->shared_from_this()](error_code ec, std::size_t count) {
                              self->on_read(ec, count);
                            });
  }

  void on_read(error_code ec, std::size_t count) {
    reading_ = false;
    if (closed_) {
      return;
    }
    if (ec) {
      on_read_end(ec);
      return;
    }
    buffer_.commit(count);
    if (lingering_) {
      lingered_ += count;
      buffer_.clear();
      if (lingered_ > linger_bytes) {
        close_now();
      } else {
        start_read();
      }
      return;
    }
    if (sse_) {
      // Nothing after GET /sse is answered: the bytes only show that the
      // client is still there.
      buffer_.clear();
      start_read();
      return;
    }
    if (parser_ && parser_->is_header_done()) {
      body_deadline_ = Clock::now() + options_.idle_timeout;
    }
    parse();
  }

  void on_read_end(error_code ec) {
    read_closed_ = true;
    const bool eof = ec == net::error::eof || ec == ssl::error::stream_truncated;
    if (!eof || lingering_ || sse_ || (parser_ && parser_->got_some()) ||
        (slots_.empty() && !writing_)) {
      // Gone, or mid-request, or nothing left to answer. An event stream
      // ends here, and with it the user's session.
      close_now();
      return;
    }
    // The client has sent its last request and waits for the answers.
    no_more_requests_ = true;
    update_deadline();
  }

  /// Parses what the buffer holds into requests. Only while no read is
  /// pending: the buffer is the read's.
  void parse() {
    // An answer written at once (write_now) completes inside this loop, which
    // then goes on itself instead of being entered again.
    parsing_ = true;
    struct Done {
      bool& flag;
      ~Done() { flag = false; }
    } done{parsing_};
    while (!closed_ && !lingering_ && !sse_ && !no_more_requests_ &&
           slots_.size() < max_pipelined) {
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
    start_read();
    update_deadline();
  }

  void new_parser() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(
        options_.max_header_bytes, std::numeric_limits<std::uint32_t>::max())));
    // The Api's body limit (ServingGate::body_too_large): checked against a
    // Content-Length as the headers end, and against the chunks as they come.
    parser_->body_limit(static_cast<std::uint64_t>(state_->max_body_bytes));
    if (!first_request_) {
      header_deadline_ = Clock::now() + options_.header_timeout;
    }
    first_request_ = false;
  }

  /// The request's headers are in: decide whether to read its body.
  /// (A Content-Length over the Api's body limit never gets here: the
  /// parser, which has that limit, fails with body_limit as the headers end,
  /// before a byte of the body is read.)
  bool on_header() {
    auto ticket = state_->gate.enter();
    if (!ticket) {
      answer_now(state_->gate.stopping_response());
      return false;
    }
    if (!parser_->is_done() && buffer_.size() == 0 && expects_continue(*parser_)) {
      Slot interim;
      interim.seq = next_seq_++;
      interim.ready = true;
      interim.head = std::string(continue_head);
      slots_.push_back(std::move(interim));
    }
    Slot slot;
    slot.seq = next_seq_++;
    slot.ticket = std::move(ticket);
    current_ = slot.seq;
    slots_.push_back(std::move(slot));
    parser_->eager(true);
    body_deadline_ = Clock::now() + options_.idle_timeout;
    write_next();
    return true;
  }

  /// A request the parser rejected: answered, and the connection ends (its
  /// framing is lost).
  void refuse(error_code ec) {
    if (ec == http::error::header_limit) {
      answer_now(state_->gate.transport_error(431, "Request header fields too large"));
    } else if (ec == http::error::body_limit) {
      answer_now(state_->gate.body_too_large());
    } else {
      answer_now(state_->gate.transport_error(400, "Bad request"));
    }
  }

  /// Answers the request being read with `response` and reads no more.
  void answer_now(Response response) {
    parser_.reset();
    no_more_requests_ = true;
    Slot* slot = current_ ? find(*current_) : nullptr;
    current_.reset();
    if (slot == nullptr) {
      Slot fresh;
      fresh.seq = next_seq_++;
      slots_.push_back(std::move(fresh));
      slot = &slots_.back();
    }
    slot->close = true;
    fill(*slot, std::move(response));
    write_next();
  }

  /// Hands a complete request to the core.
  void dispatch() {
    auto message = parser_->release();
    parser_.reset();
    Slot* slot = current_ ? find(*current_) : nullptr;
    current_.reset();
    if (slot == nullptr) {
      return;  // cannot happen: on_header queued it
    }
    slot->head_only = message.method() == http::verb::head;
    slot->version = message.version();
    slot->keep_alive = message.keep_alive();
    if (!slot->keep_alive) {
      no_more_requests_ = true;
    }
    const auto raw_target = message.target();
    auto target = split_target(std::string_view(raw_target.data(), raw_target.size()));
    if (!target) {
      fill(*slot, state_->gate.transport_error(400, "Invalid request target"));
      write_next();
      return;
    }
    Request request;
    const auto method = message.method_string();
    request.method.assign(method.data(), method.size());
    request.path = std::move(target->path);
    request.query = std::move(target->query);
    for (const auto& field : message) {
      const auto name = field.name_string();
      const auto value = field.value();
      request.headers.add(std::string(name.data(), name.size()),
                          std::string(value.data(), value.size()));
    }
    request.body = std::move(message.body());
    request.remote_address = remote_;

    const std::uint64_t seq = slot->seq;
    auto self = this->shared_from_this();
    Responder respond(
        [self, seq](Response response) {
          if (t_dispatching == self.get()) {
            // Inline, on this connection's strand: dispatch() takes it.
            self->inline_answers_.emplace_back(seq, std::move(response));
            return;
          }
          auto& state = *self->state_;
          auto executor = self->executor_;
          state.post(executor,
                     [self = std::move(self), seq, response = std::move(response)]() mutable {
                       self->on_response(seq, std::move(response));
                     });
        },
        [self, seq] {
          // The core answers every request; in case a responder is dropped.
          auto& state = *self->state_;
          auto executor = self->executor_;
          state.post(executor, [self, seq] {
            self->on_response(seq,
                              self->state_->gate.transport_error(500, "Internal server error"));
          });
        });
    bool handled = false;
    {
      DispatchScope scope(this);
      handled = state_->gate.handle(std::move(request), std::move(respond));
    }
    if (!handled) {
      on_response(seq, state_->gate.stopping_response());
    }
    take_inline_answers();
  }

  /// The answers the core gave inline during dispatch().
  void take_inline_answers() {
    while (!inline_answers_.empty()) {
      auto answers = std::move(inline_answers_);
      inline_answers_.clear();
      for (auto& [seq, response] : answers) {
        on_response(seq, std::move(response));
      }
    }
  }

  // ---- answers -----------------------------------------------------------

  Slot* find(std::uint64_t seq) {
    for (auto& slot : slots_) {
      if (slot.seq == seq) {
        return &slot;
      }
    }
    return nullptr;
  }

  void fill(Slot& slot, Response response) {
    HeadOptions head;
    head.content_length = response.body.size();
    head.close = slot.close || !slot.keep_alive;
    head.keep_alive_10 = !head.close && slot.version < 11;
    slot.close = head.close;
    slot.head = response_head(response, head);
    if (!slot.head_only) {
      slot.body = std::move(response.body);
    }
    slot.ready = true;
  }

  void on_response(std::uint64_t seq, Response response) {
    Slot* slot = closed_ ? nullptr : find(seq);
    if (slot == nullptr || slot->ready) {
      // The connection is gone (or already answered): an event stream that
      // nobody will read ends at once.
      if (response.event_stream) {
        response.event_stream->close();
      }
      return;
    }
    if (response.event_stream) {
      std::shared_ptr<SseStream> stream = std::move(response.event_stream);
      if (state_->gate.add_stream(stream)) {
        HeadOptions head;
        head.framing = slot->version >= 11 ? Framing::chunked : Framing::close;
        slot->head = response_head(response, head);
        slot->stream = std::move(stream);
        slot->ready = true;
        write_next();
        return;
      }
      response = state_->gate.stopping_response();  // add_stream closed it
    }
    fill(*slot, std::move(response));
    write_next();
  }

  void write_next() {
    if (writing_ || closed_ || lingering_) {
      return;
    }
    if (sse_) {
      sse_write();
      return;
    }
    if (slots_.empty()) {
      if (no_more_requests_) {
        end_connection();
      }
      return;
    }
    Slot& slot = slots_.front();
    if (!slot.ready) {
      return;
    }
    writing_ = true;
    write_deadline_ = Clock::now() + options_.idle_timeout;
    if constexpr (!tls) {
      if (write_now(slot)) {
        on_written(error_code());
        return;
      }
    }
    std::array<net::const_buffer, 2> buffers{net::buffer(slot.head), net::buffer(slot.body)};
    net::async_write(
        stream_, buffers,
        [self = this->shared_from_this()](error_code ec, std::size_t) { self->on_written(ec); });
    update_deadline();
  }

  /// Plain TCP: the answer goes out at once when the socket takes it whole,
  /// the usual case, with no asynchronous operation and no completion to
  /// queue (which would also wake another I/O thread to run it). What the
  /// socket does not take is left to async_write; so is an error, which it
  /// meets again and reports.
  bool write_now(Slot& slot) {
    std::array<net::const_buffer, 2> buffers{net::buffer(slot.head), net::buffer(slot.body)};
    error_code ec;
    const std::size_t written = stream_.write_some(buffers, ec);
    if (ec) {
      return false;
    }
    if (written == slot.head.size() + slot.body.size()) {
      return true;
    }
    const std::size_t from_head = std::min(written, slot.head.size());
    slot.head.erase(0, from_head);
    slot.body.erase(0, written - from_head);
    return false;
  }

  void on_written(error_code ec) {
    writing_ = false;
    if (closed_) {
      return;
    }
    if (ec) {
      close_now();
      return;
    }
    Slot done = std::move(slots_.front());
    slots_.erase(slots_.begin());
    if (done.stream) {
      start_stream(std::move(done));
      return;
    }
    if (done.close) {
      no_more_requests_ = true;
    }
    done.ticket.reset();  // the answer is out
    if (slots_.empty() && !parser_) {
      idle_deadline_ = Clock::now() + options_.idle_timeout;
    }
    if (!reading_ && !parsing_) {
      parse();  // reading may have paused for the pipeline
    }
    write_next();
    update_deadline();
  }

  // ---- event streams -----------------------------------------------------

  /// The headers of GET /sse are out: the connection now only streams.
  void start_stream(Slot slot) {
    sse_ = std::move(slot.stream);
    sse_ticket_ = std::move(slot.ticket);
    sse_chunked_ = slot.version >= 11;
    no_more_requests_ = true;
    parser_.reset();
    current_.reset();
    // Requests sent after GET /sse are never answered: the stream lasts as
    // long as the connection.
    clear_slots();
    std::weak_ptr<Connection> weak = this->shared_from_this();
    SseStream::Transport transport;
    transport.wake = [weak] {
      if (auto self = weak.lock()) {
        auto& state = *self->state_;
        auto executor = self->executor_;
        state.post(executor, [self = std::move(self)] { self->sse_write(); });
      }
    };
    transport.unread_bytes = [unread = unread_] { return unread->load(std::memory_order_relaxed); };
    sse_->start(std::move(transport));
    sse_write();
    start_read();
    update_deadline();
  }

  /// Writes what the stream has, one write at a time.
  void sse_write() {
    if (closed_ || lingering_ || !sse_) {
      return;
    }
    if (writing_) {
      // Closed while the client does not even read what is being written
      // (the unread-bytes cap): nothing more will reach it. When the server
      // stops, the write in progress is let to finish instead.
      if (!sse_done_ && sse_->closed() && !state_->gate.stopping()) {
        close_now();
      }
      return;
    }
    if (sse_done_) {
      return;
    }
    std::string bytes = sse_->take();
    if (bytes.empty()) {
      if (sse_->closed()) {
        end_stream();
      }
      return;
    }
    chunk_head_ = sse_chunked_ ? chunk_line(bytes.size()) : std::string();
    out_ = std::move(bytes);
    unread_->store(out_.size() + chunk_head_.size(), std::memory_order_relaxed);
    writing_ = true;
    write_deadline_ = Clock::now() + options_.idle_timeout;
    const std::string_view tail = sse_chunked_ ? chunk_end : std::string_view();
    std::array<net::const_buffer, 3> buffers{net::buffer(chunk_head_), net::buffer(out_),
                                             net::buffer(tail.data(), tail.size())};
    net::async_write(stream_, buffers,
                     [self = this->shared_from_this()](error_code ec, std::size_t) {
                       self->on_stream_written(ec);
                     });
    update_deadline();
  }

  /// The stream is closed: end the body (the last chunk), then the connection.
  void end_stream() {
    sse_done_ = true;
    if (!sse_chunked_) {
      sse_ticket_.reset();
      end_connection();
      return;
    }
    chunk_head_.clear();
    out_.assign(last_chunk.data(), last_chunk.size());
    writing_ = true;
    write_deadline_ = Clock::now() + options_.idle_timeout;
    net::async_write(stream_, net::buffer(out_),
                     [self = this->shared_from_this()](error_code ec, std::size_t) {
                       self->on_stream_written(ec);
                     });
    update_deadline();
  }

  void on_stream_written(error_code ec) {
    writing_ = false;
    unread_->store(0, std::memory_order_relaxed);
    std::string().swap(out_);  // the bytes are the client's now
    if (closed_) {
      return;
    }
    if (ec) {
      close_now();
      return;
    }
    if (sse_done_) {
      sse_ticket_.reset();
      end_connection();
      return;
    }
    sse_write();
    update_deadline();
  }

  // ---- ending --------------------------------------------------------------

  /// After the last answer: stop sending, drain what the client still sends
  /// for a moment, then close.
  void end_connection() {
    if (closed_ || lingering_) {
      return;
    }
    if (read_closed_) {
      close_now();
      return;
    }
    lingering_ = true;
    clear_slots();
    parser_.reset();
    current_.reset();
    error_code ignored;
    boost::beast::get_lowest_layer(stream_).shutdown(tcp::socket::shutdown_send, ignored);
    linger_deadline_ = Clock::now() + linger_time;
    if (!reading_) {
      start_read();
    }
    update_deadline();
  }

  void close_now() {
    if (closed_) {
      return;
    }
    closed_ = true;
    error_code ignored;
    boost::beast::get_lowest_layer(stream_).close(ignored);
    timer_.cancel();
    release();
  }

  /// What a closed connection gives back: its event stream (and with it the
  /// user's session), its tickets, its place in the counts.
  void release() {
    if (sse_) {
      auto stream = std::move(sse_);
      stream->close();
    }
    sse_ticket_.reset();
    clear_slots();
    parser_.reset();
    if (registered_) {
      registered_ = false;
      state_->remove_connection(id_);
    }
    if (counted_) {
      counted_ = false;
      state_->connections.fetch_sub(1);
    }
  }

  void clear_slots() {
    std::vector<Slot> slots;
    slots.swap(slots_);
    for (auto& slot : slots) {
      if (slot.stream) {
        slot.stream->close();
      }
    }
  }

  // ---- deadlines -----------------------------------------------------------

  /// The earliest deadline that applies to what the connection waits for.
  void update_deadline() {
    if (closed_) {
      return;
    }
    Clock::time_point deadline = never;
    auto consider = [&](Clock::time_point t) { deadline = std::min(deadline, t); };
    if (lingering_) {
      consider(linger_deadline_);
    } else if (!handshaken_) {
      consider(header_deadline_);
    } else {
      if (writing_) {
        consider(write_deadline_);
      }
      if (!sse_) {
        if (parser_) {
          if (slots_.size() < max_pipelined) {  // else reading has paused
            consider(parser_->is_header_done() ? body_deadline_ : header_deadline_);
          }
        } else if (slots_.empty() && !writing_ && !no_more_requests_) {
          consider(first_request_ ? header_deadline_ : idle_deadline_);
        }
      }
    }
    set_deadline(deadline);
  }

  /// One timer serves every deadline: a wait already pending that fires
  /// earlier than needed re-arms itself for the current deadline.
  void set_deadline(Clock::time_point deadline) {
    deadline_ = deadline;
    if (deadline == never || (timer_waits_ > 0 && armed_ <= deadline)) {
      return;
    }
    arm(deadline);
  }

  void arm(Clock::time_point at) {
    armed_ = at;
    timer_.expires_at(at);  // cancels a wait that was pending
    ++timer_waits_;
    timer_.async_wait([self = this->shared_from_this()](error_code ec) { self->on_timer(ec); });
  }

  void on_timer(error_code ec) {
    --timer_waits_;
    if (closed_ || ec == net::error::operation_aborted || deadline_ == never) {
      return;
    }
    if (Clock::now() >= deadline_) {
      close_now();  // header, idle, body, write or linger timeout
      return;
    }
    if (timer_waits_ == 0) {
      arm(deadline_);
    }
  }

  // ---- members -------------------------------------------------------------

  std::shared_ptr<ServerState> state_;
  const ServerOptions& options_;
  Stream stream_;
  net::any_io_executor executor_;  ///< the connection's strand
  net::steady_timer timer_;
  const std::string remote_;

  std::uint64_t id_ = 0;
  bool registered_ = false;
  bool counted_ = true;  ///< the listener counted it in state->connections

  boost::beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<std::uint64_t> current_;  ///< the slot of the request being read
  std::vector<Slot> slots_;
  std::uint64_t next_seq_ = 0;
  /// Answers given inline by the core (see t_dispatching), by request.
  std::vector<std::pair<std::uint64_t, Response>> inline_answers_;

  bool handshaken_ = false;
  bool reading_ = false;
  bool parsing_ = false;  ///< inside parse()
  bool writing_ = false;
  bool read_closed_ = false;       ///< the client will send nothing more
  bool no_more_requests_ = false;  ///< answer what is queued, then end
  bool lingering_ = false;
  bool closed_ = false;
  bool first_request_ = true;
  std::size_t lingered_ = 0;

  std::shared_ptr<SseStream> sse_;
  std::optional<ServingGate::Ticket> sse_ticket_;
  bool sse_chunked_ = true;
  bool sse_done_ = false;  ///< the last chunk is written or being written
  std::string chunk_head_;
  std::string out_;  ///< the stream's bytes being written
  /// The size of the write in progress, which the stream counts as unread.
  std::shared_ptr<std::atomic<std::size_t>> unread_;

  Clock::time_point header_deadline_ = never;
  Clock::time_point body_deadline_ = never;
  Clock::time_point write_deadline_ = never;
  Clock::time_point idle_deadline_ = never;
  Clock::time_point linger_deadline_ = never;
  Clock::time_point deadline_ = never;  ///< the one that applies now
  Clock::time_point armed_ = never;     ///< the expiry of the latest wait
  int timer_waits_ = 0;
};

}  // namespace

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
    std::make_shared<Connection<TlsStream>>(state, std::move(remote), std::move(socket),
                                            *state->tls)
        ->start();
  } else {
    std::make_shared<Connection<tcp::socket>>(state, std::move(remote), std::move(socket))->start();
  }
}

}  // namespace mimrest::beast::detail
