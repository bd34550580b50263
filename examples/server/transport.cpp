#include "transport.hpp"

#if MIMREST_SERVER_WITH_BEAST
#include "mimrest/beast/server.hpp"
#endif
#if MIMREST_SERVER_WITH_CPPREST
#include "mimrest/cpprest/listener.hpp"
#endif

namespace mimrest::server {

namespace {

template <class Server>
class Running final : public RunningTransport {
 public:
  template <class... Args>
  explicit Running(Args&&... args) : server_(std::forward<Args>(args)...) {}
  Server& server() { return server_; }
  std::string url() const override { return server_.url(); }
  void stop() override { server_.stop(); }

 private:
  Server server_;
};

template <class Server, class Options>
Expected<std::unique_ptr<RunningTransport>, std::string> start(const Api& api, Options options) {
  auto running = std::make_unique<Running<Server>>(api, std::move(options));
  if (auto started = running->server().start(); !started) {
    return unexpected(started.error());
  }
  return std::unique_ptr<RunningTransport>(std::move(running));
}

}  // namespace

Expected<std::unique_ptr<RunningTransport>, std::string> start_transport(
    const Api& api, const ServerConfig& config) {
  switch (config.transport) {
    case Transport::beast: {
#if MIMREST_SERVER_WITH_BEAST
      beast::ServerOptions options;
      options.url = config.listen;
      options.tls = config.tls;
      options.max_header_bytes = config.limits.max_header_bytes;
      options.header_timeout = config.limits.header_timeout;
      options.idle_timeout = config.limits.idle_timeout;
      options.max_connections = config.limits.max_connections;
      return start<beast::Server>(api, std::move(options));
#else
      return unexpected(std::string("this build has no Boost.Beast transport"));
#endif
    }
    case Transport::cpprest: {
#if MIMREST_SERVER_WITH_CPPREST
      cpprest::ListenerOptions options;
      options.url = config.listen;
      options.tls = config.tls;
      return start<cpprest::Listener>(api, std::move(options));
#else
      return unexpected(std::string("this build has no cpprestsdk transport"));
#endif
    }
  }
  return unexpected(std::string("unknown transport"));
}

}  // namespace mimrest::server
