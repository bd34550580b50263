// The cpprestsdk adapter: copies each http_request into a Request, hands it
// to the Api's asynchronous entry point and copies the Response back. What
// every adapter does alike (request accounting, drain, SSE keepalives and
// backlog, header filtering, the body limit) is the core's ServingGate.
#include "mimrest/cpprest/listener.hpp"

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <cpprest/http_listener.h>
#include <cpprest/producerconsumerstream.h>

#include "mimrest/http.hpp"
#include "mimrest/serving.hpp"
#include "mimrest/sse.hpp"
#include "mimrest/tls.hpp"

namespace mimrest::cpprest {
namespace {

namespace http = web::http;
using http::experimental::listener::http_listener;
using http::experimental::listener::http_listener_config;
using SseBuffer = concurrency::streams::producer_consumer_buffer<std::uint8_t>;
using Ticket = ServingGate::Ticket;

// Request bodies are read in pieces of this size.
constexpr std::size_t body_chunk_bytes = 16 * 1024;
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

/// One request while its body is read and the core answers it. Holds the
/// gate's ticket until the reply has been sent.
struct Incoming {
  http::http_request http;
  Request request;
  std::vector<std::uint8_t> chunk;
  std::optional<Ticket> ticket;
};

}  // namespace

/// State shared with the cpprestsdk callbacks, which may outlive the Listener
/// object by a little (a reply completing while stop() returns).
struct ListenerState {
  ListenerState(const Api& api, ListenerOptions listener_options)
      : options(std::move(listener_options)), gate(api) {}

  const ListenerOptions options;
  ServingGate gate;

