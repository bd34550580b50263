// The SSE fan-out measurement of bench/run: one MUC Light room whose members
// each hold an open GET /sse stream; messages posted to the room, and the
// time from the POST to the event's arrival on every stream. Also the
// server's memory per idle stream (its RSS before and after the streams
// open). Plain POSIX sockets and one epoll set, no other dependency.
//
//   mimrest-bench-sse --port P --pid PID [--users N] [--messages M]
//                     [--prefix u] [--password pw] [--domain localhost]
//
// The users `<prefix>0000@<domain>` ... must exist with that password (the
// server's "users" list); user 0 creates the room and adds the others, then
// posts the messages. Prints one JSON object on stdout.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  int port = 0;
  long pid = 0;
  int users = 1000;
  int messages = 20;
  std::string prefix = "u";
  std::string password = "pw";
  std::string domain = "localhost";
  std::string room = "fanout";
};

[[noreturn]] void fail(const std::string& what) {
  throw std::runtime_error(what + (errno != 0 ? std::string(": ") + std::strerror(errno) : ""));
}

std::string base64(std::string_view in) {
  static constexpr char table[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(in[i]) << 16) |
                       (static_cast<unsigned char>(in[i + 1]) << 8) |
                       static_cast<unsigned char>(in[i + 2]);
    out += table[(v >> 18) & 63];
    out += table[(v >> 12) & 63];
    out += table[(v >> 6) & 63];
    out += table[v & 63];
  }
  if (i + 1 == in.size()) {
    const unsigned v = static_cast<unsigned char>(in[i]) << 16;
    out += table[(v >> 18) & 63];
    out += table[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    const unsigned v =
        (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
    out += table[(v >> 18) & 63];
    out += table[(v >> 12) & 63];
    out += table[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

std::string user_jid(const Options& options, int index) {
  char number[16];
  std::snprintf(number, sizeof number, "%04d", index);
  return options.prefix + number + "@" + options.domain;
}

std::string auth_header(const Options& options, int index) {
  return "Authorization: Basic " + base64(user_jid(options, index) + ":" + options.password) +
         "\r\n";
}

int connect_to(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) {
    fail("socket");
  }
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    fail("connect");
  }
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

void send_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t sent = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (sent < 0) {
      if (errno == EINTR) {
        continue;
      }
      fail("send");
    }
    bytes.remove_prefix(static_cast<std::size_t>(sent));
  }
}

/// A blocking keep-alive client for answers with a Content-Length.
class Client {
 public:
  explicit Client(int port) : fd_(connect_to(port)) {}
  ~Client() { ::close(fd_); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  /// The status of the answer; its body in `body`.
  int request(const std::string& method, const std::string& path, const std::string& auth,
              const std::string& json, std::string* body = nullptr) {
    std::string out = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + auth;
    if (!json.empty()) {
      out += "Content-Type: application/json\r\nContent-Length: " + std::to_string(json.size()) +
             "\r\n";
    }
    out += "\r\n";
    out += json;
    send_all(fd_, out);
    std::size_t head_end;
    while ((head_end = in_.find("\r\n\r\n")) == std::string::npos) {
      fill();
    }
    const std::string head = in_.substr(0, head_end);
    std::size_t length = 0;
    std::string lower = head;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (const auto at = lower.find("content-length:"); at != std::string::npos) {
      length = std::strtoul(head.c_str() + at + 15, nullptr, 10);
    }
    while (in_.size() < head_end + 4 + length) {
      fill();
    }
    if (body != nullptr) {
      *body = in_.substr(head_end + 4, length);
    }
    in_.erase(0, head_end + 4 + length);
    if (head.size() < 12) {
      fail("short answer");
    }
    return std::atoi(head.c_str() + 9);
  }

 private:
  void fill() {
    char chunk[65536];
    const ssize_t got = ::recv(fd_, chunk, sizeof chunk, 0);
    if (got <= 0) {
      if (got < 0 && errno == EINTR) {
        return;
      }
      fail("the server closed the connection");
    }
    in_.append(chunk, static_cast<std::size_t>(got));
  }

  int fd_;
  std::string in_;
};

long rss_kib(long pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      return std::strtol(line.c_str() + 6, nullptr, 10);
    }
  }
  return -1;
}

