// One connection once the head of a GET /sse answer is out: it takes the
// socket over from the HTTP session and only streams. It writes what the
// SseStream has, one write at a time (the bytes in flight count as unread
// for the stream's cap), sends a keepalive every ApiConfig's interval, reads
// only to see the client leave, and ends with the last chunk.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include "beast/connections.hpp"
#include "beast/deadline.hpp"
#include "beast/state.hpp"
#include "mimrest/serving.hpp"
#include "mimrest/sse.hpp"

namespace mimrest::beast::detail {

/// Stream: net::ip::tcp::socket or TlsStream (http_session.hpp).
template <class Stream>
class SseSession final : public Closable, public std::enable_shared_from_this<SseSession<Stream>> {
 public:
  /// `chunked`: the response is in chunked coding (else an HTTP/1.0 client:
  /// the stream ends with the connection).
  SseSession(std::shared_ptr<ServerState> state, std::unique_ptr<Stream> socket,
             Registration registration, std::shared_ptr<SseStream> stream,
             std::optional<ServingGate::Ticket> ticket, bool chunked);
  ~SseSession() override;
  SseSession(const SseSession&) = delete;
  SseSession& operator=(const SseSession&) = delete;

  /// Starts streaming. `read_pending`: a read the HTTP session started is
  /// still pending; continue_read() follows when it completes.
  void start(bool read_pending);
  void continue_read(boost::system::error_code ec);
  void shut() override;
  /// A Deadline has passed: write or linger timeout.
  void timed_out() { close_now(); }

 private:
  enum class State : std::uint8_t {
    streaming,  ///< writing what the stream has
    ending,     ///< the stream is closed: the last chunk goes out
    lingering,  ///< all is out, the send side shut: the client's bytes are dropped for a moment
    closed,
  };

  void read();
  void on_read(boost::system::error_code ec, std::size_t count);
  void write();
  void on_written(boost::system::error_code ec);
  void end_stream();
  void end_connection();
  void close_now();
  void tick_later();

  const std::shared_ptr<ServerState> server_;
  std::unique_ptr<Stream> socket_;
  const net::any_io_executor executor_;
  /// Before registration_, which reads it as it goes.
  std::atomic<Activity> activity_{Activity::streaming};
  Registration registration_;
  std::shared_ptr<SseStream> stream_;
  std::optional<ServingGate::Ticket> ticket_;  ///< released once the last chunk is out
  const bool chunked_;
  State state_ = State::streaming;

  bool read_pending_ = false;
  bool write_pending_ = false;
  Deadline read_deadline_;  ///< lingering only: the stream itself has no read timeout
  Deadline write_deadline_;
  net::steady_timer ticker_;  ///< keepalives
  std::size_t lingered_ = 0;
  boost::beast::flat_buffer buffer_;
  std::string chunk_head_;
  std::string out_;  ///< the stream's bytes being written
  /// The size of the write in progress, which the stream counts as unread.
  std::shared_ptr<std::atomic<std::size_t>> unread_;
};

}  // namespace mimrest::beast::detail
