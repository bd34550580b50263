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
#include "recording_writer.hpp"

using mimrest::Session;
using mimrest::SseStream;
using mimrest::TimestampUnit;
using mimrest::test::RecordingWriter;

namespace {

constexpr std::string_view kChat =
    R"(<message type="chat" from="bob@localhost/r" to="alice@localhost" id="m1"><body>hi</body></message>)";
constexpr std::string_view kGroupchat =
    R"(<message type="groupchat" from="room1@muclight.localhost/bob@localhost" to="alice@localhost" id="g1"><body>yo</body></message>)";

std::shared_ptr<SseStream> make_stream(std::int64_t now = 1234, SseStream::Options options = {}) {
  options.timestamp_unit = TimestampUnit::microseconds;
  options.now_us = [now] { return now; };
  return std::make_shared<SseStream>(std::move(options));
}

mimrest::RoutedStanzaPtr routed(std::string_view xml, std::uint64_t sequence = 0) {
  return mimrest::RoutedStanza::make(std::string(xml), sequence);
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
  CHECK(mimrest::format_sse_event("1", "message", "{\"a\":1}") ==
        "id: 1\nevent: message\ndata: {\"a\":1}\n\n");
  CHECK(mimrest::format_sse_event("18446744073709551615", "room.message", "{}") ==
        "id: 18446744073709551615\nevent: room.message\ndata: {}\n\n");
}

TEST_CASE("Chat and groupchat messages become events, with ids from 1") {
  auto stream = make_stream(1234);
  RecordingWriter sink;
  sink.attach(*stream);
  stream->deliver(routed(kChat));
  stream->deliver(routed(kGroupchat));
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
  sink.attach(*stream);
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
    stream->deliver(routed(stanza));
  }
  CHECK(sink.text().empty());
  CHECK(stream->events_sent() == 0);
}

TEST_CASE("Events before start are ready to take at once, in order") {
  auto stream = make_stream();
  stream->deliver(routed(kChat));
  stream->deliver(routed(kChat));
  stream->keepalive();  // not attached: nothing to keep alive, nothing queued
  RecordingWriter sink;
  sink.attach(*stream);
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
    stream->deliver(routed(kChat));
    closed_seen_by_session = stream->closed();
  }));
  RecordingWriter sink;
  sink.attach(*stream);
  stream->close();
  CHECK(ended);
  CHECK(closed_seen_by_session);
  CHECK(stream->closed());
  stream->close();
  stream->deliver(routed(kChat));
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

TEST_CASE("A throwing transport does not break delivery") {
  auto stream = make_stream();
  int calls = 0;
  SseStream::Transport transport;
  transport.wake = [&] {
    ++calls;
    throw std::runtime_error("connection reset");
  };
  stream->start(std::move(transport));
  CHECK_NOTHROW(stream->deliver(routed(kChat)));
  CHECK(calls == 1);
  (void)stream->take();  // the transport took the bytes: the next event wakes it again
  CHECK_NOTHROW(stream->deliver(routed(kChat)));
  CHECK(calls == 2);
}