  std::mutex mutex;
  bool ticking = false;          // the keepalive thread runs
  std::condition_variable tick;  // wakes the keepalive thread to stop
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
  out.remote_address = in.remote_address();
  return out;
}

void copy_headers(const Response& response, http::http_response& out) {
  for (const auto& [name, value] : response.headers) {
    if (!is_transport_header(name)) {
      out.headers().add(name, value);
    }
  }
}

void send(const std::shared_ptr<Incoming>& incoming, const Response& response) {
  http::http_response out(static_cast<http::status_code>(response.status));
  // A HEAD answer carries no body.
  if (!response.body.empty() && incoming->http.method() != http::methods::HEAD) {
    out.set_body(std::vector<unsigned char>(response.body.begin(), response.body.end()));
    // set_body labels the bytes; the core's own Content-Type (if any) is added below.
    out.headers().remove(http::header_names::content_type);
  }
  copy_headers(response, out);
  incoming->http.reply(out).then([incoming](pplx::task<void> sent) {
    try {
      sent.get();
    } catch (...) {
      // The client went away; nothing to tell anyone.
    }
    incoming->ticket.reset();
  });
}

/// Streams an event stream: the SSE bytes go through a producer/consumer
/// buffer that cpprestsdk sends with chunked coding as it fills.
void serve_event_stream(const StatePtr& state, const std::shared_ptr<Incoming>& incoming,
                        const Response& response) {
  std::shared_ptr<SseStream> stream = response.event_stream;
  if (!state->gate.add_stream(stream)) {
    send(incoming, state->gate.stopping_response());
    return;
  }
  http::http_response out(static_cast<http::status_code>(response.status));
  SseBuffer buffer;
  out.set_body(concurrency::streams::istream(buffer));
  out.headers().remove(http::header_names::content_type);
  copy_headers(response, out);

  // Wakes come from any thread: one at a time, so the bytes keep their order.
  auto writing = std::make_shared<std::mutex>();
  std::weak_ptr<SseStream> weak = stream;
  SseStream::Transport transport;
  transport.wake = [weak, buffer, writing]() mutable {
    auto live = weak.lock();
    if (!live) {
      return;
    }
    std::lock_guard<std::mutex> lock(*writing);
    std::string bytes = live->take();
    if (!bytes.empty() && buffer.can_write()) {
      // The buffer copies synchronously; sync() releases the bytes to the
      // pending read at once instead of waiting for a full chunk.
      observe(
          buffer.putn_nocopy(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
      observe(buffer.sync());
    }
    if (live->closed() && buffer.can_write()) {
      observe(buffer.close(std::ios_base::out));  // ends the response
    }
  };
  // What the client has not read yet counts towards the stream's cap.
  transport.unread_bytes = [buffer]() { return buffer.in_avail(); };

  incoming->http.reply(out).then([incoming, stream, buffer](pplx::task<void> sent) mutable {
    try {
      sent.get();
    } catch (...) {
      // A failed write: the client is gone.
    }
    // However the response ended, the user's session ends with it.
    stream->close();
    if (buffer.can_write()) {
      observe(buffer.close(std::ios_base::out));
    }
    incoming->ticket.reset();
  });
  stream->start(std::move(transport));
}

void dispatch(const StatePtr& state, const std::shared_ptr<Incoming>& incoming) {
  Request request = std::move(incoming->request);
  const bool dispatched = state->gate.handle(
      std::move(request), Responder(
                              [state, incoming](Response response) {
                                if (response.event_stream) {
                                  serve_event_stream(state, incoming, response);
                                } else {
                                  send(incoming, response);
                                }
                              },
                              [incoming] {
                                // The core never drops a responder; be safe anyway.
                                observe(incoming->http.reply(http::status_codes::InternalError));
                                incoming->ticket.reset();
                              }));
  if (!dispatched) {
    send(incoming, state->gate.stopping_response());
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
          send(incoming, state->gate.transport_error(400, "Invalid request body"));
          return;
        }
        if (count == 0) {
          incoming->chunk.clear();
          incoming->chunk.shrink_to_fit();
          dispatch(state, incoming);
          return;
        }
        auto& kept = incoming->request.body;
        if (state->gate.body_too_large(kept.size() + count)) {
          // Over the limit while reading chunks: answer at once.
          incoming->chunk.clear();
          send(incoming, state->gate.body_too_large());
          return;
        }
        kept.append(reinterpret_cast<const char*>(incoming->chunk.data()), count);
        read_body(state, incoming);
      });
}

void on_request(const StatePtr& state, http::http_request request) {
  auto ticket = state->gate.enter();
  if (!ticket) {
    auto response = state->gate.stopping_response();
    http::http_response out(static_cast<http::status_code>(response.status));
    out.set_body(response.body, "application/json");
    observe(request.reply(out));
    return;
  }
  try {
    auto incoming = std::make_shared<Incoming>();
    incoming->http = request;
    incoming->ticket = std::move(ticket);
    incoming->request = copy_request(request);
    // A declared length over the limit is answered before reading anything.
    if (auto length = request.headers().content_length();
        length > 0 && state->gate.body_too_large(length)) {
      send(incoming, state->gate.body_too_large());
      return;
    }
    incoming->chunk.resize(body_chunk_bytes);
    read_body(state, incoming);
  } catch (...) {
    observe(request.reply(http::status_codes::InternalError));
  }
}

void keepalive_loop(const StatePtr& state) {
  std::unique_lock<std::mutex> lock(state->mutex);
  const auto interval = state->gate.keepalive_interval();
  while (state->ticking) {
    if (state->tick.wait_for(lock, interval, [&] { return !state->ticking; })) {
      break;
    }
    lock.unlock();
    // A write to a vanished client fails, which ends the reply and with it
    // the session.
    state->gate.tick();
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
    auto material = load_tls_material(*options.tls);
    if (!material) {
      return unexpected(material.error());
    }
    config.set_ssl_context_callback([shared = std::make_shared<const TlsMaterial>(std::move(
                                         *material))](boost::asio::ssl::context& context) {
      install_tls_material(context.native_handle(), *shared);
    });
  }

  StatePtr state = impl_->state;
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
  {
    std::lock_guard<std::mutex> lock(state->mutex);
    state->ticking = false;
    state->tick.notify_all();
  }
  if (impl_->keepalive.joinable()) {
    impl_->keepalive.join();
  }
  // Ends the event streams and lets in-flight requests finish.
  state->gate.stop(drain_timeout);
  try {
    // Closes the remaining (idle or stalled) connections and waits for them.
    impl_->listener->close().wait();
  } catch (...) {
  }
  impl_->listener.reset();
}

}  // namespace mimrest::cpprest
