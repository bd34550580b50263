// Drives tests/xmpp/peer.py, an ordinary XMPP client (slixmpp) that plays
// the other party of a REST user's conversation: a child process that reads
// one JSON command per line on stdin and writes one JSON line per event or
// reply on stdout (the protocol is in tests/xmpp/README.md). Header-only,
// POSIX; no Catch2: failures are exceptions that carry what the peer said.
//
//   XmppPeer bob(server.peer_options("bob"));
//   bob.wait_ready();
//   bob.call_ok("message", Json().set("to", "alice@localhost").set("body", "hi"));
//   auto message = bob.wait_for([](const rapidjson::Value& line) {
//     return XmppPeer::is_event(line, "message");
//   });
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

extern char** environ;

namespace mimrest::test::xmpp {

using namespace std::chrono_literals;

/// Serialises a JSON value (for messages and diagnostics).
inline std::string to_json(const rapidjson::Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

/// A small JSON object builder for the peer's commands.
class Json {
 public:
  Json() { doc_.SetObject(); }
  Json(const Json& other) { doc_.CopyFrom(other.doc_, doc_.GetAllocator()); }
  Json& operator=(const Json& other) {
    if (this != &other) {
      doc_.CopyFrom(other.doc_, doc_.GetAllocator());
    }
    return *this;
  }

  Json& set(std::string_view key, std::string_view value) {
    return put(key, rapidjson::Value(value.data(), static_cast<rapidjson::SizeType>(value.size()),
                                     doc_.GetAllocator()));
  }
  Json& set(std::string_view key, const char* value) { return set(key, std::string_view(value)); }
  Json& set(std::string_view key, const std::string& value) {
    return set(key, std::string_view(value));
  }
  Json& set(std::string_view key, bool value) { return put(key, rapidjson::Value(value)); }
  Json& set(std::string_view key, int value) { return put(key, rapidjson::Value(value)); }
  Json& set(std::string_view key, long long value) {
    return put(key, rapidjson::Value(static_cast<int64_t>(value)));
  }
  Json& set(std::string_view key, double value) { return put(key, rapidjson::Value(value)); }
  Json& set(std::string_view key, const Json& object) {
    rapidjson::Value copy;
    copy.CopyFrom(object.doc_, doc_.GetAllocator());
    return put(key, std::move(copy));
  }
  /// An array of objects (e.g. typed Smack properties).
  Json& set(std::string_view key, const std::vector<Json>& objects) {
    rapidjson::Value array(rapidjson::kArrayType);
    for (const auto& object : objects) {
      rapidjson::Value copy;
      copy.CopyFrom(object.doc_, doc_.GetAllocator());
      array.PushBack(std::move(copy), doc_.GetAllocator());
    }
    return put(key, std::move(array));
  }
  Json& set(std::string_view key, const std::vector<std::string>& strings) {
    rapidjson::Value array(rapidjson::kArrayType);
    for (const auto& text : strings) {
      array.PushBack(rapidjson::Value(text.c_str(), doc_.GetAllocator()), doc_.GetAllocator());
    }
    return put(key, std::move(array));
  }
  Json& set_null(std::string_view key) { return put(key, rapidjson::Value()); }

  const rapidjson::Document& value() const { return doc_; }
  std::string str() const { return to_json(doc_); }

 private:
  Json& put(std::string_view key, rapidjson::Value value) {
    auto& allocator = doc_.GetAllocator();
    const auto member =
        doc_.FindMember(rapidjson::Value(key.data(), static_cast<rapidjson::SizeType>(key.size())));
    if (member != doc_.MemberEnd()) {
      member->value = std::move(value);
    } else {
      doc_.AddMember(
          rapidjson::Value(key.data(), static_cast<rapidjson::SizeType>(key.size()), allocator),
          std::move(value), allocator);
    }
    return *this;
  }

  rapidjson::Document doc_;
};

/// The string member `key` of a JSON object, or "" when absent or not a string.
inline std::string str(const rapidjson::Value& object, const char* key) {
  if (!object.IsObject()) {
    return {};
  }
  const auto member = object.FindMember(key);
  return member != object.MemberEnd() && member->value.IsString() ? member->value.GetString()
                                                                  : std::string();
}

/// Where peer.py is: $MIMREST_XMPP_PEER, else the path compiled in.
inline std::string default_peer_script() {
  if (const char* path = std::getenv("MIMREST_XMPP_PEER"); path != nullptr && *path != '\0') {
    return path;
  }
#ifdef MIMREST_XMPP_PEER
  return MIMREST_XMPP_PEER;
#else
  return "tests/xmpp/peer.py";
#endif
}

/// The Python that has slixmpp (Debian's python3-slixmpp belongs to the
/// system interpreter, which may not be the first python3 on PATH).
inline std::string default_peer_python() {
  if (const char* path = std::getenv("MIMREST_XMPP_PYTHON"); path != nullptr && *path != '\0') {
    return path;
  }
  return "/usr/bin/python3";
}

struct PeerOptions {
  std::string host = "127.0.0.1";
  int port = 5222;
  std::string jid;  ///< bare (a resource is added) or full
  std::string password = "secret";
  std::string resource = "peer";
  bool tls = false;       ///< require STARTTLS
  std::string ca_file;    ///< CA to verify the server's certificate with
  std::string mechanism;  ///< SASL mechanism; empty: the best offered
  /// PEP nodes whose notifications the peer asks for (NODE+notify in its
  /// capabilities), e.g. "urn:xmpp:bookmarks:1".
  std::vector<std::string> notify;
  std::chrono::seconds login_timeout{20};
  std::string script = default_peer_script();
  std::string python = default_peer_python();
};

/// One peer.py process. Lines are collected by a reader thread; wait_for()
/// takes the first not yet taken line that matches, so events can be waited
/// for in any order.
class XmppPeer {
 public:
  using Clock = std::chrono::steady_clock;
  using Predicate = std::function<bool(const rapidjson::Value&)>;

  explicit XmppPeer(PeerOptions options) : options_(std::move(options)) {
    // A write to a peer that died must be an error, not the end of the test.
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    ::sigaction(SIGPIPE, &ignore, nullptr);

    std::vector<std::string> args{options_.python, options_.script,
                                  "--host",        options_.host,
                                  "--port",        std::to_string(options_.port),
                                  "--jid",         options_.jid,
                                  "--password",    options_.password,
                                  "--resource",    options_.resource,
                                  "--timeout",     std::to_string(options_.login_timeout.count())};
    if (options_.tls) {
      args.emplace_back("--tls");
    }
    if (!options_.ca_file.empty()) {
      args.emplace_back("--ca");
      args.push_back(options_.ca_file);
    }
    if (!options_.mechanism.empty()) {
      args.emplace_back("--mech");
      args.push_back(options_.mechanism);
    }
    for (const auto& node : options_.notify) {
      args.emplace_back("--notify");
      args.push_back(node);
    }
    spawn(args);
    reader_ = std::thread([this] { read_loop(); });
  }

  ~XmppPeer() {
    close_input();  // the peer closes its stream and exits
    const auto deadline = Clock::now() + 1500ms;
    while (pid_ > 0 && Clock::now() < deadline) {
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        break;
      }
      std::this_thread::sleep_for(10ms);
    }
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
    if (reader_.joinable()) {
      reader_.join();
    }
    ::close(out_fd_);
    ::close(err_fd_);
  }

  XmppPeer(const XmppPeer&) = delete;
  XmppPeer& operator=(const XmppPeer&) = delete;

  const PeerOptions& options() const { return options_; }
  /// The peer's bare JID.
  std::string bare_jid() const { return options_.jid.substr(0, options_.jid.find('/')); }

  static bool is_event(const rapidjson::Value& line, std::string_view name) {
    return line.IsObject() && line.HasMember("event") && line["event"].IsString() &&
           name == line["event"].GetString();
  }

  /// Waits for {"event": "ready"}; throws when the peer failed to log in.
  rapidjson::Document wait_ready(std::chrono::milliseconds timeout = 30s) {
    auto line = wait_for(
        [](const rapidjson::Value& l) { return is_event(l, "ready") || is_event(l, "failed"); },
        timeout);
    if (is_event(line, "failed")) {
      throw std::runtime_error("XMPP peer " + options_.jid + " could not log in: " + to_json(line) +
                               describe());
    }
    return line;
  }

  /// Writes one raw line (a JSON object) to the peer.
  void send(const std::string& json_line) {
    std::lock_guard<std::mutex> lock(write_mutex_);
    std::string text = json_line + "\n";
    std::size_t done = 0;
    while (done < text.size()) {
      const ssize_t count = ::write(in_fd_, text.data() + done, text.size() - done);
      if (count < 0 && errno == EINTR) {
        continue;
      }
      if (count <= 0) {
        throw std::runtime_error("XMPP peer " + options_.jid + " is gone" + describe());
      }
      done += static_cast<std::size_t>(count);
    }
  }

  /// Sends command `cmd` with `fields` and waits for its reply (the peer's
  /// own timeout is `timeout`; this side waits a little longer).
  rapidjson::Document call(std::string_view cmd, const Json& fields = Json(),
                           std::chrono::milliseconds timeout = 10s) {
    const int id = ++last_id_;
    Json command = fields;
    command.set("cmd", cmd)
        .set("id", id)
        .set("timeout", std::chrono::duration<double>(timeout).count());
    send(command.str());
    return wait_for(
        [id](const rapidjson::Value& line) {
          return line.IsObject() && line.HasMember("reply") && line["reply"].IsInt() &&
                 line["reply"].GetInt() == id;
        },
        timeout + 5s);
  }

  /// call() that throws unless the reply says "ok": true.
  rapidjson::Document call_ok(std::string_view cmd, const Json& fields = Json(),
                              std::chrono::milliseconds timeout = 10s) {
    auto reply = call(cmd, fields, timeout);
    if (!reply.HasMember("ok") || !reply["ok"].IsBool() || !reply["ok"].GetBool()) {
      throw std::runtime_error("XMPP peer " + options_.jid + ": command " + std::string(cmd) + " " +
                               fields.str() + " failed: " + to_json(reply) + describe());
    }
    return reply;
  }

  /// The first line not taken yet that matches, waiting up to `timeout`;
  /// throws (with the lines seen) when none came.
  rapidjson::Document wait_for(const Predicate& predicate,
                               std::chrono::milliseconds timeout = 10s) {
    auto found = try_wait_for(predicate, timeout);
    if (!found) {
      throw std::runtime_error("XMPP peer " + options_.jid + ": the expected line did not come" +
                               describe());
    }
    return std::move(*found);
  }

  /// wait_for() that returns nullopt instead of throwing.
  std::optional<rapidjson::Document> try_wait_for(const Predicate& predicate,
                                                  std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    std::unique_lock<std::mutex> lock(mutex_);
    std::size_t checked = 0;
    while (true) {
      for (; checked < pending_.size(); ++checked) {
        if (predicate(*pending_[checked])) {
          rapidjson::Document found = std::move(*pending_[checked]);
          pending_.erase(pending_.begin() + static_cast<std::ptrdiff_t>(checked));
          return found;
        }
      }
      if (closed_) {
        return std::nullopt;
      }
      if (changed_.wait_until(lock, deadline) == std::cv_status::timeout &&
          checked == pending_.size()) {
        return std::nullopt;
      }
    }
  }

  /// Waits for the event `name` whose string members equal `fields`.
  rapidjson::Document wait_event(std::string_view name,
                                 std::vector<std::pair<std::string, std::string>> fields = {},
                                 std::chrono::milliseconds timeout = 10s) {
    return wait_for(
        [name, fields](const rapidjson::Value& line) {
          if (!is_event(line, name)) {
            return false;
          }
          for (const auto& [key, value] : fields) {
            if (str(line, key.c_str()) != value) {
              return false;
            }
          }
          return true;
        },
        timeout);
  }

  /// Lines received and not taken yet (for diagnostics).
  std::vector<std::string> pending_lines() const {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<std::string> lines;
    for (const auto& line : pending_) {
      lines.push_back(to_json(*line));
    }
    return lines;
  }

  /// What the peer wrote on stderr (its last 64 KiB).
  std::string error_output() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return stderr_;
  }

