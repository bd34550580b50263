// What the Beast transport writes and reads besides Beast's own parser: the
// listen URL, request targets, response heads and chunk framing. No sockets
// here.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "mimrest/expected.hpp"
#include "mimrest/http.hpp"

namespace mimrest::beast::detail {

struct ListenUrl {
  bool tls = false;
  std::string host;  ///< without the brackets of an IPv6 literal
  std::string port;  ///< digits; "0" picks a free port
};

/// http://host[:port][/] or https://...; an error text otherwise.
Expected<ListenUrl, std::string> parse_listen_url(std::string_view url);

/// The URL a server listening on `url`'s host and `port` is reached at.
std::string server_url(const ListenUrl& url, unsigned short port);

struct Target {
  std::string path;   ///< still percent-encoded
  std::string query;  ///< without the '?'
};

/// The path and query of an origin-form target ("/a/b?q") or of an
/// absolute-form one ("http://host/a/b?q"); nullopt for any other form
/// (authority-form, "*").
std::optional<Target> split_target(std::string_view target);

/// How a response body is delimited on the wire.
enum class Framing {
  length,   ///< Content-Length (the body may still be left out: HEAD)
  chunked,  ///< Transfer-Encoding: chunked (an event stream)
  close,    ///< the connection's end (an event stream to an HTTP/1.0 client)
};

struct HeadOptions {
  Framing framing = Framing::length;
  std::size_t content_length = 0;  ///< for Framing::length
  /// Connection: close (the connection ends after this response).
  bool close = false;
  /// Connection: keep-alive, which an HTTP/1.0 client needs to keep it open.
  bool keep_alive_10 = false;
};

/// The status line and header block of `response`, ending with the empty
/// line. Transport headers of the response (is_transport_header) and fields
/// that could not be sent as they are (a CR or LF, an empty or bad name) are
/// left out; the framing fields come from `options`.
std::string response_head(const Response& response, const HeadOptions& options);

/// "100 Continue", sent before reading a body the client holds back.
constexpr std::string_view continue_head = "HTTP/1.1 100 Continue\r\n\r\n";

/// The line that opens a chunk of `size` bytes ("1a2\r\n").
std::string chunk_line(std::size_t size);
constexpr std::string_view chunk_end = "\r\n";
constexpr std::string_view last_chunk = "0\r\n\r\n";

}  // namespace mimrest::beast::detail
