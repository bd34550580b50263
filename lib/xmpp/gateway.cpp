// The gateway: its threads, the table of sessions (one per active user), and
// the backend interfaces, each a thin layer that finds the caller's session
// and hands the operation to it.
#include "mimrest/xmpp/gateway.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <iostream>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <utility>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "mimrest/backend/reference_backend.hpp"
#include "mimrest/crypto.hpp"
#include "xmpp/gateway_tokens.hpp"
#include "xmpp/user_session.hpp"

namespace mimrest::xmpp {

namespace net = boost::asio;

namespace {

std::int64_t steady_now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

/// The prepared form of a domain, or empty when it is none.
std::string prepared_domain(std::string_view domain) {
  auto jid = Jid::parse(domain);
  return jid && jid->local().empty() && jid->is_bare() ? jid->domain() : std::string();
}

}  // namespace

struct Gateway::Impl {
  explicit Impl(GatewayConfig gateway_config)
      : config(std::move(gateway_config)),
        work(net::make_work_guard(io)),
        shared(std::make_shared<GatewayShared>()),
        hmac_key(random_bytes(32)),
        sweeper(io),
        tokens([this](const Jid& user) { return open_session(user); }) {}

  // --- The table ---------------------------------------------------------------

  /// The user's open session, if any.
  std::shared_ptr<UserSession> open_session(const Jid& user) {
    std::lock_guard<std::mutex> lock(mutex);
    auto found = sessions.find(user);
    if (found == sessions.end() || !found->second->is_open()) {
      return nullptr;
    }
    return found->second;
  }

  /// The session an operation of `caller` runs on: the one its login
  /// established, or (a Bearer token) the user's open one.
  std::shared_ptr<UserSession> session_for(const Caller& caller) {
    if (auto established = caller.login_as<UserSession>()) {
      return established;
    }
    return open_session(caller.bare());
  }

  std::string credential_of(const Jid& user, std::string_view password) const {
    std::string input = user.bare_string();
    input.push_back('\0');
    input.append(password);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    HMAC(EVP_sha256(), hmac_key.data(), static_cast<int>(hmac_key.size()),
         reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest, &length);
    return std::string(reinterpret_cast<const char*>(digest), length);
  }

  bool hosted(std::string_view domain) const {
    return std::find(domains.begin(), domains.end(), domain) != domains.end();
  }

  void login(const Jid& user, std::string_view password, Completion<mimrest::LoginResult> done) {
    if (!hosted(user.domain()) || user.local().empty()) {
      done(Login{false, nullptr});
      return;
    }
    const std::string credential = credential_of(user, password);
    const std::string key = user.bare_string() + '\0' + credential;
    std::shared_ptr<UserSession> session;
    std::shared_ptr<UserSession> evicted;
    // `done` may run the rest of the request inline, which comes back here
    // (tokens look sessions up): it is called only after the lock is released.
    std::optional<mimrest::LoginResult> answer_now;
    {
      std::lock_guard<std::mutex> lock(mutex);
      auto found = sessions.find(user);
      if (stopped) {
        answer_now = unexpected(Failure::unavailable);
      } else if (found != sessions.end() && found->second->is_open() &&
                 constant_time_equal(found->second->credential(), credential)) {
        found->second->touch();
        answer_now = Login{true, found->second};
      } else if (auto pending = logins.find(key); pending != logins.end()) {
        pending->second.waiters.push_back(std::move(done));
        return;
      } else {
        if (sessions.size() + logins.size() >= config.max_sessions) {
          evicted = least_recently_used_idle();
          if (evicted) {
            sessions.erase(evicted->user());
          } else {
            if (config.log) {
              config.log("xmpp: the session limit is reached; a login waits for none");
            }
            answer_now = unexpected(Failure::unavailable);
          }
        }
        if (!answer_now) {
          session = std::make_shared<UserSession>(shared, user, credential);
          logins[key].waiters.push_back(std::move(done));
        }
      }
    }
    if (answer_now) {
      done(std::move(*answer_now));
      return;
    }
    if (evicted) {
      evicted->close();
    }
    session->login(std::string(password), [this, session, key](LoginOutcome outcome) {
      std::vector<Completion<mimrest::LoginResult>> waiters;
      std::shared_ptr<UserSession> replaced;
      {
        std::lock_guard<std::mutex> lock(mutex);
        auto pending = logins.find(key);
        if (pending != logins.end()) {
          waiters = std::move(pending->second.waiters);
          logins.erase(pending);
        }
        if (outcome == LoginOutcome::accepted) {
          if (stopped) {
            outcome = LoginOutcome::unavailable;
          } else {
            auto& slot = sessions[session->user()];
            replaced = slot;  // logged in with other credentials: superseded
            slot = session;
          }
        }
      }
      if (replaced && replaced != session) {
        replaced->close();
      }
      if (outcome != LoginOutcome::accepted) {
        session->close();
      }
      for (auto& waiter : waiters) {
        switch (outcome) {
          case LoginOutcome::accepted:
            waiter(Login{true, session});
            break;
          case LoginOutcome::refused:
            waiter(Login{false, nullptr});
            break;
          case LoginOutcome::unavailable:
            waiter(unexpected(Failure::unavailable));
            break;
        }
      }
    });
  }

