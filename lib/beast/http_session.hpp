// One accepted connection while it carries requests and answers: Beast's
// parser over a small flat buffer, requests handed to the core through the
// gate, answers queued in request order (AnswerQueue). When the core answers
// with an event stream, the socket goes to an SseSession once the head of
// that answer is out.
//
// Everything of a session runs on its strand (the executor of its socket);
// the core's completions come from any thread and are posted there. A
// session lives as long as something holds it: a pending read, write or
// timer wait, a responder the core has not called yet, a posted handler.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
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

#include "beast/answer_queue.hpp"
#include "beast/connections.hpp"
#include "beast/deadline.hpp"
#include "beast/fast_path.hpp"
#include "beast/state.hpp"

namespace mimrest::beast::detail {

using TlsStream = net::ssl::stream<net::ip::tcp::socket>;

/// Serves `socket` (bound to a strand of its own) until either side ends it.
/// The session counts itself in state->connections while it lasts.
void serve_connection(const std::shared_ptr<ServerState>& state,
                      boost::asio::ip::tcp::socket socket);

template <class Stream>
class SseSession;

/// Stream: net::ip::tcp::socket or TlsStream.
template <class Stream>
class HttpSession final : public Closable,
                          public std::enable_shared_from_this<HttpSession<Stream>> {
 public:
  static constexpr bool tls = std::is_same_v<Stream, TlsStream>;

  HttpSession(std::shared_ptr<ServerState> state, std::string remote,
              std::unique_ptr<Stream> stream);
  HttpSession(const HttpSession&) = delete;
  HttpSession& operator=(const HttpSession&) = delete;

  /// Registers the connection and starts serving it.
  void start();
  void shut() override;
  /// A Deadline has passed: header, idle, body, write or linger timeout.
  void timed_out() { close_now(); }

 private:
  enum class State : std::uint8_t {
    handshake,    ///< TLS: the handshake runs, within the first header timeout
    open,         ///< reading requests and answering them in order
    closing,      ///< no more requests (Connection: close, an error answer):
                  ///< the queued answers go out, then it lingers
    finishing,    ///< the client has sent all it will (EOF after a request):
                  ///< the queued answers go out, then it closes
    lingering,    ///< the last answer is out, the send side shut: what the
                  ///< client still sends is dropped for a moment
    handed_over,  ///< the socket belongs to an SseSession now
    closed,
  };

  // Reading (http_session.cpp).
  void begin();
  void on_handshake(boost::system::error_code ec);
  void start_read();
  Deadline::Clock::time_point next_request_expiry() const;
  void on_read(boost::system::error_code ec, std::size_t count);
  void on_read_end(boost::system::error_code ec);
  void parse();
  void new_parser();
  bool on_header();
  void refuse(boost::system::error_code ec);
  void answer_now(Response response);
  void dispatch();
  Responder responder(std::uint64_t request);
  /// After something that happened off the read path (an answer posted, a
  /// write completed): reading goes on if it had paused.
  void resume();

  // Answering (http_answers.cpp).
  void on_response(std::uint64_t request, Response response);
  void write_next();
  void on_written(boost::system::error_code ec);
  void answer_out();
  void hand_over(Answer answer);
  void end_connection();
  void close_now();
  Activity activity() const;
  void publish_activity();

  const std::shared_ptr<ServerState> server_;
  const ServerOptions& options_;
  std::unique_ptr<Stream> stream_;
  const net::any_io_executor executor_;  ///< the connection's strand
  const std::string remote_;
  State state_ = tls ? State::handshake : State::open;
  std::atomic<Activity> activity_{Activity::waiting};
  Registration registration_;  ///< after activity_, which it reads as it goes

  bool read_pending_ = false;
  bool write_pending_ = false;
  Deadline read_deadline_;
  Deadline write_deadline_;
  /// When the headers of the request being read are due (the first
  /// request's: from the accept).
  Deadline::Clock::time_point header_deadline_;
  std::size_t lingered_ = 0;

  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  std::optional<std::uint64_t> current_;  ///< the answer of the request being read
  AnswerQueue queue_;
  FastPath fast_;
  /// Takes over the read left pending at the hand-over when it completes.
  std::shared_ptr<SseSession<Stream>> heir_;
};

}  // namespace mimrest::beast::detail
