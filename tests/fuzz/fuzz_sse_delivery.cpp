// libFuzzer target: how an event stream (SseStream, GET /sse) turns the
// stanzas pushed to it into server-sent-event bytes.
//
// Input: the first byte picks the mode.
//
// Stream mode (first byte even): an SseStream driven directly, as a
// transport and a backend would. Then an options byte (bit 0 timestamps in
// ms, bit 1 resumable ids), a cap byte (max_unread_bytes = 1 + 16 * byte, or
// 4 MiB for 0), and operations, each an opcode byte:
//   0 deliver   a sequence byte and a stanza (2-byte little-endian length,
//               then the text)
//   1 take      the transport takes the bytes ready
//   2 keepalive
//   3 start     the transport starts (once)
//   4 unread    a byte: what the transport says it has not sent yet (x 64)
//   5 begin_replay
//   6 finish_replay  a count byte (0..3), a reset flag byte, then the
//               events: a sequence byte, a timestamp byte and a stanza each
//   7 close
// A sequence byte 255 stands for the largest sequence, others for
// themselves.
// Properties, against a model of what sse.hpp documents: the bytes taken are
// exactly the expected events in order - for each pushed stanza that
// typed_message_to_json converts to a chat or groupchat message,
// "id: N\n" (1, 2, 3...; "r<sequence>" for resumable streams, no id for
// sequence 0), "event: message|room.message\ndata: <its JSON>\n\n" -,
// keepalive comments only once started, "event: reset" for a reset replay,
// held-back live deliveries after the replay unless the replay had them (by
// sequence), and no later live delivery that the last replay had either;
// every data line is one line of valid JSON; when the bytes not
// taken plus the transport's unread bytes exceed the cap, the stream closes
// and nothing more comes; the transport is woken whenever bytes are ready
// or the stream closed (no lost wake-up); events_sent() counts the events;
// sse_event_id and parse_sse_event_id round-trip.
//
// Api mode (first byte odd): bob opens GET /sse through the Api and alice
// sends him chat messages and room messages (bodies from the input, up to
// eight, each a length byte and the text, a flag byte choosing chat or
// room). Properties: one event per message that the Api accepted, in order,
// ids 1, 2, 3..., "message" with from, to, id and body as sent, or
// "room.message" with room, from, id and body as sent.
#include <mimrest/api.hpp>
#include <mimrest/backend/sessions.hpp>
#include <mimrest/sse.hpp>
#include <mimrest/stanza_json.hpp>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api_support.hpp"
#include "fuzz_support.hpp"

namespace {

using mimrest::fuzz::printable;
using mimrest::fuzz::string_at;

constexpr std::int64_t kNowUs = 1'700'000'000'123'456;
constexpr std::size_t kMaxStanza = 4096;
constexpr std::size_t kMaxOperations = 64;

std::uint64_t sequence_of(std::uint8_t byte) {
  return byte == 255 ? std::numeric_limits<std::uint64_t>::max() : byte;
}

std::string stanza_of(mimrest::fuzz::ByteReader& input) {
  const std::size_t length =
      (input.byte() | (static_cast<std::size_t>(input.byte()) << 8)) % (kMaxStanza + 1);
  return std::string(input.take(length));
}

// The event body a stanza becomes ("event: ...\ndata: ...\n\n"), or nothing.
std::optional<std::string> payload_of(const std::string& xml, std::int64_t timestamp) {
  mimrest::JsonOptions options;
  options.sse = true;
  options.timestamp = timestamp;
  const auto message = mimrest::typed_message_to_json(xml, options);
  if (!message || message->type == mimrest::MessageType::other) {
    return std::nullopt;
  }
  return std::string("event: ") +
         (message->type == mimrest::MessageType::groupchat ? "room.message" : "message") +
         "\ndata: " + message->json + "\n\n";
}

// Checks the framing of taken bytes: events and comments, each ended by a
// blank line; fields id, event, data; data one line of valid JSON.
void check_framing(std::string_view bytes, const std::string& context) {
  while (!bytes.empty()) {
    const std::size_t end = bytes.find("\n\n");
    MIMREST_FUZZ_CHECK(end != std::string_view::npos, "unterminated block: " + context);
    std::string_view block = bytes.substr(0, end + 1);
    bytes.remove_prefix(end + 2);
    MIMREST_FUZZ_CHECK(block.find('\r') == std::string_view::npos, context);
    if (block == ": keepalive\n") {
      continue;
    }
    bool has_event = false;
    bool has_data = false;
    while (!block.empty()) {
      const std::size_t lf = block.find('\n');
      const std::string_view line = block.substr(0, lf);
      block.remove_prefix(lf + 1);
      if (line.rfind("id: ", 0) == 0) {
        MIMREST_FUZZ_CHECK(!has_event && line.size() > 4, context);
      } else if (line.rfind("event: ", 0) == 0) {
        const std::string_view name = line.substr(7);
        MIMREST_FUZZ_CHECK(name == "message" || name == "room.message" || name == "reset",
                           "event name: " + context);
        has_event = true;
      } else if (line.rfind("data: ", 0) == 0) {
        MIMREST_FUZZ_CHECK(has_event && !has_data, context);
        rapidjson::Document document;
        const std::string error = mimrest::fuzz::parse_json(line.substr(6), document);
        MIMREST_FUZZ_CHECK(error.empty() && document.IsObject(), "data: " + error + context);
        has_data = true;
      } else {
        MIMREST_FUZZ_CHECK(false, "unexpected line " + printable(line) + ": " + context);
      }
    }
    MIMREST_FUZZ_CHECK(has_event && has_data, "incomplete event: " + context);
  }
}

// What sse.hpp documents, step by step.
class Model {
 public:
  Model(bool milliseconds, bool resumable, std::size_t cap)
      : milliseconds_(milliseconds), resumable_(resumable), cap_(cap) {}

