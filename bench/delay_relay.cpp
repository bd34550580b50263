// mimrest-bench-delay: a TCP relay that holds every chunk of bytes for a
// fixed time before passing it on, in each direction: the round trip of
// whatever runs through it grows by twice that delay. bench/run puts it in
// front of a PostgreSQL server when the kernel has no netem qdisc to delay
// the packets themselves.
//
//   mimrest-bench-delay --listen PORT --to HOST:PORT --delay-us 500
//
// Listens on 127.0.0.1:PORT (0: any free port) and prints
// "listening on 127.0.0.1:<port>" once ready. One thread, epoll; a timerfd
// wakes it when the oldest held chunk is due (about 50 us late at worst on
// an idle machine). Bytes keep their order; nothing is dropped.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "mimrest-bench-delay: %s: %s\n", what.c_str(), std::strerror(errno));
  std::exit(1);
}

void nonblocking(int fd) {
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

struct Chunk {
  Clock::time_point due;
  std::string bytes;
  std::size_t sent = 0;
};

/// One direction of a connection: bytes read from `from`, held, written to
/// `to`.
struct Direction {
  int from = -1;
  int to = -1;
  std::deque<Chunk> held;
  bool eof = false;       // `from` ended
  bool shut = false;      // `to` was told (shutdown) after the last byte
  bool want_out = false;  // waiting for `to` to be writable
};

struct Pair {
  Direction up;    // client -> server
  Direction down;  // server -> client
  bool closed = false;
};

class Relay {
 public:
  Relay(int listen_fd, sockaddr_in target, std::chrono::microseconds delay)
      : listen_(listen_fd), target_(target), delay_(delay) {
    epoll_ = epoll_create1(EPOLL_CLOEXEC);
    timer_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    add(listen_, EPOLLIN);
    add(timer_, EPOLLIN);
  }

  void run() {
    std::vector<epoll_event> events(64);
    for (;;) {
      const int n = epoll_wait(epoll_, events.data(), static_cast<int>(events.size()), -1);
      if (n < 0) {
        if (errno == EINTR) {
          continue;
        }
        die("epoll_wait");
      }
      for (int i = 0; i < n; ++i) {
        const int fd = events[i].data.fd;
        if (fd == listen_) {
          accept_all();
        } else if (fd == timer_) {
          std::uint64_t expirations = 0;
          [[maybe_unused]] auto r = read(timer_, &expirations, sizeof expirations);
        } else {
          auto it = by_fd_.find(fd);
          if (it == by_fd_.end()) {
            continue;
          }
          auto pair = it->second;
          if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
            receive(*pair, fd == pair->up.from ? pair->up : pair->down);
          }
          if (events[i].events & EPOLLOUT) {
            // Written in flush() below.
            Direction& d = fd == pair->up.to ? pair->up : pair->down;
            d.want_out = false;
            modify(fd, pair);
          }
        }
      }
      flush();
    }
  }

 private:
  void add(int fd, std::uint32_t events) {
    epoll_event event{};
    event.events = events;
    event.data.fd = fd;
    if (epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &event) != 0) {
      die("epoll_ctl");
    }
  }

  /// Read interest unless ended; write interest while a write waits.
  void modify(int fd, const std::shared_ptr<Pair>& pair) {
    std::uint32_t events = 0;
    for (Direction* d : {&pair->up, &pair->down}) {
      if (d->from == fd && !d->eof) {
        events |= EPOLLIN;
      }
      if (d->to == fd && d->want_out) {
        events |= EPOLLOUT;
      }
    }
    epoll_event event{};
    event.events = events;
    event.data.fd = fd;
    epoll_ctl(epoll_, EPOLL_CTL_MOD, fd, &event);
  }

  void accept_all() {
    for (;;) {
      const int client = accept4(listen_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0) {
        return;
      }
      const int server = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (server < 0 ||
          connect(server, reinterpret_cast<const sockaddr*>(&target_), sizeof target_) != 0) {
        std::perror("mimrest-bench-delay: connect");
        close(client);
        if (server >= 0) {
          close(server);
        }
        continue;
      }
      nonblocking(client);
      nonblocking(server);
      auto pair = std::make_shared<Pair>();
      pair->up.from = client;
      pair->up.to = server;
      pair->down.from = server;
      pair->down.to = client;
      by_fd_[client] = pair;
      by_fd_[server] = pair;
      add(client, EPOLLIN);
      add(server, EPOLLIN);
    }
  }

  void receive(Pair& pair, Direction& d) {
    char buffer[65536];
    for (;;) {
      const ssize_t n = read(d.from, buffer, sizeof buffer);
      if (n > 0) {
        d.held.push_back(
            Chunk{Clock::now() + delay_, std::string(buffer, static_cast<std::size_t>(n)), 0});
        continue;
      }
      if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        d.eof = true;
        auto it = by_fd_.find(d.from);
        if (it != by_fd_.end()) {
          modify(d.from, it->second);
        }
      }
      (void)pair;
      return;
    }
  }

  /// Writes what is due, closes finished pairs, arms the timer for the next.
  void flush() {
    const auto now = Clock::now();
    std::optional<Clock::time_point> next;
    std::vector<std::shared_ptr<Pair>> finished;
    for (auto& [fd, pair] : by_fd_) {
      if (fd != pair->up.from || pair->closed) {
        continue;  // each pair once
      }
      for (Direction* d : {&pair->up, &pair->down}) {
        while (!d->held.empty() && d->held.front().due <= now && !d->want_out) {
          Chunk& chunk = d->held.front();
          const ssize_t n =
              write(d->to, chunk.bytes.data() + chunk.sent, chunk.bytes.size() - chunk.sent);
          if (n < 0) {
            if (errno == EAGAIN) {
              d->want_out = true;
              modify(d->to, pair);
            } else {
              d->eof = true;
              d->held.clear();
            }
            break;
          }
          chunk.sent += static_cast<std::size_t>(n);
          if (chunk.sent == chunk.bytes.size()) {
            d->held.pop_front();
          }
        }
        if (!d->held.empty() && !d->want_out) {
          const auto due = d->held.front().due;
          if (!next || due < *next) {
            next = due;
          }
        }
        if (d->eof && d->held.empty() && !d->shut) {
          shutdown(d->to, SHUT_WR);
          d->shut = true;
        }
      }
      if (pair->up.shut && pair->down.shut) {
        finished.push_back(pair);
      }
    }
    for (auto& pair : finished) {
      pair->closed = true;
      by_fd_.erase(pair->up.from);
      by_fd_.erase(pair->down.from);
      close(pair->up.from);
      close(pair->down.from);
    }
    itimerspec spec{};
    if (next) {
      const auto ns =
          std::chrono::duration_cast<std::chrono::nanoseconds>(next->time_since_epoch()).count();
      spec.it_value.tv_sec = static_cast<time_t>(ns / 1000000000);
      spec.it_value.tv_nsec = static_cast<long>(ns % 1000000000);
      if (spec.it_value.tv_sec == 0 && spec.it_value.tv_nsec == 0) {
        spec.it_value.tv_nsec = 1;
      }
    }
    timerfd_settime(timer_, TFD_TIMER_ABSTIME, &spec, nullptr);
  }

  int listen_;
  sockaddr_in target_;
  std::chrono::microseconds delay_;
  int epoll_ = -1;
  int timer_ = -1;
  std::map<int, std::shared_ptr<Pair>> by_fd_;
};

