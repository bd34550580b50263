// The raw XMPP side of bench/xmpp_gateway: plain XMPP clients on lib/xmpp's
// Client doing what the gateway does for a REST request, without HTTP, so
// that the gateway's rate can be compared with the XMPP server's own limit
// over the same number of sessions, in the same run.
//
//   mimrest-bench-xmpp --server HOST:PORT [--domain localhost] [--password secret]
//                      [--ca FILE] [--threads 2]
//
// Commands, one a line on stdin, each answered by one JSON line on stdout:
//
//   login GROUP FIRST COUNT       COUNT sessions u<FIRST>... as the group GROUP,
//                                 logged in at once, plain TCP
//   post GROUP TO_FIRST SECONDS [N]  closed loop for SECONDS on the first N
//                                 sessions of GROUP (default all): session i
//                                 sends a chat message to u<TO_FIRST+i>, then a
//                                 ping to the server, and the next message when
//                                 the ping is answered
//   fill GROUP MESSAGES           session i sends MESSAGES messages to session
//                                 i+1 of the group (the last to the first), each
//                                 waiting for its ping: archives to read
//   mam GROUP LIMIT SECONDS [N]   closed loop of MAM queries for the newest
//                                 LIMIT messages of the session's archive, the
//                                 results gathered until the iq result
//   cold USER TLS                 one login of u<USER> timed from nothing to
//                                 the answered barrier (TLS 1: STARTTLS with
//                                 --ca), then closed
//   close GROUP                   closes the sessions of GROUP and forgets it
//   quit
//
// Each session does what the gateway's session does: login with the same
// resource scheme, roster get, carbons enabled, initial presence, a ping
// barrier; messages built as the REST core builds them (a UUID id, the same
// body), the same MAM query (lib/xmpp/mam.hpp). Threads: --threads I/O
// threads for every session, like the gateway's own.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/strand.hpp>

#include "mimrest/crypto.hpp"
#include "mimrest/jid.hpp"
#include "xmpp/client.hpp"
#include "xmpp/mam.hpp"

namespace {

namespace net = boost::asio;
using namespace mimrest::xmpp;
using Clock = std::chrono::steady_clock;

/// The body of every message: the same text bench/xmpp_gateway posts.
constexpr std::string_view kBody = "Hello, this is a benchmark message of a typical size.";
constexpr std::string_view kRosterNs = "jabber:iq:roster";
constexpr std::string_view kCarbonsNs = "urn:xmpp:carbons:2";

struct Options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 5222;
  std::string domain = "localhost";
  std::string password = "secret";
  std::string ca_file;
  unsigned threads = 2;
};

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