  std::int64_t timestamp(std::int64_t us) const { return milliseconds_ ? us / 1000 : us; }

  void deliver(const std::string& xml, std::uint64_t sequence) {
    const auto payload = payload_of(xml, timestamp(kNowUs));
    if (!payload || closed) {
      return;
    }
    if (replaying) {
      held.push_back({sequence, *payload});
      return;
    }
    if (sequence != 0 && sequence <= replayed_up_to) {
      return;  // the last replay sent it already
    }
    queue(sequence, *payload);
  }

  void queue(std::uint64_t sequence, const std::string& payload) {
    std::string id;
    if (!resumable_) {
      id = std::to_string(next_id++);
    } else if (sequence != 0) {
      id = mimrest::sse_event_id(sequence);
    }
    ++events;
    if (!id.empty()) {
      append("id: " + id + "\n");
    }
    append(payload);
  }

  void append(const std::string& bytes) {
    if (closed) {
      return;
    }
    pending += bytes;
    const std::size_t unread = pending.size() + (started ? transport_unread : 0);
    if (unread > cap_) {
      close();
    }
  }

  void keepalive() {
    if (!closed && started) {
      append(": keepalive\n\n");
    }
  }

  void finish_replay(const std::vector<mimrest::LoggedEvent>& replayed, bool reset) {
    if (closed) {
      return;
    }
    std::uint64_t up_to = 0;
    if (reset) {
      append("event: reset\ndata: {}\n\n");
    } else {
      for (const auto& event : replayed) {
        if (const auto payload = payload_of(event.stanza_xml, timestamp(event.timestamp_us))) {
          queue(event.sequence, *payload);
        }
        up_to = std::max(up_to, event.sequence);
      }
    }
    for (const auto& [sequence, payload] : held) {
      if (sequence == 0 || sequence > up_to) {
        queue(sequence, payload);
      }
    }
    held.clear();
    replaying = false;
    replayed_up_to = up_to;
  }

  void close() {
    closed = true;
    pending.clear();
    held.clear();
  }

  bool started = false;
  bool closed = false;
  bool replaying = false;
  std::uint64_t replayed_up_to = 0;  // the highest sequence of the last replay
  std::size_t transport_unread = 0;
  std::string pending;
  std::uint64_t next_id = 1;
  std::uint64_t events = 0;
  std::vector<std::pair<std::uint64_t, std::string>> held;

