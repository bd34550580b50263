// ServingGate, the adapter kit (include/mimrest/serving.hpp): the answers a
// transport gives itself, request accounting and the drain on stop(), the
// event streams it keeps alive and ends, and the header filter.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include <catch2/catch.hpp>

#include "mimrest/api.hpp"
#include "mimrest/crypto.hpp"
#include "mimrest/memory/memory_backend.hpp"
#include "mimrest/serving.hpp"
#include "mimrest/sse.hpp"
#include "recording_writer.hpp"
#include "test_jid.hpp"

using mimrest::Api;
using mimrest::ApiConfig;
using mimrest::Request;
using mimrest::Response;
using mimrest::ServingGate;
using mimrest::SseStream;
using mimrest::test::RecordingWriter;
using namespace std::chrono_literals;

namespace {

constexpr std::string_view kKeepalive = ": keepalive\n\n";
constexpr std::string_view kChat =
    R"(<message type="chat" from="bob@localhost/r" to="alice@localhost" id="m1"><body>hi</body></message>)";

// A router whose calls wait until the test lets them go: a call into the Api
// that is under way while the gate stops.
class GatedRouter final : public mimrest::MessageRouter {
 public:
  void async_route_chat_message(const mimrest::Caller&, const mimrest::Jid&, std::string,
                                mimrest::Completion<mimrest::RouteResult> done) override {
    std::unique_lock<std::mutex> lock(mutex_);
    entered_ = true;
    changed_.notify_all();
    changed_.wait(lock, [this] { return released_; });
    lock.unlock();
    done({});
  }
  void wait_until_entered() {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [this] { return entered_; });
  }
  void release() {
    std::lock_guard<std::mutex> lock(mutex_);
    released_ = true;
    changed_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool entered_ = false;
  bool released_ = false;
};

// The memory backend with alice and bob (password "secret").
struct Host {
  explicit Host(ApiConfig config = {}) {
    REQUIRE(memory.add_user(mimrest::test::jid("alice@localhost"), "secret"));
    REQUIRE(memory.add_user(mimrest::test::jid("bob@localhost"), "secret"));
    backend = memory.backend();
    api = std::make_unique<Api>(std::move(config), backend);
  }
  Request request(std::string method, std::string path, std::string body = {}) const {
    Request request;
    request.method = std::move(method);
    request.path = "/api" + path;
    request.headers.add("Authorization",
                        "Basic " + mimrest::base64_encode("alice@localhost:secret"));
    if (!body.empty()) {
      request.headers.add("Content-Type", "application/json");
    }
    request.body = std::move(body);
    return request;
  }

  mimrest::memory::MemoryBackend memory{[] {
    mimrest::HostingConfig config;
    config.password_iterations = 1;
    return config;
  }()};
  mimrest::Backend backend;
  std::unique_ptr<Api> api;
};

// The answer a gate gives to one request, when it gives one inline.
struct Answer {
  std::optional<Response> response;
  mimrest::Responder responder() {
    return [this](Response given) { response = std::move(given); };
  }
};

std::shared_ptr<SseStream> make_stream(SseStream::Options options = {}) {
  options.now_us = [] { return std::int64_t{1234}; };
  return std::make_shared<SseStream>(std::move(options));
}

// Runs `work` on a thread and tells whether it has finished.
class Background {
 public:
  template <class Work>
  explicit Background(Work work)
      : thread_([this, work = std::move(work)]() mutable {
          work();
          finished_ = true;
        }) {}
  ~Background() { join(); }
  bool finished() const { return finished_; }
  void join() {
    if (thread_.joinable()) {
      thread_.join();
    }
  }

 private:
  std::atomic<bool> finished_{false};
  std::thread thread_;
};

}  // namespace

TEST_CASE("The body limit is the Api's, and its answer is 413 with the common headers") {
  ApiConfig config;
  config.max_body_bytes = 100;
  config.server_name = "gatekeeper";
  Host host(config);
  ServingGate gate(*host.api);

  CHECK_FALSE(gate.body_too_large(0));
  CHECK_FALSE(gate.body_too_large(100));
  CHECK(gate.body_too_large(101));
  CHECK(gate.body_too_large(std::uint64_t{1} << 40));  // a declared Content-Length

  const Response response = gate.body_too_large();
  CHECK(response.status == 413);
  CHECK(response.body == R"("Request body too large")");
  CHECK(response.headers.get("Content-Type") ==
        std::optional<std::string_view>("application/json"));
  CHECK(response.headers.get("Server") == std::optional<std::string_view>("gatekeeper"));
  CHECK(response.event_stream == nullptr);
}

