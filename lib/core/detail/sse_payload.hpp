// Internal: the part of an SSE event that is the same for every stream a
// stanza goes to ("event: NAME\ndata: JSON\n\n"), computed once per
// RoutedStanza and timestamp unit.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "mimrest/api_config.hpp"
#include "mimrest/backend/sessions.hpp"

namespace mimrest {

struct RoutedStanza::Derived {
  std::once_flag once[2];
  /// By TimestampUnit; null when the stanza is not pushed (not a chat or
  /// groupchat message, or malformed).
  std::shared_ptr<const std::string> payload[2];
};

namespace detail {

/// The shared event body of `stanza` for `unit`, converting it on first use
/// with the timestamp `now_us()` (in microseconds, converted to `unit`).
std::shared_ptr<const std::string> sse_payload(const RoutedStanza& stanza, TimestampUnit unit,
                                               const std::function<std::int64_t()>& now_us);

/// The same for an archived stanza replayed with its archive time.
std::shared_ptr<const std::string> sse_payload(std::string_view stanza_xml, TimestampUnit unit,
                                               std::int64_t timestamp_us);

}  // namespace detail
}  // namespace mimrest