/// Counts down to zero, then wakes the waiter.
class Latch {
 public:
  explicit Latch(std::size_t count) : count_(count) {}
  void count_down() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (count_ > 0 && --count_ == 0) {
      done_.notify_all();
    }
  }
  void wait() {
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [this] { return count_ == 0; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable done_;
  std::size_t count_;
};

/// One closed loop's figures, per session (touched on its strand only).
struct Tally {
  std::vector<double> latencies_ms;  ///< of the requests completed in time
  std::size_t errors = 0;
  std::size_t results = 0;  ///< MAM: rows gathered
};

/// One logged-in session. Everything of it runs on its strand.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(net::any_io_executor executor, mimrest::Jid user)
      : strand_(net::make_strand(std::move(executor))), user_(std::move(user)) {}

  const mimrest::Jid& user() const { return user_; }

  /// The gateway's login (UserSession::login): connect, SASL, bind, roster
  /// get, carbons, initial presence, barrier. `done(true)` when all worked.
  void login(const ClientOptions& options, const std::string& password,
             std::function<void(bool)> done) {
    std::weak_ptr<Session> weak = weak_from_this();
    Client::Handlers handlers;
    handlers.on_stanza = [weak](Stanza stanza) {
      if (auto self = weak.lock()) {
        self->on_stanza(stanza);
      }
    };
    client_ = Client::create(strand_, options, std::move(handlers));
    const std::string resource = "bench-" + mimrest::random_uuid().substr(0, 8);
    client_->async_login(user_, password, resource,
                         [self = shared_from_this(), done](LoginResult logged_in) {
                           if (!logged_in) {
                             done(false);
                             return;
                           }
                           Stanza get("iq");
                           get.set_attribute("type", "get");
                           get.append_child("query", kRosterNs);
                           self->client_->async_iq(std::move(get), [self, done](IqResult roster) {
                             if (!roster) {
                               done(false);
                               return;
                             }
                             Stanza carbons("iq");
                             carbons.set_attribute("type", "set");
                             carbons.append_child("enable", kCarbonsNs);
                             self->client_->async_iq(std::move(carbons), [](IqResult) {});
                             self->client_->send_xml("<presence/>");
                             self->barrier([done](bool processed) { done(processed); });
                           });
                         });
  }

  bool is_open() const { return client_ && client_->is_open(); }

  void close() {
    if (client_) {
      client_->close();
    }
  }

  /// Posts `f` to the session's strand.
  template <class F>
  void post(F&& f) {
    net::post(strand_, [self = shared_from_this(), f = std::forward<F>(f)]() mutable { f(); });
  }

  /// A chat message to `to` (as the REST core builds it, the server stamping
  /// the sender), then the barrier; `done(ok)` when the ping is answered.
  void send_message(const std::string& to, std::function<void(bool)> done) {
    Stanza message("message");
    message.set_attribute("type", "chat");
    message.set_attribute("to", to);
    message.set_attribute("id", mimrest::random_uuid());
    message.root().append_child("body").text().set(std::string(kBody).c_str());
    client_->send(std::move(message));
    barrier(std::move(done));
  }

  /// The newest `limit` messages of the session's own archive, gathered as
  /// the gateway gathers them; `done(rows or -1)`.
  void query_archive(std::size_t limit, std::function<void(long)> done) {
    MamPage page;
    page.limit = limit;
    const std::string query_id = "q" + std::to_string(++next_query_);
    auto& rows = collectors_[query_id];
    rows.clear();
    client_->async_iq(mam_query(std::nullopt, query_id, page),
                      [self = shared_from_this(), query_id, done](IqResult answer) {
                        auto found = self->collectors_.find(query_id);
                        const long count = static_cast<long>(found->second.size());
                        self->collectors_.erase(found);
                        done(answer ? count : -1);
                      });
  }

  Tally tally;

 private:
  void barrier(std::function<void(bool)> then) {
    Stanza ping("iq");
    ping.set_attribute("type", "get");
    ping.set_attribute("to", user_.domain());
    ping.append_child("ping", ns::ping);
    client_->async_iq(std::move(ping), [then = std::move(then)](IqResult answer) {
      then(answer.has_value() || answer.error().kind == IqFailure::Kind::error_reply);
    });
  }

  void on_stanza(const Stanza& stanza) {
    if (stanza.name() != "message") {
      return;
    }
    pugi::xml_node result = stanza.child("result", kMamNs);
    if (!result) {
      return;  // a message from another bench user: read and dropped
    }
    auto found = collectors_.find(result.attribute("queryid").value());
    if (found == collectors_.end()) {
      return;
    }
    if (auto row = mam_result(stanza, found->first, std::nullopt, user_)) {
      found->second.push_back(std::move(*row));
    }
  }

  net::strand<net::any_io_executor> strand_;
  mimrest::Jid user_;
  std::shared_ptr<Client> client_;
  std::uint64_t next_query_ = 0;
  std::map<std::string, std::vector<mimrest::ArchivedMessage>> collectors_;
};

class Bench {
 public:
  explicit Bench(Options options) : options_(std::move(options)), work_(net::make_work_guard(io_)) {
    for (unsigned i = 0; i < std::max(1u, options_.threads); ++i) {
      threads_.emplace_back([this] { io_.run(); });
    }
  }
  ~Bench() {
    for (auto& [name, sessions] : groups_) {
      for (auto& session : sessions) {
        session->close();
      }
    }
    groups_.clear();
    work_.reset();
    // Closing streams wait for the server's end within a short grace.
    for (auto& thread : threads_) {
      thread.join();
    }
  }

  std::string run(const std::string& line) {
    std::istringstream in(line);
    std::string command;
    in >> command;
    if (command == "login") {
      std::string group;
      long first = 0, count = 0;
      in >> group >> first >> count;
      return login(group, first, count);
    }
    if (command == "post") {
      std::string group;
      long to_first = 0;
      double seconds = 0;
      long n = -1;
      in >> group >> to_first >> seconds;
      if (!(in >> n)) {
        n = -1;
      }
      return post(group, to_first, seconds, n);
    }
    if (command == "fill") {
      std::string group;
      long messages = 0;
      in >> group >> messages;
      return fill(group, messages);
    }
    if (command == "mam") {
      std::string group;
      long limit = 0, n = -1;
      double seconds = 0;
      in >> group >> limit >> seconds;
      if (!(in >> n)) {
        n = -1;
      }
      return mam(group, static_cast<std::size_t>(limit), seconds, n);
    }
    if (command == "close") {
      std::string group;
      in >> group;
      return close(group);
    }
    if (command == "cold") {
      long user = 0;
      int tls = 0;
      in >> user >> tls;
      return cold(user, tls != 0);
    }
    return R"({"error": "unknown command"})";
  }

