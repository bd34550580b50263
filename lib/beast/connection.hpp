// One accepted TCP connection, plain or TLS: reads requests with Beast's
// parser, hands them to the Api through the gate, writes the answers in
// request order, and streams GET /sse.
#pragma once

#include <memory>

#include <boost/asio/ip/tcp.hpp>

#include "beast/state.hpp"

namespace mimrest::beast::detail {

/// Serves `socket` (bound to a strand of its own) until either side ends it.
/// The caller has counted it in state->connections; the connection uncounts
/// itself when it closes.
void serve_connection(const std::shared_ptr<ServerState>& state,
                      boost::asio::ip::tcp::socket socket);

}  // namespace mimrest::beast::detail
