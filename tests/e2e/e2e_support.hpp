// Helpers for the end-to-end tests: free ports, temporary folders, a child
// mimrest-server process, an HTTP client and an SSE reader, all with timeouts.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <cpprest/http_client.h>

#include "mimrest/crypto.hpp"

extern char** environ;

namespace e2e {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

/// A loopback port nobody listens on right now.
inline int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) {
    throw std::runtime_error("socket failed");
  }
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof address;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    ::close(fd);
    throw std::runtime_error("bind failed");
  }
  ::close(fd);
  return ntohs(address.sin_port);
}

/// A fresh folder under the system temporary folder, removed at the end.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "mimrest-e2e-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      throw std::runtime_error("mkdtemp failed");
    }
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(file(name), std::ios::binary) << text;
    return file(name);
  }

 private:
  std::filesystem::path path_;
};

/// Reads what is available on `fd` into `out` until `until` returns true, the
/// stream ends or the deadline passes. True when `until` was met.
template <class Predicate>
bool read_until(int fd, std::string& out, Clock::time_point deadline, Predicate until) {
  while (!until(out)) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      return false;
    }
    pollfd p{fd, POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(left));
    if (ready < 0 && errno == EINTR) {
      continue;
    }
    if (ready <= 0) {
      return false;
    }
    char buffer[4096];
    const ssize_t count = ::read(fd, buffer, sizeof buffer);
    if (count <= 0) {
      return until(out);
    }
    out.append(buffer, static_cast<std::size_t>(count));
  }
  return true;
}

struct ExitResult {
  int code = -1;  ///< exit status, or -1 when it did not exit normally
  bool timed_out = false;
  std::string out;
  std::string err;
};

/// A child process with its stdout and stderr on pipes.
class Process {
 public:
  explicit Process(std::vector<std::string> args) {
    int out_pipe[2];
    int err_pipe[2];
    if (::pipe(out_pipe) != 0 || ::pipe(err_pipe) != 0) {
      throw std::runtime_error("pipe failed");
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
    posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);
    posix_spawn_file_actions_addclose(&actions, out_pipe[0]);
    posix_spawn_file_actions_addclose(&actions, err_pipe[0]);
    std::vector<char*> argv;
    for (auto& arg : args) {
      argv.push_back(arg.data());
    }
    argv.push_back(nullptr);
    const int failed = ::posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(out_pipe[1]);
    ::close(err_pipe[1]);
    out_fd_ = out_pipe[0];
    err_fd_ = err_pipe[0];
    if (failed != 0) {
      pid_ = -1;
      throw std::runtime_error("cannot start " + args[0]);
    }
  }
  ~Process() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    ::close(out_fd_);
    ::close(err_fd_);
  }
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  /// Waits for a stdout line starting with `prefix`; returns that line.
  std::optional<std::string> wait_for_line(const std::string& prefix,
                                           std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    const bool found = read_until(out_fd_, out_, deadline, [&](const std::string& text) {
      const auto at = text.find(prefix);
      return at != std::string::npos && text.find('\n', at) != std::string::npos;
    });
    if (!found) {
      return std::nullopt;
    }
    const auto at = out_.find(prefix);
    return out_.substr(at, out_.find('\n', at) - at);
  }

  void signal(int number) const {
    if (pid_ > 0) {
      ::kill(pid_, number);
    }
  }

  /// Waits for the process to exit and collects the rest of its output.
  ExitResult wait(std::chrono::milliseconds timeout) {
    ExitResult result;
    const auto deadline = Clock::now() + timeout;
    int status = 0;
    while (true) {
      const pid_t done = ::waitpid(pid_, &status, WNOHANG);
      if (done == pid_) {
        pid_ = -1;
        break;
      }
      if (Clock::now() > deadline) {
        result.timed_out = true;
        return result;
      }
      std::this_thread::sleep_for(10ms);
    }
    if (WIFEXITED(status)) {
      result.code = WEXITSTATUS(status);
    }
    const auto drain = Clock::now() + 2s;
    read_until(out_fd_, out_, drain, [](const std::string&) { return false; });
    read_until(err_fd_, err_, drain, [](const std::string&) { return false; });
    result.out = out_;
    result.err = err_;
    return result;
  }

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  std::string out_;
  std::string err_;
};