 private:
  ClientOptions client_options(bool tls) {
    ClientOptions options;
    options.host = options_.host;
    options.port = options_.port;
    options.tls = tls ? ClientOptions::Tls::required : ClientOptions::Tls::none;
    if (tls) {
      if (!tls_context_) {
        auto made = make_tls_context(options_.ca_file);
        if (!made) {
          std::cerr << "mimrest-bench-xmpp: " << made.error() << "\n";
          std::exit(1);
        }
        tls_context_ = *made;
      }
      options.tls_context = tls_context_;
    }
    return options;
  }

  mimrest::Jid jid(long n) const {
    return *mimrest::Jid::parse("u" + std::to_string(n) + "@" + options_.domain);
  }

  std::string login(const std::string& group, long first, long count) {
    const auto start = Clock::now();
    std::vector<std::shared_ptr<Session>> sessions;
    Latch latch(static_cast<std::size_t>(count));
    std::atomic<long> failed{0};
    const ClientOptions options = client_options(false);
    for (long i = 0; i < count; ++i) {
      auto session = std::make_shared<Session>(io_.get_executor(), jid(first + i));
      sessions.push_back(session);
      session->post([session, &options, this, &latch, &failed] {
        session->login(options, options_.password, [&latch, &failed](bool ok) {
          if (!ok) {
            failed.fetch_add(1);
          }
          latch.count_down();
        });
      });
    }
    if (count > 0) {
      latch.wait();
    }
    // Sessions that could not log in are left out of the group.
    sessions.erase(std::remove_if(sessions.begin(), sessions.end(),
                                  [](const auto& session) { return !session->is_open(); }),
                   sessions.end());
    const std::size_t open = sessions.size();
    groups_[group] = std::move(sessions);
    std::ostringstream out;
    out << R"({"sessions": )" << open << R"(, "failed": )" << failed.load() << R"(, "ms": )"
        << ms_since(start) << "}";
    return out.str();
  }

  /// The first `n` sessions of a group (all when n < 0).
  std::vector<std::shared_ptr<Session>> pick(const std::string& group, long n) {
    auto& all = groups_[group];
    const std::size_t count =
        n < 0 ? all.size() : std::min(all.size(), static_cast<std::size_t>(n));
    return std::vector<std::shared_ptr<Session>>(all.begin(), all.begin() + count);
  }

  using Done = std::function<void(bool ok, long rows)>;
  using Step = std::function<void(Session&, Done)>;

  /// One session's closed loop: the next request when the last one is
  /// answered, until the deadline.
  struct Loop : std::enable_shared_from_this<Loop> {
    std::shared_ptr<Session> session;
    Clock::time_point deadline;
    Step step;
    Latch* latch = nullptr;

    void next() {
      if (Clock::now() >= deadline) {
        latch->count_down();
        return;
      }
      const auto sent = Clock::now();
      step(*session, [self = shared_from_this(), sent](bool ok, long rows) {
        const auto now = Clock::now();
        Tally& tally = self->session->tally;
        if (!ok) {
          ++tally.errors;
        } else if (now <= self->deadline) {
          tally.latencies_ms.push_back(
              std::chrono::duration<double, std::milli>(now - sent).count());
          tally.results += static_cast<std::size_t>(std::max(0L, rows));
        }
        if (!ok && !self->session->is_open()) {
          self->latch->count_down();  // a lost session stops; its errors counted
          return;
        }
        self->next();
      });
    }
  };

  /// Runs `step` in a closed loop on every session until the deadline; a
  /// request's latency counts if it completed in time.
  std::string closed_loop(const std::vector<std::shared_ptr<Session>>& sessions, double seconds,
                          Step step) {
    Latch latch(sessions.size());
    const auto start = Clock::now();
    const auto deadline =
        start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
    for (const auto& session : sessions) {
      session->tally = Tally{};
      auto loop = std::make_shared<Loop>();
      loop->session = session;
      loop->deadline = deadline;
      loop->step = step;
      loop->latch = &latch;
      session->post([loop] { loop->next(); });
    }
    if (!sessions.empty()) {
      latch.wait();
    }
    std::vector<double> latencies;
    std::size_t errors = 0, results = 0;
    for (const auto& session : sessions) {
      latencies.insert(latencies.end(), session->tally.latencies_ms.begin(),
                       session->tally.latencies_ms.end());
      errors += session->tally.errors;
      results += session->tally.results;
    }
    std::sort(latencies.begin(), latencies.end());
    auto percentile = [&](double p) {
      if (latencies.empty()) {
        return 0.0;
      }
      const std::size_t index =
          std::min(latencies.size() - 1,
                   static_cast<std::size_t>(p * static_cast<double>(latencies.size())));
      return latencies[index];
    };
    std::ostringstream out;
    out << R"({"sessions": )" << sessions.size() << R"(, "requests": )" << latencies.size()
        << R"(, "seconds": )" << seconds << R"(, "rps": )"
        << static_cast<double>(latencies.size()) / seconds << R"(, "p50_ms": )" << percentile(0.5)
        << R"(, "p99_ms": )" << percentile(0.99) << R"(, "errors": )" << errors
        << R"(, "rows_per_request": )"
        << (latencies.empty()
                ? 0.0
                : static_cast<double>(results) / static_cast<double>(latencies.size()))
        << "}";
    return out.str();
  }