  /// Under the mutex: the open session without event streams used least
  /// recently, if any.
  std::shared_ptr<UserSession> least_recently_used_idle() {
    std::shared_ptr<UserSession> oldest;
    for (auto& [user, session] : sessions) {
      if (session->streams() == 0 &&
          (!oldest || session->last_used_us() < oldest->last_used_us())) {
        oldest = session;
      }
    }
    return oldest;
  }

  void closed(const std::shared_ptr<UserSession>& session) {
    std::lock_guard<std::mutex> lock(mutex);
    auto found = sessions.find(session->user());
    if (found != sessions.end() && found->second == session) {
      sessions.erase(found);
    }
  }

  void sweep() {
    const std::int64_t idle_us =
        std::chrono::duration_cast<std::chrono::microseconds>(config.idle_timeout).count();
    const std::int64_t now = steady_now_us();
    std::vector<std::shared_ptr<UserSession>> idle;
    {
      std::lock_guard<std::mutex> lock(mutex);
      for (auto it = sessions.begin(); it != sessions.end();) {
        if (it->second->streams() == 0 && now - it->second->last_used_us() >= idle_us) {
          idle.push_back(it->second);
          it = sessions.erase(it);
        } else {
          ++it;
        }
      }
    }
    for (auto& session : idle) {
      session->close();
    }
  }

  void schedule_sweep() {
    // Often enough that a session outlives its idle time by at most a tenth
    // of it (and a second).
    const auto period = std::max<std::chrono::milliseconds>(
        std::chrono::seconds(1),
        std::chrono::duration_cast<std::chrono::milliseconds>(config.idle_timeout) / 10);
    sweeper.expires_after(period);
    sweeper.async_wait([this](const boost::system::error_code& error) {
      if (!error) {
        sweep();
        schedule_sweep();
      }
    });
  }

  void stop() {
    std::vector<std::shared_ptr<UserSession>> open;
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (stopped) {
        return;
      }
      stopped = true;
      for (auto& [user, session] : sessions) {
        open.push_back(session);
      }
      sessions.clear();
    }
    for (auto& session : open) {
      session->close();
    }
    net::post(io, [this] { sweeper.cancel(); });
  }

  // --- The interfaces -----------------------------------------------------------

  struct Passwords final : PasswordVerifier {
    explicit Passwords(Impl& gateway) : g(gateway) {}
    void async_verify(const Jid& user, std::string_view password,
                      Completion<VerifyResult> done) override {
      g.login(user, password, [done](mimrest::LoginResult login) {
        if (!login) {
          done(unexpected(login.error()));
        } else {
          done(login->accepted);
        }
      });
    }
    void async_login(const Jid& user, std::string_view password,
                     Completion<mimrest::LoginResult> done) override {
      g.login(user, password, std::move(done));
    }
    Impl& g;
  };

  /// Runs `work(session)` on the caller's session, or completes with
  /// unavailable when it has none (gone since the login).
  template <class Result, class Act>
  void on_session(const Caller& caller, const Completion<Result>& done, Act&& act) {
    auto session = session_for(caller);
    if (!session || !session->is_open()) {
      done(unexpected(Failure::unavailable));
      return;
    }
    act(*session);
  }

  static MamPage page_of(std::optional<Jid> with, std::optional<std::int64_t> before_us,
                         std::optional<std::int64_t> after_us, std::size_t limit,
                         std::optional<std::string> before_id,
                         std::optional<std::string> after_id) {
    MamPage page;
    page.with = std::move(with);
    page.before_us = before_us;
    page.after_us = after_us;
    page.limit = limit;
    page.before_id = std::move(before_id);
    page.after_id = std::move(after_id);
    return page;
  }

  struct Messages final : MessageRouter, MessageArchive {
    explicit Messages(Impl& gateway) : g(gateway) {}
    void async_route_chat_message(const Caller& from, const Jid&, std::string stanza_xml,
                                  Completion<RouteResult> done) override {
      g.on_session(from, done,
                   [&](UserSession& session) { session.send_chat(std::move(stanza_xml), done); });
    }
    void async_messages(const ArchiveQuery& query, Completion<ArchiveResult> done) override {
      g.on_session(query.owner, done, [&](UserSession& session) {
        session.archive(page_of(query.with, query.before_us, query.after_us, query.limit,
                                query.before_id, query.after_id),
                        done);
      });
    }
    Impl& g;
  };

