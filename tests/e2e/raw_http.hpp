// Raw HTTP/1.1 over plain sockets for the end-to-end tests: what an HTTP
// client library hides (pipelining, half-sent headers, connections that
// never read) with every wait bounded by a timeout.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>

#include "mimrest/crypto.hpp"

namespace raw {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

inline std::string basic(const std::string& user, const std::string& password) {
  return "Basic " + mimrest::base64_encode(user + ":" + password);
}

inline std::string lower(std::string text) {
  for (auto& c : text) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return text;
}

/// The port of "scheme://host:port".
inline int port_of(const std::string& url) {
  return std::stoi(url.substr(url.rfind(':') + 1));
}

struct Response {
  int status = 0;
  std::map<std::string, std::string> headers;  ///< names in lower case
  std::string body;                            ///< de-chunked

  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
  bool has_header(const std::string& name) const { return headers.count(name) != 0; }
};

/// Takes one complete response off the front of `buffer` (Content-Length or
/// chunked; no body for `head_request`, 1xx, 204, 304); nullopt while it is
/// incomplete. Throws on bytes that are not a response.
inline std::optional<Response> take_response(std::string& buffer, bool head_request = false) {
  const auto end_of_head = buffer.find("\r\n\r\n");
  if (end_of_head == std::string::npos) {
    return std::nullopt;
  }
  Response response;
  if (buffer.compare(0, 9, "HTTP/1.1 ") != 0 || buffer.size() < 12) {
    throw std::runtime_error("not an HTTP/1.1 response: " + buffer.substr(0, 64));
  }
  response.status = std::stoi(buffer.substr(9, 3));
  std::size_t line = buffer.find("\r\n") + 2;
  while (line < end_of_head) {
    const auto line_end = buffer.find("\r\n", line);
    const auto colon = buffer.find(':', line);
    if (colon == std::string::npos || colon > line_end) {
      throw std::runtime_error("bad header line");
    }
    std::string value = buffer.substr(colon + 1, line_end - colon - 1);
    while (!value.empty() && value.front() == ' ') {
      value.erase(0, 1);
    }
    response.headers[lower(buffer.substr(line, colon - line))] = value;
    line = line_end + 2;
  }
  std::size_t at = end_of_head + 4;
  const bool bodiless = head_request || response.status / 100 == 1 || response.status == 204 ||
                        response.status == 304;
  if (!bodiless && lower(response.header("transfer-encoding")) == "chunked") {
    while (true) {
      const auto size_end = buffer.find("\r\n", at);
      if (size_end == std::string::npos) {
        return std::nullopt;
      }
      const std::size_t size = std::stoul(buffer.substr(at, size_end - at), nullptr, 16);
      if (buffer.size() < size_end + 2 + size + 2) {
        return std::nullopt;
      }
      response.body.append(buffer, size_end + 2, size);
      at = size_end + 2 + size + 2;
      if (size == 0) {
        break;
      }
    }
  } else if (!bodiless && response.has_header("content-length")) {
    const std::size_t length = std::stoul(response.header("content-length"));
    if (buffer.size() < at + length) {
      return std::nullopt;
    }
    response.body = buffer.substr(at, length);
    at += length;
  }
  buffer.erase(0, at);
  return response;
}

/// A blocking loopback TCP client with a receive buffer.
class Connection {
 public:
  /// `receive_buffer` > 0 sets SO_RCVBUF before connecting (a client that
  /// does not read then stalls the server's writes early).
  explicit Connection(int port, int receive_buffer = 0) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) {
      throw std::runtime_error("socket failed");
    }
    if (receive_buffer > 0) {
      ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
    }
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      ::close(fd_);
      throw std::runtime_error("connect failed");
    }
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  ~Connection() { close(); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  int fd() const { return fd_; }

  /// Sends every byte (false when the server has closed or reset).
  bool send(std::string_view bytes) {
    std::size_t sent = 0;
    while (sent < bytes.size()) {
      const ssize_t count = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (count < 0 && errno == EINTR) {
        continue;
      }
      if (count <= 0) {
        return false;
      }
      sent += static_cast<std::size_t>(count);
    }
    return true;
  }

  /// Reads what arrives until `until(received())` holds, the connection
  /// ends or `timeout` passes; whether `until` held.
  template <class Predicate>
  bool read_until(Predicate until, std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (!until(received_)) {
      if (ended_ || !read_some(deadline)) {
        return until(received_);
      }
    }
    return true;
  }

  bool read_until_contains(std::string_view text, std::chrono::milliseconds timeout) {
    return read_until([&](const std::string& got) { return got.find(text) != std::string::npos; },
                      timeout);
  }

  /// The next response on the connection (nullopt on timeout or end).
  std::optional<Response> response(std::chrono::milliseconds timeout = 5s,
                                   bool head_request = false) {
    const auto deadline = Clock::now() + timeout;
    while (true) {
      if (auto response = take_response(received_, head_request)) {
        return response;
      }
      if (ended_ || !read_some(deadline)) {
        return std::nullopt;
      }
    }
  }

  /// Whether the server closes the connection (EOF or reset) within
  /// `timeout`; what arrives meanwhile is kept.
  bool closed_within(std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (!ended_) {
      if (!read_some(deadline)) {
        return ended_;
      }
    }
    return true;
  }

  std::string& received() { return received_; }
  bool ended() const { return ended_; }

  void close() {
    if (fd_ >= 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }

 private:
  /// One read; false on timeout. Sets ended_ on EOF or error.
  bool read_some(Clock::time_point deadline) {
    while (true) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) {
        return false;
      }
      pollfd p{fd_, POLLIN, 0};
      const int ready = ::poll(&p, 1, static_cast<int>(left));
      if (ready < 0 && errno == EINTR) {
        continue;
      }
      if (ready <= 0) {
        return false;
      }
      char buffer[16384];
      const ssize_t count = ::recv(fd_, buffer, sizeof buffer, 0);
      if (count < 0 && errno == EINTR) {
        continue;
      }
      if (count <= 0) {
        ended_ = true;
        return true;
      }
      received_.append(buffer, static_cast<std::size_t>(count));
      return true;
    }
  }

  int fd_ = -1;
  std::string received_;
  bool ended_ = false;
};

/// A request with the usual fields; `extra` is inserted as is (each line
/// ending with CRLF).
inline std::string request(const std::string& method, const std::string& target,
                           const std::string& auth = {}, const std::string& body = {},
                           const std::string& extra = {}) {
  std::string out = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  if (!auth.empty()) {
    out += "Authorization: " + auth + "\r\n";
  }
  if (!body.empty()) {
    out +=
        "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  }
  out += extra;
  out += "\r\n";
  out += body;
  return out;
}

/// Polls `condition` until it holds or the timeout passes.
template <class Condition>
bool eventually(Condition condition, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!condition()) {
    if (Clock::now() > deadline) {
      return false;
    }
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

}  // namespace raw