  std::string post(const std::string& group, long to_first, double seconds, long n) {
    auto sessions = pick(group, n);
    auto to = std::make_shared<std::map<const Session*, std::string>>();
    for (std::size_t i = 0; i < sessions.size(); ++i) {
      (*to)[sessions[i].get()] = jid(to_first + static_cast<long>(i)).bare_string();
    }
    return closed_loop(sessions, seconds, [to](Session& session, Done done) {
      session.send_message(to->at(&session), [done](bool ok) { done(ok, 0); });
    });
  }

  std::string mam(const std::string& group, std::size_t limit, double seconds, long n) {
    return closed_loop(pick(group, n), seconds, [limit](Session& session, Done done) {
      session.query_archive(limit, [done](long rows) { done(rows >= 0, rows); });
    });
  }

  /// Session i sends `messages` messages to session i+1, one at a time.
  struct Filler : std::enable_shared_from_this<Filler> {
    std::shared_ptr<Session> session;
    std::string to;
    long left = 0;
    std::atomic<long>* errors = nullptr;
    Latch* latch = nullptr;

    void next() {
      if (left-- <= 0) {
        latch->count_down();
        return;
      }
      session->send_message(to, [self = shared_from_this()](bool ok) {
        if (!ok) {
          self->errors->fetch_add(1);
        }
        self->next();
      });
    }
  };

  std::string fill(const std::string& group, long messages) {
    auto sessions = pick(group, -1);
    Latch latch(sessions.size());
    std::atomic<long> errors{0};
    for (std::size_t i = 0; i < sessions.size(); ++i) {
      auto filler = std::make_shared<Filler>();
      filler->session = sessions[i];
      filler->to = sessions[(i + 1) % sessions.size()]->user().bare_string();
      filler->left = messages;
      filler->errors = &errors;
      filler->latch = &latch;
      sessions[i]->post([filler] { filler->next(); });
    }
    if (!sessions.empty()) {
      latch.wait();
    }
    return R"({"errors": )" + std::to_string(errors.load()) + "}";
  }

  std::string close(const std::string& group) {
    auto found = groups_.find(group);
    std::size_t closed = 0;
    if (found != groups_.end()) {
      for (auto& session : found->second) {
        session->close();
        ++closed;
      }
      groups_.erase(found);
    }
    return R"({"closed": )" + std::to_string(closed) + "}";
  }

  std::string cold(long user, bool tls) {
    const ClientOptions options = client_options(tls);
    auto session = std::make_shared<Session>(io_.get_executor(), jid(user));
    Latch latch(1);
    bool ok = false;
    const auto start = Clock::now();
    double ms = 0;
    session->post([session, &options, this, &latch, &ok, &ms, start] {
      session->login(options, options_.password, [&latch, &ok, &ms, start](bool logged_in) {
        ms = ms_since(start);
        ok = logged_in;
        latch.count_down();
      });
    });
    latch.wait();
    session->close();
    std::ostringstream out;
    out << R"({"ok": )" << (ok ? "true" : "false") << R"(, "ms": )" << ms << "}";
    return out.str();
  }

  Options options_;
  net::io_context io_;
  net::executor_work_guard<net::io_context::executor_type> work_;
  std::vector<std::thread> threads_;
  std::shared_ptr<net::ssl::context> tls_context_;
  std::map<std::string, std::vector<std::shared_ptr<Session>>> groups_;
};

[[noreturn]] void usage() {
  std::cerr << "usage: mimrest-bench-xmpp --server HOST:PORT [--domain D] [--password P] "
               "[--ca FILE] [--threads N]   (commands on stdin: see the source)\n";
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i + 1 >= argc) {
      usage();
    }
    const std::string value = argv[++i];
    if (arg == "--server") {
      const auto colon = value.rfind(':');
      if (colon == std::string::npos) {
        usage();
      }
      options.host = value.substr(0, colon);
      options.port = static_cast<std::uint16_t>(std::stoi(value.substr(colon + 1)));
    } else if (arg == "--domain") {
      options.domain = value;
    } else if (arg == "--password") {
      options.password = value;
    } else if (arg == "--ca") {
      options.ca_file = value;
    } else if (arg == "--threads") {
      options.threads = static_cast<unsigned>(std::stoul(value));
    } else {
      usage();
    }
  }
  std::ios::sync_with_stdio(false);
  Bench bench(options);
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line.empty()) {
      continue;
    }
    if (line == "quit") {
      break;
    }
    std::cout << bench.run(line) << std::endl;
  }
  return 0;
}