/// Runs a program to its end.
inline ExitResult run(std::vector<std::string> args, std::chrono::milliseconds timeout = 10s) {
  Process process(std::move(args));
  return process.wait(timeout);
}

inline std::string basic(const std::string& user, const std::string& password) {
  return "Basic " + mimrest::base64_encode(user + ":" + password);
}

struct Reply {
  int status = 0;
  std::map<std::string, std::string> headers;  ///< names in lower case
  std::string body;

  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
  bool has_header(const std::string& name) const { return headers.count(name) != 0; }
};

inline std::string lower(std::string text) {
  for (auto& c : text) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return text;
}

inline web::http::client::http_client_config client_config() {
  web::http::client::http_client_config config;
  config.set_timeout(std::chrono::seconds(10));
  config.set_validate_certificates(false);  // the HTTPS test uses a self-signed certificate
  return config;
}

/// Waits for a pplx task with a deadline (pplx has no timed wait).
template <class T>
bool finished_in_time(const pplx::task<T>& task, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!task.is_done()) {
    if (Clock::now() > deadline) {
      return false;
    }
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

/// A blocking HTTP client over cpprestsdk's http_client.
class Client {
 public:
  explicit Client(const std::string& base_url) : client_(base_url, client_config()) {}

  Reply call(const std::string& method, const std::string& path_and_query,
             std::optional<std::string> body = std::nullopt,
             std::vector<std::pair<std::string, std::string>> headers = {}) {
    web::http::http_request request(method);
    request.set_request_uri(path_and_query);
    bool has_type = false;
    for (const auto& [name, value] : headers) {
      request.headers().add(name, value);
      has_type = has_type || lower(name) == "content-type";
    }
    if (body) {
      request.set_body(std::vector<unsigned char>(body->begin(), body->end()));
      if (!has_type) {
        request.headers().set_content_type("application/json");
      } else {
        // set_body labels the body; put back the type the test asked for.
        for (const auto& [name, value] : headers) {
          if (lower(name) == "content-type") {
            request.headers().set_content_type(value);
          }
        }
      }
    }
    auto task = client_.request(request).then([](web::http::http_response response) {
      Reply reply;
      reply.status = response.status_code();
      for (const auto& [name, value] : response.headers()) {
        reply.headers[lower(name)] = value;
      }
      auto bytes = response.extract_vector().get();
      reply.body.assign(bytes.begin(), bytes.end());
      return reply;
    });
    if (!finished_in_time(task, 15s)) {
      throw std::runtime_error("request timed out: " + method + " " + path_and_query);
    }
    return task.get();
  }

 private:
  web::http::client::http_client client_;
};

struct SseEvent {
  std::string id;
  std::string event;
  std::string data;
};

/// Reads an SSE response incrementally as it arrives.
class SseReader {
 public:
  SseReader(const std::string& base_url, const std::string& path, const std::string& auth)
      : client_(base_url, client_config()) {
    web::http::http_request request(web::http::methods::GET);
    request.set_request_uri(path);
    request.headers().add("Authorization", auth);
    request.headers().add("Accept", "text/event-stream");
    auto task = client_.request(request, cancel_.get_token());
    if (!finished_in_time(task, 10s)) {
      cancel_.cancel();
      throw std::runtime_error("no SSE response headers");
    }
    response_ = task.get();
    body_ = response_.body().streambuf();
  }
  ~SseReader() {
    cancel_.cancel();
    if (pending_) {
      finished_in_time(*pending_, 5s);
    }
  }
  SseReader(const SseReader&) = delete;
  SseReader& operator=(const SseReader&) = delete;

  const web::http::http_response& response() const { return response_; }

  /// The next event (keepalive comments skipped), or nullopt on timeout or end.
  std::optional<SseEvent> next_event(std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (true) {
      auto end = text_.find("\n\n");
      while (end != std::string::npos) {
        const std::string block = text_.substr(0, end);
        text_.erase(0, end + 2);
        SseEvent event;
        bool any = false;
        std::size_t start = 0;
        while (start <= block.size()) {
          auto line_end = block.find('\n', start);
          if (line_end == std::string::npos) {
            line_end = block.size();
          }
          const std::string line = block.substr(start, line_end - start);
          start = line_end + 1;
          auto field = [&](const char* name, std::string& into) {
            const std::string prefix = std::string(name) + ": ";
            if (line.rfind(prefix, 0) == 0) {
              into = line.substr(prefix.size());
              any = true;
            }
          };
          field("id", event.id);
          field("event", event.event);
          field("data", event.data);
        }
        if (any) {
          return event;
        }
        end = text_.find("\n\n");
      }
      if (!read_more(deadline)) {
        return std::nullopt;
      }
    }
  }

  /// Waits until the server ends the body; true when it did in time.
  bool wait_for_end(std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (read_more(deadline)) {
    }
    return ended_;
  }

  const std::string& raw() const { return all_; }

 private:
  bool read_more(Clock::time_point deadline) {
    if (ended_) {
      return false;
    }
    if (!pending_) {
      auto byte = std::make_shared<std::uint8_t>(0);
      auto buffer = body_;
      pending_ = body_.getn(byte.get(), 1).then([byte, buffer](std::size_t count) mutable {
        std::string bytes;
        if (count == 1) {
          bytes.push_back(static_cast<char>(*byte));
          // Whatever else has arrived can be taken without waiting.
          std::vector<std::uint8_t> rest(buffer.in_avail());
          if (!rest.empty()) {
            const auto more = buffer.getn(rest.data(), rest.size()).get();
            bytes.append(rest.begin(), rest.begin() + static_cast<std::ptrdiff_t>(more));
          }
        }
        return bytes;
      });
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0 || !finished_in_time(*pending_, left)) {
      return false;
    }
    std::string bytes;
    try {
      bytes = pending_->get();
    } catch (...) {
    }
    pending_.reset();
    if (bytes.empty()) {
      ended_ = true;
      return false;
    }
    text_ += bytes;
    all_ += bytes;
    return true;
  }

  pplx::cancellation_token_source cancel_;
  web::http::client::http_client client_;
  web::http::http_response response_;
  concurrency::streams::streambuf<std::uint8_t> body_;
  std::optional<pplx::task<std::string>> pending_;
  std::string text_;
  std::string all_;
  bool ended_ = false;
};

/// A plain TCP connection, for requests http_client cannot make (dropping a
/// connection abruptly, reading raw chunked bytes).
class RawConnection {
 public:
  explicit RawConnection(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      throw std::runtime_error("connect failed");
    }
  }
  ~RawConnection() { close(); }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  void send(const std::string& bytes) {
    std::size_t sent = 0;
    while (sent < bytes.size()) {
      const ssize_t count = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (count <= 0) {
        throw std::runtime_error("send failed");
      }
      sent += static_cast<std::size_t>(count);
    }
  }
  /// Reads until `text` has been received (or timeout / end); true if it was.
  bool read_until_contains(const std::string& text, std::chrono::milliseconds timeout) {
    return read_until(fd_, received_, Clock::now() + timeout,
                      [&](const std::string& got) { return got.find(text) != std::string::npos; });
  }
  const std::string& received() const { return received_; }
  void close() {
    if (fd_ >= 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }

 private:
  int fd_ = -1;
  std::string received_;
};

/// Polls `condition` until it holds or the timeout passes.
template <class Condition>
bool eventually(Condition condition, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!condition()) {
    if (Clock::now() > deadline) {
      return false;
    }
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

}  // namespace e2e