  struct Contacts final : Roster {
    explicit Contacts(Impl& gateway) : g(gateway) {}
    void async_items(const Caller& user, Completion<RosterItemsResult> done) override {
      g.on_session(user, done, [&](UserSession& session) { session.roster_items(done); });
    }
    void async_add(const Caller& user, const Jid& contact, Completion<RosterResult> done) override {
      g.on_session(user, done, [&](UserSession& session) { session.roster_add(contact, done); });
    }
    void async_subscribe(const Caller& user, const Jid& contact,
                         Completion<RosterResult> done) override {
      g.on_session(user, done,
                   [&](UserSession& session) { session.roster_subscribe(contact, done); });
    }
    void async_approve(const Caller& user, const Jid& contact,
                       Completion<RosterResult> done) override {
      g.on_session(user, done,
                   [&](UserSession& session) { session.roster_approve(contact, done); });
    }
    void async_remove(const Caller& user, const Jid& contact,
                      Completion<RosterResult> done) override {
      g.on_session(user, done, [&](UserSession& session) { session.roster_remove(contact, done); });
    }
    Impl& g;
  };

  struct Rooms final : MucLight {
    explicit Rooms(Impl& gateway) : g(gateway) {}
    void async_service_domain(std::string_view user_domain,
                              Completion<ServiceDomainResult> done) override {
      const std::string domain = prepared_domain(user_domain);
      if (!g.hosted(domain)) {
        done(std::optional<std::string>());
        return;
      }
      done(muc_light_service(g.config.muc_service, domain));
    }
    void async_create_room(const Caller& owner, const std::optional<Jid>& room,
                           const RoomConfig& config, Completion<CreateRoomResult> done) override {
      g.on_session(owner, done, [&](UserSession& session) {
        if (room) {
          session.create_room(*room, config, done);
          return;
        }
        // A fresh room: a random node on the user's service.
        auto service = muc_light_service(g.config.muc_service, owner.domain());
        auto fresh = service
                         ? Jid::from_parts(
                               random_uuid().substr(0, 8) + random_uuid().substr(24, 12), *service)
                         : unexpected(JidError::empty_domain);
        if (!fresh) {
          done(unexpected(RoomError(RoomErrorKind::room_not_found)));
          return;
        }
        session.create_room(*fresh, config, done);
      });
    }
    void async_user_rooms(const Caller& user, Completion<UserRoomsResult> done) override {
      g.on_session(user, done, [&](UserSession& session) { session.user_rooms(done); });
    }
    void async_room_info(const Caller& user, const Jid& room,
                         Completion<RoomInfoResult> done) override {
      g.on_session(user, done, [&](UserSession& session) { session.room_info(room, done); });
    }
    void async_set_config(const Caller& user, const Jid& room, const RoomConfig& config,
                          Completion<RoomResult> done) override {
      g.on_session(user, done,
                   [&](UserSession& session) { session.set_room_config(room, config, done); });
    }
    void async_set_affiliation(const Caller& actor, const Jid& room, const Jid& target,
                               Affiliation affiliation, Completion<RoomResult> done) override {
      g.on_session(actor, done, [&](UserSession& session) {
        session.set_affiliation(room, target, affiliation, done);
      });
    }
    void async_send_message(const Caller& sender, const Jid& room, std::string stanza_xml,
                            Completion<RoomResult> done) override {
      g.on_session(sender, done, [&](UserSession& session) {
        session.send_room_message(room, std::move(stanza_xml), done);
      });
    }
    void async_messages(const RoomArchiveQuery& query,
                        Completion<RoomMessagesResult> done) override {
      g.on_session(query.user, done, [&](UserSession& session) {
        session.room_archive(query.room,
                             page_of(std::nullopt, query.before_us, query.after_us, query.limit,
                                     query.before_id, query.after_id),
                             done);
      });
    }
    Impl& g;
  };

  struct Streams final : SessionManager {
    explicit Streams(Impl& gateway) : g(gateway) {}
    void async_open_session(const Caller& full_jid, std::shared_ptr<StanzaSink> sink,
                            Completion<OpenSessionResult> done) override {
      g.on_session(full_jid, done, [&](UserSession& session) {
        done(OpenSessionResult(session.open_stream(std::move(sink))));
      });
    }
    Impl& g;
  };

