// Transport-neutral HTTP request and response values. An adapter copies its
// server's request into a Request, calls Api::handle and copies the Response
// back; nothing here knows about sockets.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mimrest/export.hpp"

namespace mimrest {

class SseStream;

/// Header fields in arrival order; names compare case-insensitively.
class MIMREST_EXPORT Headers {
 public:
  using Field = std::pair<std::string, std::string>;

  /// The first value of `name`, if present.
  std::optional<std::string_view> get(std::string_view name) const;
  /// Replaces every field called `name` with one field.
  void set(std::string name, std::string value);
  /// Appends a field (keeps existing ones).
  void add(std::string name, std::string value);
  bool contains(std::string_view name) const { return get(name).has_value(); }

  const std::vector<Field>& fields() const noexcept { return fields_; }
  auto begin() const noexcept { return fields_.begin(); }
  auto end() const noexcept { return fields_.end(); }

 private:
  std::vector<Field> fields_;
};

/// ASCII case-insensitive equality, as header names and auth schemes need.
MIMREST_EXPORT bool iequals(std::string_view a, std::string_view b) noexcept;

struct MIMREST_EXPORT Request {
  std::string method;  ///< "GET", "POST", ... (upper case)
  std::string path;    ///< still percent-encoded, without the query
  std::string query;   ///< after '?', without it; empty when there is none
  Headers headers;
  std::string body;
  /// The client's IP address as the adapter saw it ("127.0.0.1", "::1"),
  /// without the port; empty when unknown. Failed logins are counted by it.
  std::string remote_address;
};

struct MIMREST_EXPORT Response {
  int status = 200;
  Headers headers;
  std::string body;
  /// Set for an open server-sent-events stream (GET /sse): the adapter sends
  /// status and headers, then streams what the SseStream produces.
  std::shared_ptr<SseStream> event_stream;
};

}  // namespace mimrest
