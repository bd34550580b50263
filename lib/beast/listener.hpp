// Accepts connections on its own strand, within max_connections and the
// process's descriptors, and forgets closed event streams now and then.
#pragma once

#include <memory>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include "beast/state.hpp"

namespace mimrest::beast::detail {

/// A connection that finds no room is served anyway when an older one can
/// go (ConnectionList::shed_oldest): at max_connections, one still waiting
/// for its headers; out of descriptors (EMFILE, ENFILE), one idle as well.
/// Never one with a request in flight or an event stream. When none can go,
/// the new connection is closed at once (at the cap) or left in the backlog
/// while accepting pauses (out of descriptors): never a busy loop.
class Listener : public std::enable_shared_from_this<Listener> {
 public:
  explicit Listener(std::shared_ptr<ServerState> state);

  boost::asio::ip::tcp::acceptor& acceptor() { return acceptor_; }

  /// Starts accepting; call once the acceptor listens.
  void start();
  /// Stops accepting and pruning; returns once done.
  void close();

 private:
  void accept();
  void on_accept(boost::system::error_code ec, boost::asio::ip::tcp::socket socket);
  /// Out of descriptors: accepts again once a shed connection has given its
  /// descriptor back, or after a pause.
  void wait_for_descriptor(bool shed);
  void on_shed();
  void prune_later();

  std::shared_ptr<ServerState> state_;
  net::strand<net::io_context::executor_type> strand_;
  net::ip::tcp::acceptor acceptor_;
  net::steady_timer backoff_;
  net::steady_timer pruner_;
  bool accepting_ = false;  ///< an accept is pending
  bool waiting_ = false;    ///< for a descriptor
  bool closing_ = false;
};

}  // namespace mimrest::beast::detail
