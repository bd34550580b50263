#include "mimrest/cpprest/listener.hpp"

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include <cpprest/http_listener.h>
#include <cpprest/producerconsumerstream.h>

#include "mimrest/http.hpp"
#include "mimrest/sse.hpp"
#include "tls.hpp"

namespace mimrest::cpprest {
namespace {

namespace http = web::http;
using http::experimental::listener::http_listener;
using http::experimental::listener::http_listener_config;
using SseBuffer = concurrency::streams::producer_consumer_buffer<std::uint8_t>;

// Request bodies are read in pieces of this size.
constexpr std::size_t body_chunk_bytes = 16 * 1024;
// An SSE client that leaves this much unread is not keeping up: its stream is
// ended rather than buffering without bound.
constexpr std::size_t sse_backlog_limit = 4 << 20;
// How long stop() lets in-flight requests finish before closing connections.
constexpr std::chrono::seconds drain_timeout{10};

template <class T>
void observe(const pplx::task<T>& task) {
  // An unobserved failed task terminates the process in pplx: look at every one.
  task.then([](pplx::task<T> done) {
    try {
      done.get();
    } catch (...) {
    }
  });
}

/// One open GET /sse response: the core's stream and the buffer the listener
/// reads the chunked body from.
struct SseConnection {
  std::shared_ptr<SseStream> stream;
  SseBuffer buffer;

  /// Closes the backend session and ends the HTTP response. Idempotent.
  void end() {
    stream->close();
    if (buffer.can_write()) {
      observe(buffer.close(std::ios_base::out));
    }
  }
};

/// One request while its body is read and the core answers it.
struct Incoming {
  http::http_request http;
  Request request;
  std::vector<std::uint8_t> chunk;
  std::size_t limit = 0;  // bytes kept: the core answers 413 beyond max_body_bytes
};

}  // namespace

/// State shared with the cpprestsdk callbacks, which may outlive the Listener
/// object by a little (a reply completing while stop() returns).
struct ListenerState {
  ListenerState(const Api& api_ref, ListenerOptions listener_options)
      : api(api_ref), options(std::move(listener_options)) {}

  const Api& api;
  const ListenerOptions options;

  std::mutex mutex;
  std::condition_variable changed;
  bool serving = false;       // new requests are accepted
  bool api_open = false;      // calls into the Api may start
  std::size_t in_flight = 0;  // accepted requests whose reply has not completed
  std::size_t in_api = 0;     // threads inside Api::handle
  std::uint64_t next_stream_id = 1;
  std::unordered_map<std::uint64_t, std::shared_ptr<SseConnection>> streams;
  bool ticking = false;          // the keepalive thread runs
  std::condition_variable tick;  // wakes the keepalive thread to stop

