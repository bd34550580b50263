// The sse group: GET /sse opens a live session that pushes the user's
// messages as server-sent events.
#include <chrono>
#include <memory>
#include <string>

#include "core/api/handlers.hpp"
#include "mimrest/crypto.hpp"
#include "mimrest/sse.hpp"

namespace mimrest::detail {

Response get_sse(const HandlerContext& context) {
  auto resource = "sse-" + random_uuid();
  auto full = Jid::from_parts(context.user.local(), context.user.domain(), resource);
  if (!full) {
    return error_response(500, "Cannot open a session");  // cannot happen: a UUID is valid
  }

  // The clock is copied: the stream may outlive the Api.
  auto now_us = context.config.now_us;
  TimestampUnit unit = context.config.sse_timestamp_unit;
  SseStream::Clock clock = [now_us, unit]() -> std::int64_t {
    std::int64_t us = now_us ? now_us()
                             : std::chrono::duration_cast<std::chrono::microseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count();
    return unit == TimestampUnit::milliseconds ? us / 1000 : us;
  };
  auto stream = std::make_shared<SseStream>(unit, std::move(clock));
  stream->hold_session(context.backend.sessions.open_session(*full, stream));

  Response response;
  response.status = 200;
  response.headers.set("Content-Type", "text/event-stream");
  response.headers.set("Cache-Control", "no-cache");
  response.event_stream = std::move(stream);
  return response;
}

}  // namespace mimrest::detail