TEST_CASE("The default body limit is 1 MiB") {
  Host host;
  ServingGate gate(*host.api);
  CHECK_FALSE(gate.body_too_large(1 << 20));
  CHECK(gate.body_too_large((1 << 20) + 1));
}

TEST_CASE("A transport's own answers carry the Api's common headers and a JSON string body") {
  ApiConfig config;
  config.server_name = "edge";
  Host host(config);
  ServingGate gate(*host.api);

  const Response header_limit = gate.transport_error(431, "Request header fields too large");
  CHECK(header_limit.status == 431);
  CHECK(header_limit.body == R"("Request header fields too large")");
  CHECK(header_limit.headers.get("Content-Type") ==
        std::optional<std::string_view>("application/json"));
  CHECK(header_limit.headers.get("Server") == std::optional<std::string_view>("edge"));

  // The message is encoded as JSON, whatever it holds.
  const Response quoted = gate.transport_error(400, "a \"quoted\" \\ word\n");
  CHECK(quoted.status == 400);
  CHECK(quoted.body == R"("a \"quoted\" \\ word\n")");

  const Response stopping = gate.stopping_response();
  CHECK(stopping.status == 503);
  CHECK(stopping.body == R"("Service unavailable")");
  CHECK(stopping.headers.get("Server") == std::optional<std::string_view>("edge"));
  CHECK(stopping.headers.get("Content-Type") ==
        std::optional<std::string_view>("application/json"));
}

TEST_CASE("Framing and connection headers belong to the transport") {
  for (const char* name : {"Content-Length", "content-length", "Transfer-Encoding", "Connection",
                           "KEEP-ALIVE", "Upgrade", "TE", "te", "Trailer"}) {
    INFO(name);
    CHECK(mimrest::is_transport_header(name));
  }
  for (const char* name : {"Content-Type", "Server", "Allow", "Cache-Control", "WWW-Authenticate",
                           "Trailers", "TE2", "", "Content-Length2"}) {
    INFO(name);
    CHECK_FALSE(mimrest::is_transport_header(name));
  }
}

TEST_CASE("handle() passes requests to the Api") {
  Host host;
  ServingGate gate(*host.api);
  Answer contacts;
  CHECK(gate.handle(host.request("GET", "/contacts"), contacts.responder()));
  REQUIRE(contacts.response);
  CHECK(contacts.response->status == 200);
  CHECK(contacts.response->body == "[]");

  Answer missing;
  CHECK(gate.handle(host.request("GET", "/nothing"), missing.responder()));
  REQUIRE(missing.response);
  CHECK(missing.response->status == 404);
}

TEST_CASE("Tickets count the requests in flight") {
  Host host;
  ServingGate gate(*host.api);
  CHECK(gate.in_flight() == 0);
  {
    auto first = gate.enter();
    REQUIRE(first);
    CHECK(gate.in_flight() == 1);
    auto second = gate.enter();
    REQUIRE(second);
    CHECK(gate.in_flight() == 2);

    // A moved ticket is still one request.
    ServingGate::Ticket moved(std::move(*first));
    first.reset();
    CHECK(gate.in_flight() == 2);

    // Assigning over a ticket releases the one it held.
    *second = std::move(moved);
    CHECK(gate.in_flight() == 1);
  }
  CHECK(gate.in_flight() == 0);
  CHECK_FALSE(gate.stopping());
}

TEST_CASE("stop() refuses new requests: the adapter answers them 503") {
  Host host;
  ServingGate gate(*host.api);
  CHECK(gate.stop(0ms));  // nothing in flight: drained
  CHECK(gate.stopping());
  CHECK_FALSE(gate.enter().has_value());
  CHECK(gate.in_flight() == 0);  // a refused ticket is not counted

  std::atomic<bool> answered{false};
  const bool handled =
      gate.handle(host.request("GET", "/contacts"), [&answered](Response) { answered = true; });
  CHECK_FALSE(handled);
  CHECK_FALSE(answered);
  CHECK(gate.stopping_response().status == 503);
}

TEST_CASE("stop() waits for the requests in flight, within the drain") {
  Host host;
  ServingGate gate(*host.api);
  auto ticket = gate.enter();
  REQUIRE(ticket);

  std::atomic<bool> drained{false};
  Background stopper([&] { drained = gate.stop(10s); });
  while (!gate.stopping()) {
    std::this_thread::yield();
  }
  // Stopping: new requests are refused while the old one is still served.
  CHECK_FALSE(gate.enter().has_value());
  std::this_thread::sleep_for(50ms);
  CHECK_FALSE(stopper.finished());
  CHECK(gate.in_flight() == 1);

  ticket.reset();  // the last byte of its answer is out
  stopper.join();
  CHECK(drained);
  CHECK(gate.in_flight() == 0);
}

