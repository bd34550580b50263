// GET /sse through Api::handle with the in-memory backend: the session it
// opens, the events pushed to it, and closing.
#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <optional>

#include "api_fixture.hpp"
#include "mimrest/sse.hpp"
#include "recording_writer.hpp"

using mimrest::Response;
using mimrest::SseStream;
using mimrest::test::ApiFixture;
using mimrest::test::FixtureOptions;
using mimrest::test::parse_json;
using mimrest::test::RecordingWriter;
using mimrest::test::to_json;

namespace {

struct Event {
  std::string id;
  std::string name;
  std::string data;
};

// Splits "id: N\nevent: E\ndata: D\n\n" blocks; fails on anything else.
std::vector<Event> parse_events(const std::string& text) {
  std::vector<Event> events;
  std::size_t at = 0;
  while (at < text.size()) {
    auto end = text.find("\n\n", at);
    REQUIRE(end != std::string::npos);
    std::string block = text.substr(at, end - at);
    at = end + 2;
    Event event;
    auto first = block.find('\n');
    auto second = block.find('\n', first + 1);
    REQUIRE(second != std::string::npos);
    REQUIRE(block.compare(0, 4, "id: ") == 0);
    event.id = block.substr(4, first - 4);
    REQUIRE(block.compare(first + 1, 7, "event: ") == 0);
    event.name = block.substr(first + 8, second - first - 8);
    REQUIRE(block.compare(second + 1, 6, "data: ") == 0);
    event.data = block.substr(second + 7);
    REQUIRE(event.data.find('\n') == std::string::npos);
    events.push_back(std::move(event));
  }
  return events;
}

// The events a stream has written once there are at least `count` of them
// (replays and deliveries may arrive from other threads), or after a few
// seconds whatever is there.
std::vector<Event> events_eventually(const RecordingWriter& out, std::size_t count) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (true) {
    std::string text = out.text();
    // Only whole events count.
    text.resize(text.rfind("\n\n") == std::string::npos ? 0 : text.rfind("\n\n") + 2);
    auto events = parse_events(text);
    if (events.size() >= count || std::chrono::steady_clock::now() > deadline) {
      return events;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

std::string send_chat(ApiFixture& f, std::string_view from, std::string_view to_body) {
  auto response = f.post("/messages", std::string(to_body), from);
  REQUIRE(response.status == 200);
  return parse_json(response.body)["id"].GetString();
}

}  // namespace

TEST_CASE("GET /sse opens an event stream and a session") {
  ApiFixture f;
  auto response = f.get("/sse");
  REQUIRE(response.status == 200);
  CHECK(response.headers.get("Content-Type") == std::string_view("text/event-stream"));
  CHECK(response.headers.get("Cache-Control") == std::string_view("no-cache"));
  CHECK(response.body.empty());
  REQUIRE(response.event_stream);
  CHECK(f.store().session_count(f.alice) == 1);
  CHECK_FALSE(response.event_stream->closed());

  response.event_stream->close();
  CHECK(response.event_stream->closed());
  CHECK(f.store().session_count(f.alice) == 0);
  response.event_stream->close();  // idempotent
  CHECK(f.store().session_count(f.alice) == 0);
}

TEST_CASE("GET /sse needs authentication and an acceptable Accept") {
  ApiFixture f;
  auto unauthenticated = f.get("/sse", "alice@localhost:wrong");
  CHECK(unauthenticated.status == 401);
  CHECK_FALSE(unauthenticated.event_stream);
  auto request = f.request("GET", "/sse");
  request.headers.set("Accept", "text/event-stream");
  auto ok = f.handle(request);
  CHECK(ok.status == 200);
  REQUIRE(ok.event_stream);
  ok.event_stream->close();
  request.headers.set("Accept", "application/json");
  CHECK(f.handle(request).status == 406);
  CHECK(f.store().session_count(f.alice) == 0);
}

TEST_CASE("A chat message sent through the API is pushed as a message event") {
  ApiFixture f;
  auto response = f.get("/sse");
  REQUIRE(response.event_stream);
  RecordingWriter out;
  out.attach(*response.event_stream);

  auto id = send_chat(f, "bob@localhost", R"({"to":"alice@localhost","body":"hi <there>"})");
  // A backend may push after it answered the POST (the XMPP server routes it).
  events_eventually(out, 1);
  std::string text = out.text();
  REQUIRE(text.rfind("id: 1\nevent: message\ndata: {", 0) == 0);
  REQUIRE(text.size() > 2);
  CHECK(text.substr(text.size() - 2) == "\n\n");
  auto events = parse_events(text);
  REQUIRE(events.size() == 1);
  auto data = parse_json(events[0].data);
  CHECK(std::string(data["from"].GetString()) == "bob@localhost");
  CHECK(std::string(data["to"].GetString()) == "alice@localhost");
  CHECK(std::string(data["id"].GetString()) == id);
  CHECK(std::string(data["body"].GetString()) == "hi <there>");
  // Microseconds by default, as MongooseIM sends them.
  CHECK(data["timestamp"].GetInt64() == f.now_us());

  f.advance_ms(5);
  send_chat(f, "carol@localhost", R"({"to":"alice@localhost","body":"second"})");
  events = parse_events(out.text());
  REQUIRE(events.size() == 2);
  CHECK(events[1].id == "2");
  CHECK(events[1].name == "message");
  CHECK(std::string(parse_json(events[1].data)["body"].GetString()) == "second");
  CHECK(response.event_stream->events_sent() == 2);

  // Messages alice sends are not pushed to her own stream.
  send_chat(f, "alice@localhost", R"({"to":"bob@localhost","body":"out"})");
  CHECK(parse_events(out.text()).size() == 2);

  response.event_stream->close();
  CHECK(f.store().session_count(f.alice) == 0);
  send_chat(f, "bob@localhost", R"({"to":"alice@localhost","body":"after close"})");
  CHECK(parse_events(out.text()).size() == 2);
}

TEST_CASE("Events before the transport starts are kept; each stream counts its own ids") {
  ApiFixture f;
  auto first = f.get("/sse").event_stream;
  auto second = f.get("/sse").event_stream;
  REQUIRE(first);
  REQUIRE(second);
  CHECK(f.store().session_count(f.alice) == 2);

  send_chat(f, "bob@localhost", R"({"to":"alice@localhost","body":"one"})");
  RecordingWriter a;
  a.attach(*first);
  send_chat(f, "bob@localhost", R"({"to":"alice@localhost","body":"two"})");
  RecordingWriter b;
  b.attach(*second);

  for (auto* collector : {&a, &b}) {
    auto events = parse_events(collector->text());
    REQUIRE(events.size() == 2);
    CHECK(events[0].id == "1");
    CHECK(events[1].id == "2");
    CHECK(std::string(parse_json(events[0].data)["body"].GetString()) == "one");
    CHECK(std::string(parse_json(events[1].data)["body"].GetString()) == "two");
  }
  first->close();
  CHECK(f.store().session_count(f.alice) == 1);
  second->close();
  CHECK(f.store().session_count(f.alice) == 0);
}

// not-gateway: expects MUC Light's affiliation events and the fixture's clock (room events on the
// gateway: tests/e2e/e2e_xmpp_gateway.cpp).
TEST_CASE("Room messages are pushed as room.message events with the room", "[not-gateway]") {
  ApiFixture f;
  auto stream = f.get("/sse").event_stream;
  REQUIRE(stream);
  RecordingWriter out;
  out.attach(*stream);

  auto created = f.post("/rooms", R"({"name":"Room","subject":"Talk"})", "bob@localhost");
  REQUIRE(created.status == 201);
  std::string room = parse_json(created.body)["id"].GetString();
  REQUIRE(f.post("/rooms/" + room + "/users", R"({"user":"alice@localhost"})", "bob@localhost")
              .status == 204);
  auto sent = f.post("/rooms/" + room + "/messages", R"({"body":"hello room"})", "bob@localhost");
  REQUIRE(sent.status == 200);
  std::string message_id = parse_json(sent.body)["id"].GetString();

  auto events = parse_events(out.text());
  REQUIRE(events.size() >= 2);
  std::uint64_t expected_id = 1;
  bool saw_affiliation = false;
  bool saw_message = false;
  for (const auto& event : events) {
    CHECK(event.id == std::to_string(expected_id++));
    CHECK(event.name == "room.message");
    auto data = parse_json(event.data);
    CHECK(std::string(data["room"].GetString()) == room);
    CHECK(data["timestamp"].GetInt64() == f.now_us());
    std::string type = data["type"].GetString();
    if (type == "affiliation") {
      saw_affiliation =
          saw_affiliation || std::string(data["user"].GetString()) == "alice@localhost";
    } else if (type == "message") {
      saw_message = true;
      CHECK(std::string(data["id"].GetString()) == message_id);
      CHECK(std::string(data["from"].GetString()) == "bob@localhost");
      CHECK(std::string(data["body"].GetString()) == "hello room");
    }
  }
  CHECK(saw_affiliation);
  CHECK(saw_message);
  stream->close();
}

// not-gateway: Prosody writes carriage returns unescaped (read back as line feeds).
TEST_CASE("room.message events carry the body exactly as sent", "[not-gateway]") {
  ApiFixture f;
  auto stream = f.get("/sse").event_stream;
  REQUIRE(stream);
  RecordingWriter out;
  out.attach(*stream);
  REQUIRE(f.put("/rooms/team", R"({"name":"Team","subject":"S"})").status == 201);
  // Text of each body: whitespace alone, carriage returns.
  const std::vector<std::string> bodies = {"  ", "\t \n", "a\rb", "x\r\ny", "\r", " a \r\n b "};
  for (const auto& body : bodies) {
    const std::string text =
        to_json(rapidjson::Value(rapidjson::StringRef(body.data(), body.size())));
    REQUIRE(f.post("/rooms/team/messages", R"({"body":)" + text + "}").status == 200);
  }
  // The message events (the room's creation may come first), once all are
  // there or after a few seconds.
  std::vector<std::string> received;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (received.size() < bodies.size() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    received.clear();
    for (const auto& event : events_eventually(out, 0)) {
      CHECK(event.name == "room.message");
      auto data = parse_json(event.data);
      if (std::string(data["type"].GetString()) == "message") {
        REQUIRE(data.HasMember("body"));
        received.emplace_back(data["body"].GetString(), data["body"].GetStringLength());
      }
    }
  }
  CHECK(received == bodies);
  stream->close();
}

TEST_CASE("The SSE timestamp unit is configurable") {
  FixtureOptions options;
  options.api.sse.timestamp_unit = mimrest::TimestampUnit::milliseconds;
  ApiFixture f(std::move(options));
  auto stream = f.get("/sse").event_stream;
  REQUIRE(stream);
  RecordingWriter out;
  out.attach(*stream);
  send_chat(f, "bob@localhost", R"({"to":"alice@localhost","body":"ms"})");
  auto events = parse_events(out.text());
  REQUIRE(events.size() == 1);
  CHECK(parse_json(events[0].data)["timestamp"].GetInt64() == f.now_us() / 1000);
  stream->close();
}

TEST_CASE("A stream left open when the test ends is closed by the adapter's close()") {
  // The stream keeps the session; closing it is the adapter's job. Here the
  // fixture outlives the stream, which is closed explicitly.
  ApiFixture f;
  std::shared_ptr<SseStream> stream = f.get("/sse", "bob@localhost").event_stream;
  REQUIRE(stream);
  CHECK(f.store().session_count(f.bob) == 1);
  CHECK(f.store().session_count(f.alice) == 0);
  stream->close();
  CHECK(f.store().session_count(f.bob) == 0);
}

TEST_CASE("Concurrent senders while the stream attaches and closes") {
  ApiFixture f;
  auto stream = f.get("/sse").event_stream;
  REQUIRE(stream);
  RecordingWriter out;
  constexpr int kPerSender = 50;
  std::atomic<int> accepted{0};
  std::vector<std::thread> senders;
  for (const char* sender : {"bob@localhost", "carol@localhost"}) {
    // Catch assertions are not thread-safe: count successes, check after join.
    senders.emplace_back([&f, &accepted, sender] {
      for (int i = 0; i < kPerSender; ++i) {
        auto response = f.post("/messages", R"({"to":"alice@localhost","body":"x"})", sender);
        if (response.status == 200) {
          ++accepted;
        }
      }
    });
  }
  out.attach(*stream);
  std::thread closer([&] { stream->close(); });
  for (auto& sender : senders) {
    sender.join();
  }
  closer.join();
  CHECK(accepted == 2 * kPerSender);
  CHECK(f.store().session_count(f.alice) == 0);
  auto events = parse_events(out.text());
  CHECK(events.size() <= 2 * kPerSender);
  // An event queued just as the stream closed is released unsent.
  CHECK(events.size() <= stream->events_sent());
  for (std::size_t i = 0; i < events.size(); ++i) {
    CHECK(events[i].id == std::to_string(i + 1));
  }
}

TEST_CASE("One stream more than sse.max_streams_per_user answers 429") {
  FixtureOptions options;
  options.api.sse.max_streams_per_user = 2;
  ApiFixture f(std::move(options));
  auto first = f.get("/sse").event_stream;
  auto second = f.get("/sse").event_stream;
  REQUIRE(first);
  REQUIRE(second);
  auto refused = f.get("/sse");
  CHECK(refused.status == 429);
  CHECK(refused.body == "\"Too many event streams\"");
  CHECK_FALSE(refused.event_stream);
  CHECK(f.store().session_count(f.alice) == 2);
  // Another user is not affected.
  auto bobs = f.get("/sse", "bob@localhost").event_stream;
  REQUIRE(bobs);
  // A closed stream frees its place; so does one dropped without close().
  first->close();
  auto third = f.get("/sse").event_stream;
  REQUIRE(third);
  third.reset();
  auto fourth = f.get("/sse").event_stream;
  REQUIRE(fourth);
  second->close();
  fourth->close();
  bobs->close();
}

namespace {

FixtureOptions resumable(std::size_t max_replay = 1000) {
  FixtureOptions options;
  options.api.sse.resume = true;
  options.api.sse.max_replay = max_replay;
  return options;
}

// Opens GET /sse with a Last-Event-ID header (when given) and collects it.
struct OpenStream {
  mimrest::Response response;
  RecordingWriter out;
};

std::unique_ptr<OpenStream> open_stream(ApiFixture& f, std::optional<std::string> last_id,
                                        bool in_query = false) {
  auto stream = std::make_unique<OpenStream>();
  std::string path = "/sse";
  if (last_id && in_query) {
    path += "?last_event_id=" + *last_id;
  }
  auto request = f.request("GET", path);
  if (last_id && !in_query) {
    request.headers.set("Last-Event-ID", *last_id);
  }
  stream->response = f.handle(request);
  if (stream->response.event_stream) {
    stream->out.attach(*stream->response.event_stream);
  }
  return stream;
}

std::vector<std::string> bodies(const std::vector<Event>& events) {
  std::vector<std::string> out;
  for (const auto& event : events) {
    auto data = parse_json(event.data);
    out.push_back(data.HasMember("body") ? data["body"].GetString() : "<" + event.name + ">");
  }
  return out;
}

}  // namespace

// not-gateway: the gateway keeps no event log: no resumable streams.
TEST_CASE("Resumable streams replay what was missed after Last-Event-ID, then go live",
          "[not-gateway]") {
  ApiFixture f(resumable());
  auto created = f.post("/rooms", R"({"name":"R","subject":"S"})", "bob@localhost");
  REQUIRE(created.status == 201);
  const std::string room = parse_json(created.body)["id"].GetString();
  REQUIRE(f.post("/rooms/" + room + "/users", R"({"user":"alice@localhost"})", "bob@localhost")
              .status == 204);

  auto first = open_stream(f, std::nullopt);
  REQUIRE(first->response.status == 200);
  send_chat(f, "bob@localhost", R"({"to":"alice@localhost","body":"one"})");
  auto seen = events_eventually(first->out, 1);
  REQUIRE(seen.size() == 1);
  const std::string last_id = seen.back().id;
  CHECK(last_id.rfind("r", 0) == 0);  // a resume token, not a counter
  first->response.event_stream->close();

  // Missed while disconnected: a chat message, a room message, another chat.
  send_chat(f, "carol@localhost", R"({"to":"alice@localhost","body":"two"})");
  REQUIRE(f.post("/rooms/" + room + "/messages", R"({"body":"three"})", "bob@localhost").status ==
          200);
  send_chat(f, "bob@localhost", R"({"to":"alice@localhost","body":"four"})");
  // Not for alice: not replayed.
  send_chat(f, "bob@localhost", R"({"to":"carol@localhost","body":"not mine"})");

  std::vector<std::string> missed = {"two", "three", "four"};
  for (bool in_query : {false, true}) {
    INFO("id in the query: " << in_query);
    auto resumed = open_stream(f, last_id, in_query);
    REQUIRE(resumed->response.status == 200);
    auto events = events_eventually(resumed->out, missed.size());
    CHECK(bodies(events) == missed);
    CHECK(events[1].name == "room.message");
    // Ids increase along the replay.
    for (std::size_t i = 1; i < events.size(); ++i) {
      CHECK(mimrest::parse_sse_event_id(events[i].id) >
            mimrest::parse_sse_event_id(events[i - 1].id));
    }
    // Then live, with no gap.
    send_chat(f, "bob@localhost", R"({"to":"alice@localhost","body":"live"})");
    events = events_eventually(resumed->out, missed.size() + 1);
    CHECK(bodies(events).back() == "live");
    CHECK(events.size() == missed.size() + 1);
    resumed->response.event_stream->close();
    missed.push_back("live");  // missed by the next reconnection from last_id
  }
}

// not-gateway: the gateway keeps no event log: no resumable streams.
TEST_CASE("Beyond sse.max_replay the stream starts with a reset", "[not-gateway]") {
  ApiFixture f(resumable(2));
  auto first = open_stream(f, std::nullopt);
  send_chat(f, "bob@localhost", R"({"to":"alice@localhost","body":"seen"})");
  const std::string last_id = events_eventually(first->out, 1).back().id;
  first->response.event_stream->close();
  for (const char* body : {"a", "b", "c"}) {
    send_chat(f, "bob@localhost",
              std::string(R"({"to":"alice@localhost","body":")") + body + "\"}");
  }
  auto resumed = open_stream(f, last_id);
  REQUIRE(resumed->response.status == 200);
  std::string text;
  for (int i = 0; i < 5000 && text.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    text = resumed->out.text();
  }
  CHECK(text == "event: reset\ndata: {}\n\n");
  resumed->response.event_stream->close();

  // Exactly max_replay missed events are replayed.
  auto again = open_stream(f, std::nullopt);
  send_chat(f, "bob@localhost", R"({"to":"alice@localhost","body":"mark"})");
  const std::string mark = events_eventually(again->out, 1).back().id;
  again->response.event_stream->close();
  send_chat(f, "bob@localhost", R"({"to":"alice@localhost","body":"x"})");
  send_chat(f, "bob@localhost", R"({"to":"alice@localhost","body":"y"})");
  auto replayed = open_stream(f, mark);
  CHECK(bodies(events_eventually(replayed->out, 2)) == std::vector<std::string>{"x", "y"});
  replayed->response.event_stream->close();
}

// not-gateway: the gateway keeps no event log: no resumable streams.
TEST_CASE("A Last-Event-ID that was never issued answers 400", "[not-gateway]") {
  ApiFixture f(resumable());
  for (const std::string id : {"r999999", "r0", "banana", "", "17"}) {
    INFO(id);
    auto stream = open_stream(f, id);
    CHECK(stream->response.status == 400);
    CHECK(stream->response.body == "\"Invalid Last-Event-ID\"");
    CHECK_FALSE(stream->response.event_stream);
  }
  CHECK(f.store().session_count(f.alice) == 0);
  // The refused attempts did not use up the streams allowed per user.
  std::vector<std::shared_ptr<SseStream>> open;
  for (int i = 0; i < 10; ++i) {
    auto response = f.get("/sse");
    CHECK(response.status == 200);
    open.push_back(response.event_stream);
  }
  CHECK(f.get("/sse").status == 429);
  for (auto& stream : open) {
    stream->close();
  }
}

TEST_CASE("Without sse.resume the Last-Event-ID header is ignored, as in MongooseIM") {
  ApiFixture f;
  auto stream = open_stream(f, std::string("r5"));
  REQUIRE(stream->response.status == 200);
  send_chat(f, "bob@localhost", R"({"to":"alice@localhost","body":"x"})");
  CHECK(parse_events(stream->out.text()).at(0).id == "1");
  stream->response.event_stream->close();
}

// not-gateway: the gateway keeps no event log: no resumable streams.
TEST_CASE("A resumed stream replays exactly what the live stream would have pushed",
          "[not-gateway]") {
  ApiFixture f(resumable());
  auto first = open_stream(f, std::nullopt);
  send_chat(f, "bob@localhost", R"({"to":"alice@localhost","body":"seen"})");
  const std::string last_id = events_eventually(first->out, 1).back().id;
  // While connected, alice's own one-to-one messages are not pushed to her...
  send_chat(f, "alice@localhost", R"({"to":"bob@localhost","body":"mine"})");
  send_chat(f, "bob@localhost", R"({"to":"alice@localhost","body":"theirs"})");
  CHECK(bodies(events_eventually(first->out, 2)) == std::vector<std::string>{"seen", "theirs"});
  first->response.event_stream->close();
  // ...so a stream resumed from before them does not replay them either.
  auto resumed = open_stream(f, last_id);
  CHECK(bodies(events_eventually(resumed->out, 1)) == std::vector<std::string>{"theirs"});
  resumed->response.event_stream->close();
}