  const GatewayConfig config;
  net::io_context io;
  net::executor_work_guard<net::io_context::executor_type> work;
  std::shared_ptr<GatewayShared> shared;
  const std::string hmac_key;
  std::vector<std::string> domains;
  net::steady_timer sweeper;

  struct PendingLogin {
    std::vector<Completion<mimrest::LoginResult>> waiters;
  };
  mutable std::mutex mutex;
  std::unordered_map<Jid, std::shared_ptr<UserSession>> sessions;
  std::map<std::string, PendingLogin> logins;  // by user and credential
  bool stopped = false;

  Passwords passwords{*this};
  Messages messages{*this};
  Contacts contacts{*this};
  Rooms rooms{*this};
  Streams streams{*this};
  GatewayTokens tokens;
  std::vector<std::thread> threads;
};

Expected<std::unique_ptr<Gateway>, std::string> Gateway::open(GatewayConfig config) {
  if (config.host.empty()) {
    return unexpected(std::string("the XMPP server's host is empty"));
  }
  if (config.domains.empty()) {
    return unexpected(std::string("no XMPP domain is configured"));
  }
  if (config.threads == 0) {
    config.threads = 1;
  }
  if (!config.log) {
    config.log = [](std::string_view line) { std::cerr << "mimrest: " << line << "\n"; };
  }
  std::vector<std::string> domains;
  for (const auto& domain : config.domains) {
    std::string prepared = prepared_domain(domain);
    if (prepared.empty()) {
      return unexpected("'" + domain + "' is not a domain");
    }
    domains.push_back(std::move(prepared));
  }
  for (const auto& domain : domains) {
    if (!config.muc_service.empty() && !muc_light_service(config.muc_service, domain)) {
      return unexpected("the room service '" + config.muc_service + "' is not a domain for '" +
                        domain + "'");
    }
  }
  ClientOptions client;
  client.host = config.host;
  client.port = config.port;
  client.tls = config.tls == GatewayConfig::Tls::none ? ClientOptions::Tls::none
                                                      : ClientOptions::Tls::required;
  if (client.tls == ClientOptions::Tls::required) {
    auto context = make_tls_context(config.ca_file);
    if (!context) {
      return unexpected(context.error());
    }
    client.tls_context = *context;
  }
  client.login_timeout = config.login_timeout;
  client.iq_timeout = config.request_timeout;
  client.ping_interval = config.keepalive;
  client.max_stanza_bytes = config.max_stanza_bytes;

  auto impl = std::make_unique<Impl>(std::move(config));
  Impl* raw = impl.get();
  raw->domains = std::move(domains);
  GatewayShared& shared = *raw->shared;
  shared.executor = raw->io.get_executor();
  shared.client = std::move(client);
  shared.muc_pattern = raw->config.muc_service;
  shared.max_result_limit = raw->config.max_result_limit;
  shared.log = raw->config.log;
  shared.on_closed = [raw](const std::shared_ptr<UserSession>& session) { raw->closed(session); };
  shared.session_of = [raw](const Jid& user) { return raw->open_session(user); };
  raw->schedule_sweep();
  for (unsigned i = 0; i < raw->config.threads; ++i) {
    raw->threads.emplace_back([raw] {
      for (;;) {
        try {
          raw->io.run();
          return;
        } catch (const std::exception& error) {
          raw->config.log(std::string("xmpp: unexpected error on an I/O thread: ") + error.what());
        } catch (...) {
          raw->config.log("xmpp: unexpected error on an I/O thread");
        }
      }
    });
  }
  return std::unique_ptr<Gateway>(new Gateway(std::move(impl)));
}

Gateway::Gateway(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Gateway::~Gateway() {
  impl_->stop();
  // The streams close on their strands (graceful: a short grace at most),
  // then nothing keeps the context busy.
  impl_->work.reset();
  for (auto& thread : impl_->threads) {
    thread.join();
  }
  // What the context still holds goes with it (sessions' last references).
  impl_->shared->on_closed = nullptr;
  impl_->shared->session_of = nullptr;
}

Backend Gateway::backend() {
  Impl& parts = *impl_;
  return backend_of(parts.passwords, parts.messages, parts.contacts, parts.rooms, parts.streams,
                    parts.tokens);
}

void Gateway::stop() {
  impl_->stop();
}

std::size_t Gateway::session_count(const Jid& user) const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  auto found = impl_->sessions.find(user.bare());
  return found != impl_->sessions.end() && found->second->is_open() ? found->second->streams() : 0;
}

std::size_t Gateway::open_sessions() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return static_cast<std::size_t>(
      std::count_if(impl_->sessions.begin(), impl_->sessions.end(),
                    [](const auto& entry) { return entry.second->is_open(); }));
}

}  // namespace mimrest::xmpp
