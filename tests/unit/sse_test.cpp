// SseStream on its own: event formatting, filtering, buffering, closing and
// concurrent delivery.
#include <atomic>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <rapidjson/document.h>
#include <catch2/catch.hpp>

#include "mimrest/sse.hpp"
#include "recording_sink.hpp"

using mimrest::Session;
using mimrest::SseStream;
using mimrest::TimestampUnit;
using mimrest::test::RecordingWriter;

namespace {

constexpr std::string_view kChat =
    R"(<message type="chat" from="bob@localhost/r" to="alice@localhost" id="m1"><body>hi</body></message>)";
constexpr std::string_view kGroupchat =
    R"(<message type="groupchat" from="room1@muclight.localhost/bob@localhost" to="alice@localhost" id="g1"><body>yo</body></message>)";

std::shared_ptr<SseStream> make_stream(std::int64_t now = 1234) {
  return std::make_shared<SseStream>(TimestampUnit::microseconds, [now] { return now; });
}

// A session that records its end and, like a backend, may call back into the
// stream from its destructor.
class FakeSession : public Session {
 public:
  FakeSession(std::atomic<bool>& ended, std::function<void()> on_end = {})
      : ended_(ended), on_end_(std::move(on_end)) {}
  ~FakeSession() override {
    if (on_end_) {
      on_end_();
    }
    ended_ = true;
  }

 private:
  std::atomic<bool>& ended_;
  std::function<void()> on_end_;
};

}  // namespace

TEST_CASE("format_sse_event") {
  CHECK(mimrest::format_sse_event(1, "message", "{\"a\":1}") ==
        "id: 1\nevent: message\ndata: {\"a\":1}\n\n");
  CHECK(mimrest::format_sse_event(18446744073709551615ull, "room.message", "{}") ==
        "id: 18446744073709551615\nevent: room.message\ndata: {}\n\n");
}

TEST_CASE("Chat and groupchat messages become events, with ids from 1") {
  auto stream = make_stream(1234);
  RecordingWriter sink;
  stream->attach(sink.writer());
  stream->deliver(kChat);
  stream->deliver(kGroupchat);
  std::string text = sink.text();

  auto first_end = text.find("\n\n");
  REQUIRE(first_end != std::string::npos);
  std::string first = text.substr(0, first_end + 2);
  std::string second = text.substr(first_end + 2);
  REQUIRE(first.rfind("id: 1\nevent: message\ndata: ", 0) == 0);
  REQUIRE(second.rfind("id: 2\nevent: room.message\ndata: ", 0) == 0);

  rapidjson::Document chat;
  auto data_of = [](const std::string& event) {
    auto start = event.find("data: ") + 6;
    return event.substr(start, event.size() - 2 - start);
  };
  std::string chat_data = data_of(first);
  chat.Parse(chat_data.c_str());
  REQUIRE_FALSE(chat.HasParseError());
  CHECK(std::string(chat["from"].GetString()) == "bob@localhost/r");
  CHECK(std::string(chat["body"].GetString()) == "hi");
  CHECK(chat["timestamp"].GetInt64() == 1234);
  CHECK_FALSE(chat.HasMember("room"));

  rapidjson::Document room;
  std::string room_data = data_of(second);
  room.Parse(room_data.c_str());
  REQUIRE_FALSE(room.HasParseError());
  CHECK(std::string(room["room"].GetString()) == "room1");
  CHECK(std::string(room["from"].GetString()) == "bob@localhost");
  CHECK(std::string(room["type"].GetString()) == "message");
  CHECK(room["timestamp"].GetInt64() == 1234);
  CHECK(stream->events_sent() == 2);
}