double percentile(std::vector<double> values, double p) {
  if (values.empty()) {
    return 0;
  }
  std::sort(values.begin(), values.end());
  const auto rank =
      static_cast<std::size_t>(p / 100.0 * static_cast<double>(values.size() - 1) + 0.5);
  return values[std::min(rank, values.size() - 1)];
}

struct Stream {
  int fd = -1;
  bool open = false;  ///< its 200 and headers arrived
  std::string in;
  int seen = 0;  ///< room.message events counted
  Clock::time_point arrived;
};

constexpr std::string_view marker = "event: room.message\n";

/// Counts the markers that complete in `stream.in`, keeping only a tail that
/// may hold the start of the next one.
int count_events(Stream& stream) {
  int found = 0;
  std::size_t at = 0;
  while ((at = stream.in.find(marker, at)) != std::string::npos) {
    ++found;
    at += marker.size();
  }
  if (stream.in.size() > marker.size()) {
    stream.in.erase(0, stream.in.size() - marker.size());
  }
  return found;
}

/// Reads what is ready; calls on_bytes(stream) for every stream that got bytes.
template <class OnBytes>
void poll_streams(int epoll, std::vector<Stream>& streams, int timeout_ms, OnBytes on_bytes) {
  epoll_event events[256];
  const int ready = ::epoll_wait(epoll, events, 256, timeout_ms);
  const auto now = Clock::now();
  for (int i = 0; i < ready; ++i) {
    Stream& stream = streams[events[i].data.u32];
    char chunk[16384];
    while (true) {
      const ssize_t got = ::recv(stream.fd, chunk, sizeof chunk, MSG_DONTWAIT);
      if (got > 0) {
        stream.in.append(chunk, static_cast<std::size_t>(got));
        continue;
      }
      if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
        throw std::runtime_error("an event stream was closed by the server");
      }
      break;
    }
    on_bytes(stream, now);
  }
}