sockaddr_in address(const std::string& host, int port) {
  sockaddr_in out{};
  out.sin_family = AF_INET;
  out.sin_port = htons(static_cast<std::uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &out.sin_addr) != 1) {
    std::fprintf(stderr, "mimrest-bench-delay: not an IPv4 address: %s\n", host.c_str());
    std::exit(2);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  int listen_port = 0;
  std::string to;
  long delay_us = 500;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--listen") {
      listen_port = std::atoi(argv[i + 1]);
    } else if (flag == "--to") {
      to = argv[i + 1];
    } else if (flag == "--delay-us") {
      delay_us = std::atol(argv[i + 1]);
    }
  }
  const auto colon = to.rfind(':');
  if (colon == std::string::npos) {
    std::fprintf(stderr, "usage: mimrest-bench-delay --listen PORT --to HOST:PORT --delay-us N\n");
    return 2;
  }
  const sockaddr_in target = address(to.substr(0, colon), std::atoi(to.c_str() + colon + 1));
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in local = address("127.0.0.1", listen_port);
  if (bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0 || listen(fd, 128) != 0) {
    die("listen");
  }
  socklen_t length = sizeof local;
  getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length);
  std::printf("listening on 127.0.0.1:%d\n", ntohs(local.sin_port));
  std::fflush(stdout);
  Relay relay(fd, target, std::chrono::microseconds(delay_us));
  relay.run();
}
