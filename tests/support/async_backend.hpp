// A backend that completes every operation LATER, on other threads: it wraps
// another backend's interfaces and runs each call on a small thread pool
// after a random delay. Tests run the whole Api suite through it to check
// that the core does not depend on inline completion.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "mimrest/backend/backend.hpp"

namespace mimrest::test {

/// Runs tasks on a few threads, each after a random delay of up to
/// `max_delay`. The destructor runs what is queued, then joins.
class DelayPool {
 public:
  explicit DelayPool(unsigned threads = 3,
                     std::chrono::microseconds max_delay = std::chrono::microseconds(300))
      : max_delay_(max_delay) {
    for (unsigned i = 0; i < threads; ++i) {
      threads_.emplace_back([this, i] { run(i); });
    }
  }
  ~DelayPool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    ready_.notify_all();
    for (auto& thread : threads_) {
      thread.join();
    }
  }
  DelayPool(const DelayPool&) = delete;
  DelayPool& operator=(const DelayPool&) = delete;

  void post(std::function<void()> task) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      tasks_.push_back(std::move(task));
    }
    ready_.notify_one();
  }

 private:
  void run(unsigned seed) {
    std::minstd_rand random(seed + 1);
    std::uniform_int_distribution<std::int64_t> delay(0, max_delay_.count());
    while (true) {
      std::function<void()> task;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        ready_.wait(lock, [&] { return stopping_ || !tasks_.empty(); });
        if (tasks_.empty()) {
          return;
        }
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      std::this_thread::sleep_for(std::chrono::microseconds(delay(random)));
      task();
    }
  }

  std::chrono::microseconds max_delay_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

/// Every interface of `inner`, completing later on `pool`'s threads.
class AsyncBackend {
 public:
  AsyncBackend(Backend inner, DelayPool& pool)
      : passwords_(inner, pool),
        router_(inner, pool),
        archive_(inner, pool),
        roster_(inner, pool),
        muc_light_(inner, pool),
        sessions_(inner, pool),
        tokens_(inner, pool),
        events_(inner, pool),
        inner_(inner) {}

  Backend backend() {
    Backend backend;
    backend.passwords = &passwords_;
    backend.router = inner_.router ? &router_ : nullptr;
    backend.archive = inner_.archive ? &archive_ : nullptr;
    backend.roster = inner_.roster ? &roster_ : nullptr;
    backend.muc_light = inner_.muc_light ? &muc_light_ : nullptr;
    backend.sessions = inner_.sessions ? &sessions_ : nullptr;
    backend.tokens = inner_.tokens ? &tokens_ : nullptr;
    backend.events = inner_.events ? &events_ : nullptr;
    return backend;
  }

 private:
  // Arguments are copied: the core's are valid only during the call.
  struct Part {
    Part(Backend inner, DelayPool& pool) : b(inner), p(pool) {}
    Backend b;
    DelayPool& p;
  };