 private:
  bool milliseconds_;
  bool resumable_;
  std::size_t cap_;
};

void check_event_ids(std::uint64_t sequence) {
  const std::string id = mimrest::sse_event_id(sequence);
  const auto back = mimrest::parse_sse_event_id(id);
  MIMREST_FUZZ_CHECK(sequence == 0 || (back && *back == sequence), id);
}

void run_stream(mimrest::fuzz::ByteReader& input) {
  const std::uint8_t flags = input.byte();
  const std::uint8_t cap_byte = input.byte();
  const std::size_t cap = cap_byte == 0 ? 4u << 20 : 1 + 16 * static_cast<std::size_t>(cap_byte);
  Model model((flags & 1) != 0, (flags & 2) != 0, cap);

  mimrest::SseStream::Options options;
  options.timestamp_unit = (flags & 1) != 0 ? mimrest::TimestampUnit::milliseconds
                                            : mimrest::TimestampUnit::microseconds;
  options.now_us = [] { return kNowUs; };
  options.max_unread_bytes = cap;
  options.resumable = (flags & 2) != 0;
  int closes = 0;
  options.on_close = [&closes] { ++closes; };
  const auto stream = std::make_shared<mimrest::SseStream>(options);

  // Transport state.
  bool woken = false;        // since the last take()
  bool woken_closed = true;  // since the stream closed
  std::size_t transport_unread = 0;
  std::string taken;
  std::string log;

  for (std::size_t step = 0; step < kMaxOperations && !input.empty(); ++step) {
    const std::uint8_t opcode = input.byte() % 8;
    log += std::to_string(opcode) + " ";
    const bool closed_before = model.closed;
    // The model moves first; the stream's wake-up comes after.
    auto model_moved = [&] {
      if (!closed_before && model.closed) {
        woken_closed = false;
      }
    };
    switch (opcode) {
      case 0: {
        const std::uint64_t sequence = sequence_of(input.byte());
        const std::string xml = stanza_of(input);
        check_event_ids(sequence);
        model.deliver(xml, sequence);
        model_moved();
        stream->deliver(mimrest::RoutedStanza::make(xml, sequence));
        break;
      }
      case 1: {
        const std::string bytes = stream->take();
        MIMREST_FUZZ_CHECK(bytes == model.pending, "took " + printable(bytes) + "\n expected " +
                                                       printable(model.pending) + "\n after " +
                                                       log);
        taken += bytes;
        model.pending.clear();
        woken = false;
        break;
      }
      case 2:
        model.keepalive();
        model_moved();
        stream->keepalive();
        break;
      case 3:
        if (!model.started) {
          model.started = true;
          mimrest::SseStream::Transport transport;
          transport.wake = [&woken, &woken_closed] { woken = woken_closed = true; };
          transport.unread_bytes = [&transport_unread] { return transport_unread; };
          stream->start(std::move(transport));
        }
        break;
      case 4:
        transport_unread = 64 * static_cast<std::size_t>(input.byte());
        model.transport_unread = transport_unread;
        break;
      case 5:
        model.replaying = true;
        stream->begin_replay();
        break;
      case 6: {
        const std::size_t count = input.byte() % 4;
        const bool reset = (input.byte() & 1) != 0;
        std::vector<mimrest::LoggedEvent> events;
        for (std::size_t i = 0; i < count; ++i) {
          mimrest::LoggedEvent event;
          event.sequence = sequence_of(input.byte());
          event.timestamp_us = kNowUs + 1000 * static_cast<std::int64_t>(input.byte());
          event.stanza_xml = stanza_of(input);
          events.push_back(std::move(event));
        }
        model.finish_replay(events, reset);
        model_moved();
        stream->finish_replay(events, reset);
        break;
      }
      default:
        if (!model.closed) {
          model.close();
        }
        model_moved();
        stream->close();
        break;
    }
    const std::string context = "after " + log;
    MIMREST_FUZZ_CHECK(stream->closed() == model.closed, context);
    MIMREST_FUZZ_CHECK(stream->events_sent() == model.events, context);
    MIMREST_FUZZ_CHECK(closes == (model.closed ? 1 : 0), "close hook: " + context);
    // No lost wake-up: a started transport has been woken since it last
    // took when there are bytes to take, and since the stream closed.
    if (model.started) {
      MIMREST_FUZZ_CHECK(model.pending.empty() || woken, "not woken for bytes: " + context);
      MIMREST_FUZZ_CHECK(!model.closed || woken_closed, "not woken at close: " + context);
    }
  }
  const std::string rest = stream->take();
  MIMREST_FUZZ_CHECK(rest == model.pending, "at the end: " + printable(rest));
  taken += rest;
  check_framing(taken, printable(taken) + " after " + log);
  stream->close();
  MIMREST_FUZZ_CHECK(stream->take().empty() && closes == 1, log);
}

// --- Api mode ---

std::string json_string(std::string_view text) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writer.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
  return std::string(buffer.GetString(), buffer.GetSize());
}

struct Sent {
  bool room;
  std::string id;
  std::string body;
};