TEST_CASE("stop() gives up on requests that outlast the drain") {
  Host host;
  ServingGate gate(*host.api);
  auto ticket = gate.enter();
  REQUIRE(ticket);
  const auto start = std::chrono::steady_clock::now();
  CHECK_FALSE(gate.stop(50ms));
  CHECK(std::chrono::steady_clock::now() - start >= 50ms);
  CHECK(gate.in_flight() == 1);
  ticket.reset();  // released after stop(): harmless
  CHECK(gate.in_flight() == 0);
}

TEST_CASE("stop() waits for calls into the Api that are under way") {
  Host host;
  GatedRouter router;
  host.backend.router = &router;
  Api api(ApiConfig{}, host.backend);
  ServingGate gate(api);

  std::atomic<int> status{0};
  Background caller([&] {
    gate.handle(host.request("POST", "/messages", R"({"to":"bob@localhost","body":"hi"})"),
                [&status](Response response) { status = response.status; });
  });
  router.wait_until_entered();

  std::atomic<bool> drained{false};
  Background stopper([&] { drained = gate.stop(0ms); });
  while (!gate.stopping()) {
    std::this_thread::yield();
  }
  std::this_thread::sleep_for(50ms);
  CHECK_FALSE(stopper.finished());  // the router still runs inside the Api
  CHECK_FALSE(caller.finished());

  router.release();
  caller.join();
  stopper.join();
  CHECK(status == 200);
  CHECK(drained);  // handle() holds no ticket: only enter() does

  // Once stop() has returned, nothing reaches the Api.
  std::atomic<bool> answered{false};
  CHECK_FALSE(gate.handle(host.request("GET", "/contacts"), [&](Response) { answered = true; }));
  CHECK_FALSE(answered);
}

TEST_CASE("tick() sends a keepalive to every started stream") {
  ApiConfig config;
  config.sse.keepalive_interval = 250ms;
  Host host(config);
  ServingGate gate(*host.api);
  CHECK(gate.keepalive_interval() == 250ms);

  auto started = make_stream();
  auto waiting = make_stream();  // its response headers are not out yet
  RecordingWriter started_writer;
  started_writer.attach(*started);
  REQUIRE(gate.add_stream(started));
  REQUIRE(gate.add_stream(waiting));
  CHECK(gate.open_streams() == 2);

  gate.tick();
  CHECK(started_writer.text() == kKeepalive);
  gate.tick();
  CHECK(started_writer.text() == std::string(kKeepalive) + std::string(kKeepalive));

  // Nothing was queued for the stream that had not started.
  RecordingWriter waiting_writer;
  waiting_writer.attach(*waiting);
  CHECK(waiting_writer.text().empty());
  gate.tick();
  CHECK(waiting_writer.text() == kKeepalive);
  CHECK(gate.open_streams() == 2);
}

TEST_CASE("forget_closed() forgets closed streams and writes nothing") {
  Host host;
  ServingGate gate(*host.api);
  auto open = make_stream();
  auto closing = make_stream();
  RecordingWriter open_writer;
  RecordingWriter closing_writer;
  open_writer.attach(*open);
  closing_writer.attach(*closing);
  REQUIRE(gate.add_stream(open));
  REQUIRE(gate.add_stream(closing));

  closing->close();
  CHECK(gate.open_streams() == 1);
  gate.forget_closed();
  CHECK(gate.open_streams() == 1);
  CHECK(open_writer.text().empty());  // no keepalive from forget_closed()
  CHECK_FALSE(open->closed());

  gate.tick();
  CHECK(open_writer.text() == kKeepalive);
  CHECK(closing_writer.text().empty());
}

TEST_CASE("The gate does not keep a stream alive") {
  Host host;
  ServingGate gate(*host.api);
  std::atomic<int> closes{0};
  SseStream::Options options;
  options.on_close = [&closes] { ++closes; };
  auto stream = make_stream(std::move(options));
  std::weak_ptr<SseStream> watch = stream;
  REQUIRE(gate.add_stream(stream));

  stream.reset();  // the transport dropped it
  CHECK(watch.expired());
  CHECK(closes == 1);  // its destructor ended it
  CHECK(gate.open_streams() == 0);
  gate.tick();  // nothing left to write to
  gate.forget_closed();
  CHECK(gate.open_streams() == 0);
}