TEST_CASE("Concurrent deliveries keep ids unique and in write order") {
  auto stream = make_stream();
  RecordingWriter sink;
  sink.attach(*stream);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 200;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) {
        stream->deliver(routed(i % 2 == 0 ? kChat : kGroupchat));
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

TEST_CASE("Bytes beyond the unread cap end the stream at that write and are released") {
  SseStream::Options options;
  options.max_unread_bytes = 1000;
  std::atomic<int> closes{0};
  options.on_close = [&] { ++closes; };
  auto stream = make_stream(1, std::move(options));
  std::atomic<bool> ended{false};
  stream->hold_session(std::make_unique<FakeSession>(ended));
  int wakes = 0;
  std::size_t transport_unread = 0;
  SseStream::Transport transport;
  transport.wake = [&] { ++wakes; };
  transport.unread_bytes = [&] { return transport_unread; };
  stream->start(std::move(transport));

  // A client that never reads: the transport holds what it took.
  stream->deliver(routed(kChat));
  CHECK(wakes == 1);
  transport_unread = stream->take().size();
  while (!stream->closed()) {
    stream->deliver(routed(kChat));
  }
  CHECK(transport_unread > 0);
  CHECK(stream->take().empty());  // released at once
  CHECK(ended);                   // the session ended with it
  CHECK(closes == 1);             // and the hook ran once
  CHECK(wakes >= 2);              // the transport was told, so it ends the response
  stream->close();
  CHECK(closes == 1);
}

TEST_CASE("A stanza delivered to many streams is converted once") {
  auto first = make_stream(111);
  auto second = make_stream(222);
  auto stanza = routed(kChat);
  first->deliver(stanza);
  second->deliver(stanza);
  std::string a = first->take();
  std::string b = second->take();
  CHECK(a.find("\"timestamp\":111") != std::string::npos);
  // The second stream got the very same event body, converted by the first.
  CHECK(b.find("\"timestamp\":111") != std::string::npos);
  CHECK(a == b);
}

TEST_CASE("Resumable streams use sequences as event ids") {
  SseStream::Options options;
  options.resumable = true;
  auto stream = make_stream(1, std::move(options));
  stream->deliver(routed(kChat, 41));
  stream->deliver(routed(kGroupchat, 42));
  stream->deliver(routed(kChat));  // not archived: no id line
  std::string text = stream->take();
  CHECK(text.rfind("id: r41\nevent: message\n", 0) == 0);
  CHECK(text.find("id: r42\nevent: room.message\n") != std::string::npos);
  CHECK(text.find("\n\nevent: message\n") != std::string::npos);
  CHECK(stream->events_sent() == 3);

  CHECK(mimrest::sse_event_id(42) == "r42");
  CHECK(mimrest::parse_sse_event_id("r42") == 42u);
  CHECK(mimrest::parse_sse_event_id("r18446744073709551615") == 18446744073709551615ull);
  for (std::string_view bad : {"", "r", "42", "r0", "r042", "r-1", "r4x", "R42", " r42",
                               "r18446744073709551616", "r99999999999999999999"}) {
    INFO(bad);
    CHECK_FALSE(mimrest::parse_sse_event_id(bad));
  }
}

TEST_CASE("Replay: live deliveries wait, duplicates are dropped, then live resumes in order") {
  SseStream::Options options;
  options.resumable = true;
  auto stream = make_stream(1, std::move(options));
  stream->begin_replay();
  // Arrive live while the missed events are read: 11 is also in the replay.
  stream->deliver(routed(kChat, 11));
  stream->deliver(routed(kChat, 12));
  CHECK(stream->take().empty());
  std::vector<mimrest::LoggedEvent> missed = {{10, 5000, std::string(kChat)},
                                              {11, 6000, std::string(kChat)}};
  stream->finish_replay(missed, false);
  stream->deliver(routed(kChat, 13));
  std::string text = stream->take();
  std::vector<std::string> ids;
  for (std::size_t at = text.find("id: "); at != std::string::npos;
       at = text.find("id: ", at + 1)) {
    ids.push_back(text.substr(at + 4, text.find('\n', at) - at - 4));
  }
  CHECK(ids == std::vector<std::string>{"r10", "r11", "r12", "r13"});
  // Replayed events carry their archive time.
  CHECK(text.find("\"timestamp\":5000") != std::string::npos);
}

TEST_CASE("Replay: an event the replay sent is not sent again when it arrives late") {
  SseStream::Options options;
  options.resumable = true;
  auto stream = make_stream(1, std::move(options));
  stream->begin_replay();
  stream->finish_replay({{10, 5000, std::string(kChat)}, {11, 6000, std::string(kChat)}}, false);
  // Another node's events 10 and 11 reach this one only now.
  stream->deliver(routed(kChat, 10));
  stream->deliver(routed(kChat, 11));
  stream->deliver(routed(kChat, 12));
  stream->deliver(routed(kChat));  // not archived: always sent
  std::string text = stream->take();
  CHECK(text.find("id: r10\n") == text.rfind("id: r10\n"));
  CHECK(text.find("id: r11\n") == text.rfind("id: r11\n"));
  CHECK(text.find("id: r12\n") != std::string::npos);
  CHECK(stream->events_sent() == 4);
}

TEST_CASE("Replay beyond the cap starts with a reset, then goes live") {
  SseStream::Options options;
  options.resumable = true;
  auto stream = make_stream(1, std::move(options));
  stream->begin_replay();
  stream->deliver(routed(kChat, 30));
  stream->finish_replay({{20, 1, std::string(kChat)}}, true);
  std::string text = stream->take();
  CHECK(text.rfind("event: reset\ndata: {}\n\n", 0) == 0);
  CHECK(text.find("id: r20") == std::string::npos);
  CHECK(text.find("id: r30") != std::string::npos);
}