  /// True while the process runs.
  bool running() {
    if (pid_ <= 0) {
      return false;
    }
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return false;
    }
    return true;
  }

  /// Closes the peer's stdin: it disconnects and exits.
  void close_input() {
    std::lock_guard<std::mutex> lock(write_mutex_);
    if (in_fd_ >= 0) {
      ::close(in_fd_);
      in_fd_ = -1;
    }
  }

  /// Kills the peer at once (no stream close: the server sees a dead TCP
  /// connection).
  void kill() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
    }
  }

 private:
  void spawn(std::vector<std::string>& args) {
    int in_pipe[2];
    int out_pipe[2];
    int err_pipe[2];
    if (::pipe2(in_pipe, O_CLOEXEC) != 0 || ::pipe2(out_pipe, O_CLOEXEC) != 0 ||
        ::pipe2(err_pipe, O_CLOEXEC) != 0) {
      throw std::runtime_error("pipe failed");
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in_pipe[0], 0);
    posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
    posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);
    std::vector<char*> argv;
    for (auto& arg : args) {
      argv.push_back(arg.data());
    }
    argv.push_back(nullptr);
    const int failed = ::posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(in_pipe[0]);
    ::close(out_pipe[1]);
    ::close(err_pipe[1]);
    in_fd_ = in_pipe[1];
    out_fd_ = out_pipe[0];
    err_fd_ = err_pipe[0];
    if (failed != 0) {
      pid_ = -1;
      ::close(in_fd_);
      ::close(out_fd_);
      ::close(err_fd_);
      throw std::runtime_error("cannot start " + args[0] + ": " + std::strerror(failed));
    }
  }

  void read_loop() {
    std::string out;
    bool out_open = true;
    bool err_open = true;
    while (out_open || err_open) {
      pollfd fds[2] = {{out_open ? out_fd_ : -1, POLLIN, 0}, {err_open ? err_fd_ : -1, POLLIN, 0}};
      const int ready = ::poll(fds, 2, -1);
      if (ready < 0) {
        if (errno == EINTR) {
          continue;
        }
        break;
      }
      char buffer[8192];
      if (out_open && (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
        const ssize_t count = ::read(out_fd_, buffer, sizeof buffer);
        if (count <= 0) {
          out_open = false;
        } else {
          out.append(buffer, static_cast<std::size_t>(count));
          std::size_t end;
          while ((end = out.find('\n')) != std::string::npos) {
            add_line(out.substr(0, end));
            out.erase(0, end + 1);
          }
        }
      }
      if (err_open && (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
        const ssize_t count = ::read(err_fd_, buffer, sizeof buffer);
        if (count <= 0) {
          err_open = false;
        } else {
          std::lock_guard<std::mutex> lock(mutex_);
          stderr_.append(buffer, static_cast<std::size_t>(count));
          if (stderr_.size() > 65536) {
            stderr_.erase(0, stderr_.size() - 65536);
          }
        }
      }
    }
    std::lock_guard<std::mutex> lock(mutex_);
    closed_ = true;
    changed_.notify_all();
  }

  void add_line(const std::string& text) {
    auto line = std::make_unique<rapidjson::Document>();
    if (line->Parse(text.c_str()).HasParseError() || !line->IsObject()) {
      std::lock_guard<std::mutex> lock(mutex_);
      stderr_ += "[not JSON on stdout] " + text + "\n";
      return;
    }
    std::lock_guard<std::mutex> lock(mutex_);
    pending_.push_back(std::move(line));
    changed_.notify_all();
  }

  std::string describe() const {
    std::string text = "\n  lines not taken:";
    for (const auto& line : pending_lines()) {
      text += "\n    " + line;
    }
    const std::string err = error_output();
    if (!err.empty()) {
      text += "\n  stderr:\n" + err;
    }
    return text;
  }

  PeerOptions options_;
  pid_t pid_ = -1;
  int in_fd_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  std::thread reader_;
  mutable std::mutex mutex_;
  std::mutex write_mutex_;
  std::condition_variable changed_;
  std::deque<std::unique_ptr<rapidjson::Document>> pending_;
  std::string stderr_;
  bool closed_ = false;
  int last_id_ = 0;
};

}  // namespace mimrest::test::xmpp