int run(const Options& options) {
  const std::string owner_auth = auth_header(options, 0);
  Client setup(options.port);
  const std::string base = "/api/rooms/" + options.room;

  // 1. The room and its members.
  const auto setup_start = Clock::now();
  int status = setup.request("PUT", base, owner_auth, R"({"name":"fanout","subject":"bench"})");
  if (status != 201) {
    throw std::runtime_error("PUT " + base + ": status " + std::to_string(status));
  }
  for (int i = 1; i < options.users; ++i) {
    status = setup.request("POST", base + "/users", owner_auth,
                           R"({"user":")" + user_jid(options, i) + R"("})");
    if (status != 204) {
      throw std::runtime_error("adding " + user_jid(options, i) + ": status " +
                               std::to_string(status));
    }
  }
  // Every member logs in once, so that the verification cache holds them
  // before the memory is measured.
  for (int i = 0; i < options.users; ++i) {
    status = setup.request("GET", "/api/rooms", auth_header(options, i), "");
    if (status != 200) {
      throw std::runtime_error("GET /rooms as " + user_jid(options, i) + ": status " +
                               std::to_string(status));
    }
  }
  const double setup_s = std::chrono::duration<double>(Clock::now() - setup_start).count();

  // 2. The streams, and the server's memory before and after.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const long rss_before = rss_kib(options.pid);
  const int epoll = ::epoll_create1(0);
  std::vector<Stream> streams(static_cast<std::size_t>(options.users));
  const auto open_start = Clock::now();
  for (int i = 0; i < options.users; ++i) {
    Stream& stream = streams[static_cast<std::size_t>(i)];
    stream.fd = connect_to(options.port);
    send_all(stream.fd,
             "GET /api/sse HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n" +
                 auth_header(options, i) + "\r\n");
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.u32 = static_cast<std::uint32_t>(i);
    ::epoll_ctl(epoll, EPOLL_CTL_ADD, stream.fd, &event);
  }
  int open = 0;
  const auto open_deadline = Clock::now() + std::chrono::seconds(30);
  while (open < options.users) {
    if (Clock::now() > open_deadline) {
      throw std::runtime_error("only " + std::to_string(open) + " streams opened");
    }
    poll_streams(epoll, streams, 100, [&](Stream& stream, Clock::time_point) {
      if (stream.open) {
        return;
      }
      const auto end = stream.in.find("\r\n\r\n");
      if (end == std::string::npos) {
        return;
      }
      if (stream.in.compare(0, 12, "HTTP/1.1 200") != 0) {
        throw std::runtime_error("GET /sse answered: " + stream.in.substr(0, 12));
      }
      stream.open = true;
      stream.in.erase(0, end + 4);
      ++open;
    });
  }
  const double open_s = std::chrono::duration<double>(Clock::now() - open_start).count();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const long rss_after = rss_kib(options.pid);

  // 3. Messages: one at a time, each awaited on every stream. The first is a
  // warm-up that also tells how many streams the room delivers to.
  std::vector<double> latencies;      // every arrival, ms
  std::vector<double> last_arrivals;  // the slowest stream of each message, ms
  int expected = options.users;
  for (int m = 0; m <= options.messages; ++m) {
    for (auto& stream : streams) {
      stream.seen = 0;
    }
    const std::string json = R"({"body":"fan-out )" + std::to_string(m) + R"("})";
    const auto t0 = Clock::now();
    status = setup.request("POST", base + "/messages", owner_auth, json);
    if (status != 200) {
      throw std::runtime_error("POST " + base + "/messages: status " + std::to_string(status));
    }
    int arrived = 0;
    const auto deadline = t0 + std::chrono::seconds(m == 0 ? 3 : 10);
    while (arrived < expected && Clock::now() < deadline) {
      poll_streams(epoll, streams, 50, [&](Stream& stream, Clock::time_point now) {
        const int found = count_events(stream);
        if (found > 0 && stream.seen == 0) {
          stream.arrived = now;
          ++arrived;
        }
        stream.seen += found;
      });
    }
    if (m == 0) {
      expected = arrived;  // the room's reach (the sender's own stream included or not)
      continue;
    }
    if (arrived < expected) {
      throw std::runtime_error("message " + std::to_string(m) + " reached " +
                               std::to_string(arrived) + " of " + std::to_string(expected) +
                               " streams");
    }
    double slowest = 0;
    for (const auto& stream : streams) {
      if (stream.seen > 0) {
        const double ms = std::chrono::duration<double, std::milli>(stream.arrived - t0).count();
        latencies.push_back(ms);
        slowest = std::max(slowest, ms);
      }
    }
    last_arrivals.push_back(slowest);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  for (auto& stream : streams) {
    ::close(stream.fd);
  }
  ::close(epoll);

  const double per_stream = rss_before > 0 && rss_after > 0
                                ? static_cast<double>(rss_after - rss_before) * 1024.0 /
                                      static_cast<double>(options.users)
                                : -1;
  std::printf(
      "{\"streams\": %d, \"reached\": %d, \"messages\": %d, \"setup_s\": %.2f, \"open_s\": %.2f, "
      "\"rss_before_kib\": %ld, \"rss_after_kib\": %ld, \"bytes_per_stream\": %.0f, "
      "\"latency_ms\": {\"p50\": %.3f, \"p99\": %.3f, \"max\": %.3f}, "
      "\"last_arrival_ms\": {\"p50\": %.3f, \"p99\": %.3f, \"max\": %.3f}}\n",
      options.users, expected, options.messages, setup_s, open_s, rss_before, rss_after, per_stream,
      percentile(latencies, 50), percentile(latencies, 99), percentile(latencies, 100),
      percentile(last_arrivals, 50), percentile(last_arrivals, 99), percentile(last_arrivals, 100));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string key = argv[i];
    const std::string value = argv[i + 1];
    if (key == "--port") {
      options.port = std::atoi(value.c_str());
    } else if (key == "--pid") {
      options.pid = std::atol(value.c_str());
    } else if (key == "--users") {
      options.users = std::atoi(value.c_str());
    } else if (key == "--messages") {
      options.messages = std::atoi(value.c_str());
    } else if (key == "--prefix") {
      options.prefix = value;
    } else if (key == "--password") {
      options.password = value;
    } else if (key == "--domain") {
      options.domain = value;
    } else {
      std::cerr << "mimrest-bench-sse: unknown option " << key << "\n";
      return 2;
    }
  }
  if (options.port <= 0 || options.users < 1) {
    std::cerr << "usage: mimrest-bench-sse --port P --pid PID [--users N] [--messages M]\n";
    return 2;
  }
  try {
    return run(options);
  } catch (const std::exception& e) {
    std::cerr << "mimrest-bench-sse: " << e.what() << "\n";
    return 1;
  }
}