TEST_CASE("A stream whose client leaves too much unread is ended at the next write") {
  Host host;
  ServingGate gate(*host.api);
  std::atomic<int> wakes{0};
  std::atomic<std::size_t> unread{0};
  std::atomic<int> closes{0};
  SseStream::Options options;
  options.max_unread_bytes = 100;
  options.on_close = [&closes] { ++closes; };
  auto stream = make_stream(std::move(options));
  SseStream::Transport transport;
  transport.wake = [&wakes] { ++wakes; };  // takes nothing: the bytes stay queued
  transport.unread_bytes = [&unread] { return unread.load(); };
  stream->start(std::move(transport));
  REQUIRE(gate.add_stream(stream));

  gate.tick();  // 13 bytes queued
  CHECK_FALSE(stream->closed());
  // With the transport's own unread bytes, the next write reaches the cap
  // exactly: still allowed.
  unread = 100 - 2 * kKeepalive.size();
  gate.tick();
  CHECK_FALSE(stream->closed());
  const int wakes_before = wakes;
  gate.tick();  // over the cap
  CHECK(stream->closed());
  CHECK(closes == 1);
  CHECK(wakes > wakes_before);    // woken once more, to end the response
  CHECK(stream->take().empty());  // the queued bytes were released
  CHECK(gate.open_streams() == 0);

  gate.tick();  // a closed stream gets nothing more
  CHECK(stream->take().empty());
  CHECK(closes == 1);
}

TEST_CASE("A client that reads keeps its stream, one that does not loses it") {
  Host host;
  ServingGate gate(*host.api);
  SseStream::Options options;
  options.max_unread_bytes = 1000;
  auto reading = make_stream(options);
  auto stalled = make_stream(options);
  RecordingWriter reader;
  reader.attach(*reading);
  SseStream::Transport nothing_read;
  nothing_read.wake = [] {};
  stalled->start(std::move(nothing_read));
  REQUIRE(gate.add_stream(reading));
  REQUIRE(gate.add_stream(stalled));

  std::size_t queued = 0;
  for (int i = 0; i < 100; ++i) {
    auto stanza = mimrest::RoutedStanza::make(std::string(kChat), 0);
    reading->deliver(stanza);
    if (!stalled->closed()) {
      const std::size_t before = stalled->events_sent();
      stalled->deliver(stanza);
      if (!stalled->closed()) {
        CHECK(stalled->events_sent() == before + 1);
        ++queued;
      }
    }
  }
  CHECK_FALSE(reading->closed());
  CHECK(reading->events_sent() == 100);
  CHECK(stalled->closed());
  CHECK(queued > 0);
  CHECK(queued < 100);
  CHECK(stalled->take().empty());
  CHECK(gate.open_streams() == 1);
}

TEST_CASE("An event stream from the Api: the cap is the Api's, and its end gives its place back") {
  ApiConfig config;
  config.sse.max_unread_bytes = 200;
  config.sse.max_streams_per_user = 1;
  Host host(config);
  ServingGate gate(*host.api);

  Answer opened;
  REQUIRE(gate.handle(host.request("GET", "/sse"), opened.responder()));
  REQUIRE(opened.response);
  REQUIRE(opened.response->status == 200);
  auto stream = opened.response->event_stream;
  REQUIRE(stream != nullptr);
  SseStream::Transport nothing_read;
  nothing_read.wake = [] {};
  stream->start(std::move(nothing_read));
  REQUIRE(gate.add_stream(stream));

  Answer second;
  REQUIRE(gate.handle(host.request("GET", "/sse"), second.responder()));
  REQUIRE(second.response);
  CHECK(second.response->status == 429);
  CHECK(second.response->body == R"("Too many event streams")");

  // 200 bytes hold 15 keepalives of 13 bytes; the 16th is over the cap.
  for (int i = 0; i < 15; ++i) {
    gate.tick();
  }
  CHECK_FALSE(stream->closed());
  CHECK(gate.open_streams() == 1);
  gate.tick();
  CHECK(stream->closed());
  CHECK(gate.open_streams() == 0);

  Answer third;
  REQUIRE(gate.handle(host.request("GET", "/sse"), third.responder()));
  REQUIRE(third.response);
  CHECK(third.response->status == 200);
  REQUIRE(third.response->event_stream != nullptr);
  third.response->event_stream->close();
}

TEST_CASE("stop() ends the open streams and refuses new ones") {
  Host host;
  ServingGate gate(*host.api);
  auto first = make_stream();
  auto second = make_stream();
  std::atomic<int> wakes{0};
  SseStream::Transport transport;
  transport.wake = [&wakes] { ++wakes; };
  first->start(std::move(transport));
  REQUIRE(gate.add_stream(first));
  REQUIRE(gate.add_stream(second));
  CHECK(gate.open_streams() == 2);

  CHECK(gate.stop(0ms));
  CHECK(first->closed());
  CHECK(second->closed());
  CHECK(wakes >= 1);  // the transport is told, so that it ends the response
  CHECK(gate.open_streams() == 0);

  auto late = make_stream();
  CHECK_FALSE(gate.add_stream(late));
  CHECK(late->closed());
  CHECK(gate.open_streams() == 0);
}