  void request_done() {
    std::lock_guard<std::mutex> lock(mutex);
    --in_flight;
    changed.notify_all();
  }
};

namespace {

using StatePtr = std::shared_ptr<ListenerState>;

Request copy_request(const http::http_request& in) {
  Request out;
  out.method = in.method();
  // The URI keeps its percent-encoding: the core decodes path segments itself.
  const auto& uri = in.request_uri();
  out.path = uri.path();
  out.query = uri.query();
  for (const auto& [name, value] : in.headers()) {
    out.headers.add(name, value);
  }
  return out;
}

void send(const StatePtr& state, http::http_request& request, const Response& response) {
  http::http_response out(static_cast<http::status_code>(response.status));
  // A HEAD answer carries no body.
  if (!response.body.empty() && request.method() != http::methods::HEAD) {
    out.set_body(std::vector<unsigned char>(response.body.begin(), response.body.end()));
    // set_body labels the bytes; the core's own Content-Type (if any) is added below.
    out.headers().remove(http::header_names::content_type);
  }
  for (const auto& [name, value] : response.headers) {
    // Framing belongs to the transport.
    if (iequals(name, "Content-Length") || iequals(name, "Transfer-Encoding")) {
      continue;
    }
    out.headers().add(name, value);
  }
  request.reply(out).then([state](pplx::task<void> sent) {
    try {
      sent.get();
    } catch (...) {
      // The client went away; nothing to tell anyone.
    }
    state->request_done();
  });
}

void send_status(const StatePtr& state, http::http_request& request, int status) {
  Response response;
  response.status = status;
  send(state, request, response);
}

void serve_event_stream(const StatePtr& state, http::http_request& request, Response response) {
  auto connection = std::make_shared<SseConnection>();
  connection->stream = std::move(response.event_stream);
  std::uint64_t id = 0;
  {
    std::lock_guard<std::mutex> lock(state->mutex);
    if (state->serving) {
      id = state->next_stream_id++;
      state->streams.emplace(id, connection);
    }
  }
  if (id == 0) {
    // Stopping: do not open a stream that nobody will end.
    connection->stream->close();
    send_status(state, request, 503);
    return;
  }

  http::http_response out(static_cast<http::status_code>(response.status));
  // No length: cpprestsdk sends the body with chunked transfer coding as the
  // buffer fills, and ends it when the buffer is closed for writing.
  out.set_body(concurrency::streams::istream(connection->buffer));
  out.headers().remove(http::header_names::content_type);
  for (const auto& [name, value] : response.headers) {
    if (iequals(name, "Content-Length") || iequals(name, "Transfer-Encoding")) {
      continue;
    }
    out.headers().add(name, value);
  }

  SseBuffer buffer = connection->buffer;
  connection->stream->attach([buffer](std::string_view bytes) mutable {
    if (bytes.empty() || !buffer.can_write()) {
      return;
    }
    // The producer/consumer buffer copies synchronously; sync() releases the
    // bytes to the pending read at once instead of waiting for a full chunk.
    observe(buffer.putn_nocopy(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
    observe(buffer.sync());
  });

  request.reply(out).then([state, connection, id](pplx::task<void> sent) {
    try {
      sent.get();
    } catch (...) {
      // A failed write: the client is gone.
    }
    // However the response ended, the user's session ends with it.
    connection->end();
    {
      std::lock_guard<std::mutex> lock(state->mutex);
      state->streams.erase(id);
    }
    state->request_done();
  });
}

void dispatch(const StatePtr& state, const std::shared_ptr<Incoming>& incoming) {
  {
    std::lock_guard<std::mutex> lock(state->mutex);
    if (!state->api_open) {
      // The Api may be gone soon after stop(): never call it then.
      incoming->http.reply(http::status_codes::ServiceUnavailable);
      --state->in_flight;
      state->changed.notify_all();
      return;
    }
    ++state->in_api;
  }
  Response response;
  try {
    response = state->api.handle(incoming->request);
  } catch (...) {
    // Api::handle does not throw for bad input; this is a host failure.
    response = Response{};
    response.status = 500;
  }
  {
    std::lock_guard<std::mutex> lock(state->mutex);
    --state->in_api;
    state->changed.notify_all();
  }
  if (response.event_stream) {
    serve_event_stream(state, incoming->http, std::move(response));
  } else {
    send(state, incoming->http, response);
  }
}

void read_body(const StatePtr& state, const std::shared_ptr<Incoming>& incoming) {
  auto body = incoming->http.body().streambuf();
  body.getn(incoming->chunk.data(), incoming->chunk.size())
      .then([state, incoming](pplx::task<std::size_t> read) {
        std::size_t count = 0;
        try {
          count = read.get();
        } catch (...) {
          // The body never arrived whole (connection lost, bad chunking).
          incoming->chunk.clear();
          send_status(state, incoming->http, 400);
          return;
        }
        if (count == 0) {
          incoming->chunk.clear();
          incoming->chunk.shrink_to_fit();
          dispatch(state, incoming);
          return;
        }
        // Keep one byte beyond the limit so that the core sees the body is too
        // large, and drain the rest so that the connection stays usable.
        auto& kept = incoming->request.body;
        if (kept.size() < incoming->limit) {
          const std::size_t take = std::min(count, incoming->limit - kept.size());
          kept.append(reinterpret_cast<const char*>(incoming->chunk.data()), take);
        }
        read_body(state, incoming);
      });
}

void on_request(const StatePtr& state, http::http_request request) {
  {
    std::lock_guard<std::mutex> lock(state->mutex);
    if (!state->serving) {
      request.reply(http::status_codes::ServiceUnavailable);
      return;
    }
    ++state->in_flight;
  }
  try {
    auto incoming = std::make_shared<Incoming>();
    incoming->http = request;
    incoming->request = copy_request(request);
    incoming->limit = state->api.config().max_body_bytes + 1;
    incoming->chunk.resize(body_chunk_bytes);
    read_body(state, incoming);
  } catch (...) {
    request.reply(http::status_codes::InternalError);
    state->request_done();
  }
}

void keepalive_loop(const StatePtr& state) {
  std::unique_lock<std::mutex> lock(state->mutex);
  auto next = std::chrono::steady_clock::now() + state->options.sse_keepalive;
  while (state->ticking) {
    if (state->tick.wait_until(lock, next, [&] { return !state->ticking; })) {
      break;
    }
    next = std::chrono::steady_clock::now() + state->options.sse_keepalive;
    std::vector<std::shared_ptr<SseConnection>> open;
    open.reserve(state->streams.size());
    for (const auto& entry : state->streams) {
      open.push_back(entry.second);
    }
    lock.unlock();
    for (const auto& connection : open) {
      if (connection->stream->closed() || connection->buffer.in_avail() > sse_backlog_limit) {
        connection->end();
      } else {
        // A write to a vanished client fails, which ends the reply and with
        // it the session.
        connection->stream->keepalive();
      }
    }
    open.clear();
    lock.lock();
  }
}

}  // namespace

struct Listener::Impl {
  Impl(const Api& api, ListenerOptions options)
      : state(std::make_shared<ListenerState>(api, std::move(options))) {}

  StatePtr state;
  std::mutex lifecycle;  // serializes start() and stop()
  std::unique_ptr<http_listener> listener;
  std::thread keepalive;
};

Listener::Listener(const Api& api, ListenerOptions options)
    : impl_(std::make_unique<Impl>(api, std::move(options))) {}

Listener::~Listener() {
  stop();
}

std::string Listener::url() const {
  return impl_->state->options.url;
}

Expected<void, std::string> Listener::start() {
  std::lock_guard<std::mutex> lifecycle(impl_->lifecycle);
  if (impl_->listener) {
    return unexpected(std::string("the listener is already started"));
  }
  const ListenerOptions& options = impl_->state->options;
  if (options.sse_keepalive.count() <= 0) {
    return unexpected(std::string("the SSE keepalive interval must be positive"));
  }

  web::uri uri;
  try {
    uri = web::uri(options.url);
  } catch (const std::exception& e) {
    return unexpected("invalid listen URL '" + options.url + "': " + e.what());
  }
  if (uri.scheme() != "http" && uri.scheme() != "https") {
    return unexpected("listen URL '" + options.url + "' must start with http:// or https://");
  }
  if (uri.host().empty()) {
    return unexpected("listen URL '" + options.url + "' has no host");
  }

  http_listener_config config;
  if (uri.scheme() == "https") {
    if (!options.tls) {
      return unexpected("listen URL '" + options.url +
                        "' is https:// but no TLS certificate and key are configured");
    }
    auto material = detail::load_tls_material(*options.tls);
    if (!material) {
      return unexpected(material.error());
    }
    config.set_ssl_context_callback([shared = std::make_shared<const detail::TlsMaterial>(std::move(
                                         *material))](boost::asio::ssl::context& context) {
      detail::configure_tls_context(context, *shared);
    });
  }

  StatePtr state = impl_->state;
  {
    std::lock_guard<std::mutex> lock(state->mutex);
    state->serving = true;
    state->api_open = true;
  }
  try {
    auto listener = std::make_unique<http_listener>(uri, config);
    auto handler = [state](http::http_request request) { on_request(state, request); };
    listener->support(handler);
    // cpprestsdk answers OPTIONS and TRACE itself unless they have handlers of
    // their own: the core must answer them (Allow, CORS; TRACE would echo the
    // Authorization header back).
    listener->support(http::methods::OPTIONS, handler);
    listener->support(http::methods::TRCE, handler);
    listener->open().wait();
    impl_->listener = std::move(listener);
  } catch (const std::exception& e) {
    std::lock_guard<std::mutex> lock(state->mutex);
    state->serving = false;
    state->api_open = false;
    return unexpected("cannot listen on '" + options.url + "': " + e.what());
  }

  {
    std::lock_guard<std::mutex> lock(state->mutex);
    state->ticking = true;
  }
  impl_->keepalive = std::thread([state] { keepalive_loop(state); });
  return {};
}

void Listener::stop() {
  std::lock_guard<std::mutex> lifecycle(impl_->lifecycle);
  if (!impl_->listener) {
    return;
  }
  StatePtr state = impl_->state;
  std::vector<std::shared_ptr<SseConnection>> open;
  {
    std::lock_guard<std::mutex> lock(state->mutex);
    state->serving = false;
    state->ticking = false;
    for (const auto& entry : state->streams) {
      open.push_back(entry.second);
    }
    state->tick.notify_all();
  }
  if (impl_->keepalive.joinable()) {
    impl_->keepalive.join();
  }
  // Ending the streams lets their responses complete like any other.
  for (const auto& connection : open) {
    connection->end();
  }
  open.clear();
  {
    std::unique_lock<std::mutex> lock(state->mutex);
    state->changed.wait_for(lock, drain_timeout, [&] { return state->in_flight == 0; });
    // Requests still reading their bodies now answer 503; the ones inside
    // the Api must return before the Api may go away.
    state->api_open = false;
    state->changed.wait(lock, [&] { return state->in_api == 0; });
  }
  try {
    // Closes the remaining (idle or stalled) connections and waits for them.
    impl_->listener->close().wait();
  } catch (...) {
  }
  impl_->listener.reset();
}

}  // namespace mimrest::cpprest
