// FastPath (lib/beast/fast_path.hpp): the two shortcuts of the Beast
// transport's request path.
#include <catch2/catch.hpp>

#include <sys/socket.h>

#include <string>
#include <thread>
#include <utility>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>

#include "beast/fast_path.hpp"

namespace {

using mimrest::Response;
using mimrest::beast::detail::FastPath;
namespace net = boost::asio;
using tcp = net::ip::tcp;

Response answer(const std::string& body) {
  Response response;
  response.body = body;
  return response;
}

/// A connected loopback pair: `server` is the side FastPath writes to.
struct Pair {
  net::io_context io;
  tcp::socket client{io};
  tcp::socket server{io};

  explicit Pair(int buffer_bytes = 0) {
    tcp::acceptor acceptor(io, tcp::endpoint(net::ip::address_v4::loopback(), 0));
    if (buffer_bytes > 0) {
      client.open(tcp::v4());
      client.set_option(net::socket_base::receive_buffer_size(buffer_bytes));
    }
    client.connect(acceptor.local_endpoint());
    acceptor.accept(server);
    if (buffer_bytes > 0) {
      server.set_option(net::socket_base::send_buffer_size(buffer_bytes));
    }
    server.non_blocking(true);
  }

  std::string read_all(std::size_t size) {
    std::string out(size, '\0');
    net::read(client, net::buffer(out));
    return out;
  }
};

}  // namespace

TEST_CASE("an answer given inside dispatch() on the same thread is taken over") {
  FastPath path;
  Response given = answer("inline");
  CHECK_FALSE(path.offer(1, given));  // outside dispatch(): post it
  CHECK(given.body == "inline");

  auto taken = path.dispatch([&] {
    Response first = answer("first");
    Response second = answer("second");
    CHECK(path.offer(7, first));
    CHECK(path.offer(8, second));
  });
  REQUIRE(taken.size() == 2);
  CHECK(taken[0].request == 7);
  CHECK(taken[0].response.body == "first");
  CHECK(taken[1].request == 8);
  CHECK(taken[1].response.body == "second");
  // Taken once: the next dispatch() starts empty.
  CHECK(path.dispatch([] {}).empty());
}

TEST_CASE("an answer from another thread, or to another session, is not taken") {
  FastPath path;
  FastPath other;
  bool from_thread = true;
  bool to_other = true;
  auto taken = path.dispatch([&] {
    std::thread([&] {
      Response response = answer("late");
      from_thread = path.offer(1, response);
    }).join();
    Response response = answer("elsewhere");
    to_other = other.offer(2, response);
    // A session's dispatch() inside another's (a core that calls back
    // inline) marks only the inner one, then the outer one again.
    auto inner = other.dispatch([&] {
      Response nested = answer("nested");
      CHECK(other.offer(3, nested));
      Response outer = answer("outer");
      CHECK_FALSE(path.offer(4, outer));
    });
    CHECK(inner.size() == 1);
    Response again = answer("again");
    CHECK(path.offer(5, again));
  });
  CHECK_FALSE(from_thread);
  CHECK_FALSE(to_other);
  REQUIRE(taken.size() == 1);
  CHECK(taken[0].request == 5);
}

TEST_CASE("an answer the socket takes whole is written at once") {
  Pair pair;
  std::string head = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n";
  std::string body = "[]";
  const std::string expected = head + body;
  CHECK(FastPath::write_at_once(pair.server, head, body) == FastPath::Written::all);
  CHECK(head.empty());
  CHECK(body.empty());
  CHECK(pair.read_all(expected.size()) == expected);
}

TEST_CASE("what the socket does not take is left for the asynchronous write") {
  Pair pair(4096);
  std::string head = "HTTP/1.1 200 OK\r\nContent-Length: 4000000\r\n\r\n";
  std::string body(4000000, 'x');
  const std::size_t total = head.size() + body.size();
  CHECK(FastPath::write_at_once(pair.server, head, body) == FastPath::Written::partial);
  const std::size_t left = head.size() + body.size();
  CHECK(left > 0);
  CHECK(left < total);
  CHECK(head.empty());  // the head went first
  CHECK(body.size() == left);
  // The client reads nothing: the socket is full and takes nothing more.
  std::string more_head;
  std::string more_body(4000000, 'y');
  auto written = FastPath::write_at_once(pair.server, more_head, more_body);
  while (written == FastPath::Written::partial) {
    written = FastPath::write_at_once(pair.server, more_head, more_body);
  }
  CHECK(written == FastPath::Written::none);
  const std::size_t kept = more_body.size();
  CHECK(FastPath::write_at_once(pair.server, more_head, more_body) == FastPath::Written::none);
  CHECK(more_body.size() == kept);
}

TEST_CASE("a socket that fails takes nothing") {
  Pair pair;
  pair.client.close();
  pair.server.shutdown(tcp::socket::shutdown_send);
  std::string head = "HTTP/1.1 200 OK\r\n\r\n";
  std::string body = "x";
  CHECK(FastPath::write_at_once(pair.server, head, body) == FastPath::Written::none);
  CHECK(head == "HTTP/1.1 200 OK\r\n\r\n");
  CHECK(body == "x");
}
