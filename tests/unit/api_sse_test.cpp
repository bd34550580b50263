// GET /sse through Api::handle with the in-memory backend: the session it
// opens, the events pushed to it, and closing.
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "api_fixture.hpp"
#include "mimrest/sse.hpp"
#include "recording_sink.hpp"

using mimrest::Response;
using mimrest::SseStream;
using mimrest::test::ApiFixture;
using mimrest::test::FixtureOptions;
using mimrest::test::parse_json;
using mimrest::test::RecordingWriter;

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
  CHECK(f.memory().session_count(f.alice) == 1);
  CHECK_FALSE(response.event_stream->closed());

  response.event_stream->close();
  CHECK(response.event_stream->closed());
  CHECK(f.memory().session_count(f.alice) == 0);
  response.event_stream->close();  // idempotent
  CHECK(f.memory().session_count(f.alice) == 0);
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
  CHECK(f.memory().session_count(f.alice) == 0);
}

TEST_CASE("A chat message sent through the API is pushed as a message event") {
  ApiFixture f;
  auto response = f.get("/sse");
  REQUIRE(response.event_stream);
  RecordingWriter out;
  response.event_stream->attach(out.writer());

  auto id = send_chat(f, "bob@localhost", R"({"to":"alice@localhost","body":"hi <there>"})");
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
  CHECK(f.memory().session_count(f.alice) == 0);
  send_chat(f, "bob@localhost", R"({"to":"alice@localhost","body":"after close"})");
  CHECK(parse_events(out.text()).size() == 2);
}

TEST_CASE("Events before attach are kept; each stream counts its own ids") {
  ApiFixture f;
  auto first = f.get("/sse").event_stream;
  auto second = f.get("/sse").event_stream;
  REQUIRE(first);
  REQUIRE(second);
  CHECK(f.memory().session_count(f.alice) == 2);

  send_chat(f, "bob@localhost", R"({"to":"alice@localhost","body":"one"})");
  RecordingWriter a;
  first->attach(a.writer());
  send_chat(f, "bob@localhost", R"({"to":"alice@localhost","body":"two"})");
  RecordingWriter b;
  second->attach(b.writer());

  for (auto* collector : {&a, &b}) {
    auto events = parse_events(collector->text());
    REQUIRE(events.size() == 2);
    CHECK(events[0].id == "1");
    CHECK(events[1].id == "2");
    CHECK(std::string(parse_json(events[0].data)["body"].GetString()) == "one");
    CHECK(std::string(parse_json(events[1].data)["body"].GetString()) == "two");
  }
  first->close();
  CHECK(f.memory().session_count(f.alice) == 1);
  second->close();
  CHECK(f.memory().session_count(f.alice) == 0);
}

TEST_CASE("Room messages are pushed as room.message events with the room") {
  ApiFixture f;
  auto stream = f.get("/sse").event_stream;
  REQUIRE(stream);
  RecordingWriter out;
  stream->attach(out.writer());

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

TEST_CASE("The SSE timestamp unit is configurable") {
  FixtureOptions options;
  options.api.sse_timestamp_unit = mimrest::TimestampUnit::milliseconds;
  ApiFixture f(std::move(options));
  auto stream = f.get("/sse").event_stream;
  REQUIRE(stream);
  RecordingWriter out;
  stream->attach(out.writer());
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
  CHECK(f.memory().session_count(f.bob) == 1);
  CHECK(f.memory().session_count(f.alice) == 0);
  stream->close();
  CHECK(f.memory().session_count(f.bob) == 0);
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
  stream->attach(out.writer());
  std::thread closer([&] { stream->close(); });
  for (auto& sender : senders) {
    sender.join();
  }
  closer.join();
  CHECK(accepted == 2 * kPerSender);
  CHECK(f.memory().session_count(f.alice) == 0);
  auto events = parse_events(out.text());
  CHECK(events.size() <= 2 * kPerSender);
  CHECK(stream->events_sent() == events.size());
  for (std::size_t i = 0; i < events.size(); ++i) {
    CHECK(events[i].id == std::to_string(i + 1));
  }
}