  struct Passwords final : PasswordVerifier, Part {
    using Part::Part;
    void async_verify(const Jid& user, std::string_view password,
                      Completion<VerifyResult> done) override {
      p.post([b = b, user, password = std::string(password), done] {
        b.passwords->async_verify(user, password, done);
      });
    }
  };
  struct Router final : MessageRouter, Part {
    using Part::Part;
    void async_route_chat_message(const Jid& from, const Jid& to, std::string stanza_xml,
                                  Completion<RouteResult> done) override {
      p.post([b = b, from, to, stanza_xml = std::move(stanza_xml), done]() mutable {
        b.router->async_route_chat_message(from, to, std::move(stanza_xml), done);
      });
    }
  };
  struct Archive final : MessageArchive, Part {
    using Part::Part;
    void async_messages(const ArchiveQuery& query, Completion<ArchiveResult> done) override {
      p.post([b = b, query, done] { b.archive->async_messages(query, done); });
    }
  };
  struct Rosters final : Roster, Part {
    using Part::Part;
    void async_items(const Jid& user, Completion<RosterItemsResult> done) override {
      p.post([b = b, user, done] { b.roster->async_items(user, done); });
    }
    void async_add(const Jid& user, const Jid& contact, Completion<RosterResult> done) override {
      p.post([b = b, user, contact, done] { b.roster->async_add(user, contact, done); });
    }
    void async_subscribe(const Jid& user, const Jid& contact,
                         Completion<RosterResult> done) override {
      p.post([b = b, user, contact, done] { b.roster->async_subscribe(user, contact, done); });
    }
    void async_approve(const Jid& user, const Jid& contact,
                       Completion<RosterResult> done) override {
      p.post([b = b, user, contact, done] { b.roster->async_approve(user, contact, done); });
    }
    void async_remove(const Jid& user, const Jid& contact, Completion<RosterResult> done) override {
      p.post([b = b, user, contact, done] { b.roster->async_remove(user, contact, done); });
    }
  };
  struct Rooms final : MucLight, Part {
    using Part::Part;
    std::optional<std::string> service_domain(std::string_view user_domain) const override {
      return b.muc_light->service_domain(user_domain);
    }
    void async_create_room(const Jid& owner, const std::optional<Jid>& room,
                           const RoomConfig& config, Completion<CreateRoomResult> done) override {
      p.post([b = b, owner, room, config, done] {
        b.muc_light->async_create_room(owner, room, config, done);
      });
    }
    void async_user_rooms(const Jid& user, Completion<UserRoomsResult> done) override {
      p.post([b = b, user, done] { b.muc_light->async_user_rooms(user, done); });
    }
    void async_room_info(const Jid& user, const Jid& room,
                         Completion<RoomInfoResult> done) override {
      p.post([b = b, user, room, done] { b.muc_light->async_room_info(user, room, done); });
    }
    void async_set_config(const Jid& user, const Jid& room, const RoomConfig& config,
                          Completion<RoomResult> done) override {
      p.post([b = b, user, room, config, done] {
        b.muc_light->async_set_config(user, room, config, done);
      });
    }
    void async_set_affiliation(const Jid& actor, const Jid& room, const Jid& target,
                               Affiliation affiliation, Completion<RoomResult> done) override {
      p.post([b = b, actor, room, target, affiliation, done] {
        b.muc_light->async_set_affiliation(actor, room, target, affiliation, done);
      });
    }
    void async_send_message(const Jid& sender, const Jid& room, std::string stanza_xml,
                            Completion<RoomResult> done) override {
      p.post([b = b, sender, room, stanza_xml = std::move(stanza_xml), done]() mutable {
        b.muc_light->async_send_message(sender, room, std::move(stanza_xml), done);
      });
    }
    void async_messages(const RoomArchiveQuery& query,
                        Completion<RoomMessagesResult> done) override {
      p.post([b = b, query, done] { b.muc_light->async_messages(query, done); });
    }
  };
  struct Sessions final : SessionManager, Part {
    using Part::Part;
    void async_open_session(const Jid& full_jid, std::shared_ptr<StanzaSink> sink,
                            Completion<OpenSessionResult> done) override {
      p.post([b = b, full_jid, sink = std::move(sink), done]() mutable {
        b.sessions->async_open_session(full_jid, std::move(sink), done);
      });
    }
  };
  struct Tokens final : TokenStore, Part {
    using Part::Part;
    void async_issue(const std::vector<TokenRecord>& records, std::int64_t now_us,
                     Completion<TokenChangeResult> done) override {
      p.post([b = b, records, now_us, done] { b.tokens->async_issue(records, now_us, done); });
    }
    void async_find(const std::string& hash, std::int64_t now_us,
                    Completion<TokenLookupResult> done) override {
      p.post([b = b, hash, now_us, done] { b.tokens->async_find(hash, now_us, done); });
    }
    void async_rotate(const std::string& refresh_hash, const std::vector<TokenRecord>& replacements,
                      std::int64_t now_us, Completion<RotateResult> done) override {
      p.post([b = b, refresh_hash, replacements, now_us, done] {
        b.tokens->async_rotate(refresh_hash, replacements, now_us, done);
      });
    }
    void async_revoke_user(const Jid& user, Completion<TokenChangeResult> done) override {
      p.post([b = b, user, done] { b.tokens->async_revoke_user(user, done); });
    }
  };
  struct Events final : EventLog, Part {
    using Part::Part;
    void async_events_after(const Jid& user, std::uint64_t after, std::size_t limit,
                            Completion<EventsResult> done) override {
      p.post([b = b, user, after, limit, done] {
        b.events->async_events_after(user, after, limit, done);
      });
    }
    void async_last_sequence(Completion<SequenceResult> done) override {
      p.post([b = b, done] { b.events->async_last_sequence(done); });
    }
  };

  Passwords passwords_;
  Router router_;
  Archive archive_;
  Rosters roster_;
  Rooms muc_light_;
  Sessions sessions_;
  Tokens tokens_;
  Events events_;
  Backend inner_;
};

}  // namespace mimrest::test