TEST_CASE("Other stanzas are dropped") {
  auto stream = make_stream();
  RecordingWriter sink;
  stream->attach(sink.writer());
  for (std::string_view stanza : {
           std::string_view(R"(<message type="normal" to="a@b"><body>x</body></message>)"),
           std::string_view(R"(<message to="a@b"><body>x</body></message>)"),
           std::string_view(R"(<message type="headline" to="a@b"><body>x</body></message>)"),
           std::string_view(R"(<message type="error" to="a@b"><body>x</body></message>)"),
           std::string_view(R"(<presence type="chat"/>)"),
           std::string_view(R"(<iq type="chat"/>)"),
           std::string_view(R"(<message type="chat")"),
           std::string_view(""),
           std::string_view(R"(<!DOCTYPE message><message type="chat"><body>x</body></message>)"),
           std::string_view(R"(<message type="chat"/><message type="chat"/>)"),
       }) {
    INFO(stanza);
    stream->deliver(stanza);
  }
  CHECK(sink.text().empty());
  CHECK(stream->events_sent() == 0);
}

TEST_CASE("Events before attach are flushed on attach, in order") {
  auto stream = make_stream();
  stream->deliver(kChat);
  stream->deliver(kChat);
  stream->keepalive();  // not attached: nothing to keep alive, nothing queued
  RecordingWriter sink;
  stream->attach(sink.writer());
  std::string text = sink.text();
  CHECK(text.find("id: 1\n") == 0);
  CHECK(text.find("id: 2\n") != std::string::npos);
  CHECK(text.find("keepalive") == std::string::npos);
  stream->keepalive();
  CHECK(sink.text().substr(text.size()) == ": keepalive\n\n");
}

TEST_CASE("close() ends the session, outside the stream lock, once") {
  auto stream = make_stream();
  std::atomic<bool> ended{false};
  bool closed_seen_by_session = false;
  // The session's destructor calls back into the stream, as a backend may
  // deliver concurrently: it would deadlock if close() held the lock.
  stream->hold_session(std::make_unique<FakeSession>(ended, [&] {
    stream->deliver(kChat);
    closed_seen_by_session = stream->closed();
  }));
  RecordingWriter sink;
  stream->attach(sink.writer());
  stream->close();
  CHECK(ended);
  CHECK(closed_seen_by_session);
  CHECK(stream->closed());
  stream->close();
  stream->deliver(kChat);
  stream->keepalive();
  CHECK(sink.text().empty());
  CHECK(stream->events_sent() == 0);

  // A session handed over after close ends at once.
  std::atomic<bool> late{false};
  stream->hold_session(std::make_unique<FakeSession>(late));
  CHECK(late);
}

TEST_CASE("The stream ends its session when destroyed") {
  std::atomic<bool> ended{false};
  {
    auto stream = make_stream();
    stream->hold_session(std::make_unique<FakeSession>(ended));
    CHECK_FALSE(ended);
  }
  CHECK(ended);
}

TEST_CASE("A throwing writer does not break delivery") {
  auto stream = make_stream();
  int calls = 0;
  stream->attach([&](std::string_view) {
    ++calls;
    throw std::runtime_error("connection reset");
  });
  CHECK_NOTHROW(stream->deliver(kChat));
  CHECK_NOTHROW(stream->deliver(kChat));
  CHECK(calls == 2);
}

TEST_CASE("Concurrent deliveries keep ids unique and in write order") {
  auto stream = make_stream();
  RecordingWriter sink;
  stream->attach(sink.writer());
  constexpr int kThreads = 4;
  constexpr int kPerThread = 200;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) {
        stream->deliver(i % 2 == 0 ? kChat : kGroupchat);
      }
    });
  }
  std::thread closer_check([&] {
    for (int i = 0; i < 100; ++i) {
      (void)stream->events_sent();
      (void)stream->closed();
      stream->keepalive();
    }
  });
  for (auto& thread : threads) {
    thread.join();
  }
  closer_check.join();
  CHECK(stream->events_sent() == kThreads * kPerThread);

  // Ids appear 1..N in order in the written bytes.
  std::string text = sink.text();
  std::uint64_t expected = 1;
  for (std::size_t at = text.find("id: "); at != std::string::npos;
       at = text.find("id: ", at + 1)) {
    if (at != 0 && text[at - 1] != '\n') {
      continue;
    }
    auto end = text.find('\n', at);
    CHECK(text.substr(at + 4, end - at - 4) == std::to_string(expected));
    ++expected;
  }
  CHECK(expected == kThreads * kPerThread + 1);
  stream->close();
}