void run_api(mimrest::fuzz::ByteReader& input) {
  using mimrest::fuzz::make_request;
  mimrest::fuzz::World world;
  const mimrest::Api& api = world.api();
  const mimrest::fuzz::ResponseContext where{api.config()};
  auto call = [&](const mimrest::Request& request) {
    mimrest::Response response = api.handle(request);
    mimrest::fuzz::check_response(where, request, response);
    return response;
  };
  MIMREST_FUZZ_CHECK(
      call(make_request("PUT", "/rooms/team", R"({"name":"n","subject":"s"})", "alice@localhost"))
              .status == 201,
      "setup");
  MIMREST_FUZZ_CHECK(call(make_request("POST", "/rooms/team/users", R"({"user":"bob@localhost"})",
                                       "alice@localhost"))
                             .status == 204,
                     "setup");

  mimrest::Response opened = call(make_request("GET", "/sse", {}, "bob@localhost"));
  MIMREST_FUZZ_CHECK(opened.status == 200 && opened.event_stream, opened.body);
  const std::shared_ptr<mimrest::SseStream> stream = opened.event_stream;
  bool woken = false;
  mimrest::SseStream::Transport transport;
  transport.wake = [&woken] { woken = true; };
  stream->start(std::move(transport));

  std::vector<Sent> sent;
  std::string log;
  for (int i = 0; i < 8 && !input.empty(); ++i) {
    const bool room = (input.byte() & 1) != 0;
    const std::string body(input.short_string(64));
    const mimrest::Request request =
        room ? make_request("POST", "/rooms/team/messages", "{\"body\":" + json_string(body) + "}",
                            "alice@localhost")
             : make_request("POST", "/messages",
                            "{\"to\":\"bob@localhost\",\"body\":" + json_string(body) + "}",
                            "alice@localhost");
    const mimrest::Response response = call(request);
    log += mimrest::fuzz::describe(request, response) + "\n";
    if (response.status == 200) {
      rapidjson::Document document;
      MIMREST_FUZZ_CHECK(mimrest::fuzz::parse_json(response.body, document).empty(), log);
      sent.push_back(Sent{room, std::string(*string_at(document, "id")), body});
    }
  }

  const std::string bytes = stream->take();
  MIMREST_FUZZ_CHECK(sent.empty() || woken, "not woken: " + log);
  check_framing(bytes, printable(bytes));
  // The events: the room creation and bob's joining come first (affiliation
  // messages), then one per message sent.
  std::vector<std::pair<std::string, rapidjson::Document>> events;
  std::string_view rest = bytes;
  std::uint64_t expected_id = 1;
  while (!rest.empty()) {
    const std::size_t end = rest.find("\n\n");
    std::string_view block = rest.substr(0, end);
    rest.remove_prefix(end + 2);
    const std::string id_line = "id: " + std::to_string(expected_id++) + "\n";
    MIMREST_FUZZ_CHECK(block.substr(0, id_line.size()) == id_line, printable(bytes));
    block.remove_prefix(id_line.size());
    const std::size_t data = block.find("\ndata: ");
    std::string name(block.substr(7, data - 7));
    rapidjson::Document document;
    MIMREST_FUZZ_CHECK(mimrest::fuzz::parse_json(block.substr(data + 7), document).empty(),
                       printable(bytes));
    events.emplace_back(std::move(name), std::move(document));
  }
  // Affiliation events (bob's own joining) may come first.
  std::size_t first = 0;
  while (first < events.size() && string_at(events[first].second, "type") ==
                                      std::optional<std::string_view>("affiliation")) {
    ++first;
  }
  MIMREST_FUZZ_CHECK(events.size() - first == sent.size(),
                     std::to_string(events.size() - first) + " events for " +
                         std::to_string(sent.size()) + " messages\n" + log + printable(bytes));
  for (std::size_t i = 0; i < sent.size(); ++i) {
    const auto& [name, data] = events[first + i];
    const Sent& message = sent[i];
    const std::string context = log + printable(bytes);
    MIMREST_FUZZ_CHECK(name == (message.room ? "room.message" : "message"), context);
    MIMREST_FUZZ_CHECK(string_at(data, "id") == std::optional<std::string_view>(message.id),
                       context);
    MIMREST_FUZZ_CHECK(
        string_at(data, "from") == std::optional<std::string_view>("alice@localhost"), context);
    const auto body = string_at(data, "body");
    if (message.room) {
      MIMREST_FUZZ_CHECK(string_at(data, "room") == std::optional<std::string_view>("team"),
                         context);
      MIMREST_FUZZ_CHECK(body == std::optional<std::string_view>(message.body), "body: " + context);
    } else {
      MIMREST_FUZZ_CHECK(string_at(data, "to") == std::optional<std::string_view>("bob@localhost"),
                         context);
      MIMREST_FUZZ_CHECK(body == std::optional<std::string_view>(message.body), "body: " + context);
    }
  }
  stream->close();
  MIMREST_FUZZ_CHECK(world.memory().session_count(mimrest::fuzz::jid("bob@localhost")) == 0,
                     "the session outlives close()");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  mimrest::fuzz::ByteReader input(data, size);
  const std::uint8_t mode = input.byte();
  if ((mode & 1) == 0) {
    run_stream(input);
  } else {
    run_api(input);
  }
  return 0;
}
