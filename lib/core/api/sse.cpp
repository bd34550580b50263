// The sse group: GET /sse opens a live session that pushes the user's
// messages as server-sent events; with resumable streams it first replays
// what the client missed after its Last-Event-ID.
#include <atomic>
#include <memory>
#include <string>

#include "core/api/call.hpp"
#include "core/api/query.hpp"
#include "mimrest/crypto.hpp"
#include "mimrest/sse.hpp"

namespace mimrest::detail {

namespace {

constexpr ApiError kInvalidLastEventId{400, "Invalid Last-Event-ID"};
constexpr ApiError kTooManyStreams{429, "Too many event streams"};

/// What the backend's session holds: a weak reference, so the stream (which
/// holds the session) is not kept alive by it, and a stream its transport
/// drops without close() is destroyed and ends its session.
class StreamSink final : public StanzaSink {
 public:
  explicit StreamSink(const std::shared_ptr<SseStream>& stream) : stream_(stream) {}
  void deliver(const RoutedStanzaPtr& stanza) override {
    if (auto stream = stream_.lock()) {
      stream->deliver(stanza);
    }
  }
  void end() override {
    if (auto stream = stream_.lock()) {
      stream->close();
    }
  }

 private:
  std::weak_ptr<SseStream> stream_;
};

bool resumable(const Call& call) {
  return call.config().sse.resume && call.has(&Backend::events);
}

/// The Last-Event-ID the client sent (header first, then the query), or
/// nullopt when none; an empty optional inside when it is malformed.
std::optional<std::optional<std::uint64_t>> last_event_id(const Call& call) {
  std::optional<std::string> text;
  if (auto header = call.request().headers.get("Last-Event-ID")) {
    text = std::string(*header);
  } else if (auto pairs = parse_query(call.request().query)) {
    for (auto& [key, value] : *pairs) {
      if (key == "last_event_id") {
        text = std::move(value);
      }
    }
  }
  if (!text) {
    return std::nullopt;
  }
  return parse_sse_event_id(*text);
}

/// A place in the per-user count of streams, given back when the last
/// reference goes unless a stream took it over (the stream gives it back when
/// it closes).
class StreamPlace {
 public:
  StreamPlace(std::shared_ptr<StreamCounter> streams, Jid user)
      : streams_(std::move(streams)), user_(std::move(user)) {}
  ~StreamPlace() { give_back(); }
  StreamPlace(const StreamPlace&) = delete;
  StreamPlace& operator=(const StreamPlace&) = delete;
  /// The stream took the place over.
  void hand_over() { handed_over_.store(true); }
  /// Gives the place back unless a stream took it (once).
  void give_back() {
    if (!handed_over_.exchange(true)) {
      streams_->close(user_);
    }
  }

 private:
  std::shared_ptr<StreamCounter> streams_;
  Jid user_;
  std::atomic<bool> handed_over_{false};
};

/// Sends what the client missed, then lets the held-back live events go.
/// The answer is out: a failure here can only end the stream, and the client
/// reconnects.
void replay(const CallPtr& call, const std::shared_ptr<SseStream>& stream,
            std::uint64_t replay_after) {
  const std::size_t max_replay = call->config().sse.max_replay;
  Completion<EventsResult> done(
      [stream, max_replay](EventsResult events) {
        if (!events) {
          stream->close();
          return;
        }
        stream->finish_replay(*events, events->size() > max_replay);
      },
      [stream] { stream->close(); });
  // When the Api is going away, `done` is dropped and the stream closes.
  CallInternals::with_backend(*call, [&](const Backend& backend) {
    backend.events->async_events_after(call->user(), replay_after, max_replay + 1, done);
  });
}

void open_stream(const CallPtr& call, std::optional<std::uint64_t> replay_after) {
  const ApiConfig& config = call->config();
  auto streams = CallInternals::state(*call).streams;
  const Jid user = call->user();
  SseStream::Options options;
  options.timestamp_unit = config.sse.timestamp_unit;
  options.now_us = config.now_us;  // copied: the stream may outlive the Api
  options.max_unread_bytes = config.sse.max_unread_bytes;
  options.resumable = resumable(*call);
  options.on_close = [streams, user] { streams->close(user); };
  auto stream = std::make_shared<SseStream>(std::move(options));
  if (replay_after) {
    stream->begin_replay();
  }

  auto full = Jid::from_parts(user.local(), user.domain(), "sse-" + random_uuid());
  if (!full) {
    stream->close();
    call->fail(Failure::internal);  // cannot happen: a UUID is a valid resource
    return;
  }
  // Should the session not open (a failure, the Api going away, a dropped
  // completion), the stream ends when its last reference goes: its
  // destructor closes it and gives its place back.
  call->await<OpenSessionResult>(
      [&](const Backend& backend, auto done) {
        backend.sessions->async_open_session(Caller(*full, call->user().login()),
                                             std::make_shared<StreamSink>(stream), done);
      },
      [call, stream, replay_after](std::unique_ptr<Session> session) {
        stream->hold_session(std::move(session));
        Response response;
        response.status = 200;
        response.headers.set("Content-Type", "text/event-stream");
        response.headers.set("Cache-Control", "no-cache");
        response.event_stream = stream;
        call->respond(std::move(response));
        if (replay_after) {
          replay(call, stream, *replay_after);
        }
      });
}

void get_sse(const CallPtr& call) {
  std::optional<std::uint64_t> replay_after;
  const bool resume = resumable(*call);
  if (resume) {
    auto given = last_event_id(*call);
    if (given && !*given) {
      call->fail(kInvalidLastEventId);
      return;
    }
    if (given) {
      replay_after = **given;
    }
  }
  auto streams = CallInternals::state(*call).streams;
  if (!streams->try_open(call->user(), call->config().sse.max_streams_per_user)) {
    call->fail(kTooManyStreams);
    return;
  }
  if (!replay_after) {
    open_stream(call, std::nullopt);
    return;
  }
  // An id beyond the last sequence handed out was never issued. Whatever
  // ends this request short of a stream gives the place back, before its
  // answer (the client may open another stream at once).
  auto place = std::make_shared<StreamPlace>(streams, call->user());
  call->before_answer([place] { place->give_back(); });
  call->await<SequenceResult>(
      [&](const Backend& backend, auto done) { backend.events->async_last_sequence(done); },
      [call, replay_after, place](std::uint64_t last) {
        if (*replay_after > last) {
          call->fail(kInvalidLastEventId);
          return;
        }
        place->hand_over();  // to the stream, whose close gives it back
        open_stream(call, replay_after);
      });
}

RouteGroup declare() {
  RouteGroup group("sse");
  group.needs(&Backend::sessions)
      .param("last_event_id",
             "With resumable streams: the id of the last event received (as the Last-Event-ID "
             "header)",
             "query")
      .param("access_token",
             "With tokens enabled: an access token, for clients that cannot set headers", "query");
  group.route("/sse").produces = "text/event-stream";
  group.get("/sse", get_sse)
      .summary("Open a server-sent-events stream of incoming messages")
      .returns(200,
               "An event stream: `message` events (chat JSON) and `room.message` events (room "
               "JSON with `room`); ids count from 1, or are resume tokens when streams are "
               "resumable (then `reset` tells the client to reload its history).",
               R"({"type":"string"})")
      .errors({&kInvalidLastEventId, &kTooManyStreams})
      .query({"last_event_id", "access_token"})
      .token_in_query();
  return group;
}

}  // namespace

const RouteGroup& sse_group() {
  static const RouteGroup group = declare();
  return group;
}

}  // namespace mimrest::detail
