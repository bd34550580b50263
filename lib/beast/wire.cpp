// Listen URLs, request targets, response heads and chunk framing.
#include "beast/wire.hpp"

#include <charconv>
#include <cstdint>
#include <ostream>  // Boost 1.74's string_view needs it before Beast

#include <boost/beast/http/status.hpp>

#include "mimrest/serving.hpp"

namespace mimrest::beast::detail {
namespace {

bool is_digits(std::string_view text) {
  if (text.empty()) {
    return false;
  }
  for (char c : text) {
    if (c < '0' || c > '9') {
      return false;
    }
  }
  return true;
}

bool starts_with_nocase(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && iequals(text.substr(0, prefix.size()), prefix);
}

// RFC 7230 token characters, as a field name must have.
bool is_token_char(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
    return true;
  }
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool sendable(std::string_view name, std::string_view value) {
  if (name.empty()) {
    return false;
  }
  for (char c : name) {
    if (!is_token_char(c)) {
      return false;
    }
  }
  for (char c : value) {
    if (c == '\r' || c == '\n' || c == '\0') {
      return false;
    }
  }
  return true;
}

void add_field(std::string& head, std::string_view name, std::string_view value) {
  head += name;
  head += ": ";
  head += value;
  head += "\r\n";
}

}  // namespace

Expected<ListenUrl, std::string> parse_listen_url(std::string_view url) {
  const std::string quoted = "listen URL '" + std::string(url) + "'";
  ListenUrl out;
  std::string_view rest;
  if (starts_with_nocase(url, "http://")) {
    rest = url.substr(7);
  } else if (starts_with_nocase(url, "https://")) {
    out.tls = true;
    rest = url.substr(8);
  } else {
    return unexpected(quoted + " must start with http:// or https://");
  }
  // Only the root path: the base path of the API is the Api's business.
  const auto slash = rest.find('/');
  if (slash != std::string_view::npos) {
    if (rest.substr(slash) != "/") {
      return unexpected(quoted + " must not have a path (the API's base path is configured apart)");
    }
    rest = rest.substr(0, slash);
  }
  if (rest.find_first_of("?#@") != std::string_view::npos) {
    return unexpected(quoted + " must be scheme://host[:port]");
  }
  std::string_view port;
  if (!rest.empty() && rest.front() == '[') {
    const auto close = rest.find(']');
    if (close == std::string_view::npos) {
      return unexpected(quoted + " has an unterminated IPv6 address");
    }
    out.host = std::string(rest.substr(1, close - 1));
    const auto after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        return unexpected(quoted + " has text after the IPv6 address");
      }
      port = after.substr(1);
      if (port.empty()) {
        return unexpected(quoted + " has an empty port");
      }
    }
  } else {
    const auto colon = rest.find(':');
    out.host = std::string(rest.substr(0, colon));
    if (colon != std::string_view::npos) {
      port = rest.substr(colon + 1);
      if (port.empty()) {
        return unexpected(quoted + " has an empty port");
      }
    }
  }
  if (out.host.empty()) {
    return unexpected(quoted + " has no host");
  }
  if (port.empty()) {
    out.port = out.tls ? "443" : "80";
  } else {
    unsigned value = 0;
    const auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (!is_digits(port) || error != std::errc() || end != port.data() + port.size() ||
        value > 65535) {
      return unexpected(quoted + " has an invalid port");
    }
    out.port = std::to_string(value);
  }
  return out;
}

std::string server_url(const ListenUrl& url, unsigned short port) {
  std::string out = url.tls ? "https://" : "http://";
  if (url.host.find(':') != std::string::npos) {
    out += "[" + url.host + "]";
  } else {
    out += url.host;
  }
  out += ":" + std::to_string(port);
  return out;
}

std::optional<Target> split_target(std::string_view target) {
  if (target.empty()) {
    return std::nullopt;
  }
  if (target.front() != '/') {
    // absolute-form, which a server must accept (RFC 7230 5.3.2): drop the
    // scheme and authority.
    std::string_view rest;
    if (starts_with_nocase(target, "http://")) {
      rest = target.substr(7);
    } else if (starts_with_nocase(target, "https://")) {
      rest = target.substr(8);
    } else {
      return std::nullopt;
    }
    const auto path = rest.find_first_of("/?");
    if (path == std::string_view::npos) {
      target = "/";
    } else if (rest[path] == '?') {
      Target out;
      out.path = "/";
      out.query = std::string(rest.substr(path + 1));
      return out;
    } else {
      target = rest.substr(path);
    }
  }
  Target out;
  const auto question = target.find('?');
  out.path = std::string(target.substr(0, question));
  if (question != std::string_view::npos) {
    out.query = std::string(target.substr(question + 1));
  }
  return out;
}

std::string response_head(const Response& response, const HeadOptions& options) {
  namespace http = boost::beast::http;
  std::string head;
  head.reserve(256);
  head += "HTTP/1.1 ";
  head += std::to_string(response.status);
  head += ' ';
  const auto status = http::int_to_status(static_cast<unsigned>(response.status));
  if (status == http::status::unknown) {
    head += "Unknown";
  } else {
    const auto reason = http::obsolete_reason(status);
    head.append(reason.data(), reason.size());
  }
  head += "\r\n";
  for (const auto& [name, value] : response.headers) {
    if (!is_transport_header(name) && sendable(name, value)) {
      add_field(head, name, value);
    }
  }
  const bool bodiless = (response.status >= 100 && response.status < 200) ||
                        response.status == 204 || response.status == 304;
  switch (options.framing) {
    case Framing::length:
      if (!bodiless) {
        add_field(head, "Content-Length", std::to_string(options.content_length));
      }
      break;
    case Framing::chunked:
      add_field(head, "Transfer-Encoding", "chunked");
      break;
    case Framing::close:
      break;
  }
  if (options.close || options.framing == Framing::close) {
    add_field(head, "Connection", "close");
  } else if (options.keep_alive_10) {
    add_field(head, "Connection", "keep-alive");
  }
  head += "\r\n";
  return head;
}

std::string chunk_line(std::size_t size) {
  char digits[2 * sizeof(std::size_t) + 2];
  const auto [end, error] = std::to_chars(digits, digits + sizeof digits - 2, size, 16);
  (void)error;
  std::string out(digits, end);
  out += "\r\n";
  return out;
}

}  // namespace mimrest::beast::detail
