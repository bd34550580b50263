// The open connections of one server: their count (max_connections), what
// each is doing (so that the listener can shed one when it runs out of
// descriptors or reaches the cap), and the list stop() closes.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

namespace mimrest::beast::detail {

/// What a connection is doing, as the listener sees it. A session publishes
/// it on its strand; the listener claims a connection by setting `shed`.
enum class Activity : std::uint8_t {
  waiting,    ///< accepted, in the TLS handshake, or a request's headers arriving
  idle,       ///< between keep-alive requests, or its last answer is out
  busy,       ///< a request in flight or answers queued
  streaming,  ///< an event stream
  shed,       ///< claimed by the listener: closes without serving anything more
};

/// Which connections the listener may shed.
enum class Shed : std::uint8_t {
  waiting,          ///< at max_connections: only those still waiting for headers
  waiting_or_idle,  ///< out of descriptors: idle ones too
};

/// Sets `activity` to `next` unless the listener has claimed it; false then
/// (the session must close without serving anything more).
bool publish(std::atomic<Activity>& activity, Activity next) noexcept;

/// A connection as stop() and the listener see it.
class Closable {
 public:
  virtual ~Closable() = default;
  /// Closes the connection on its own strand, from any thread.
  virtual void shut() = 0;
};

class ConnectionList {
 public:
  /// Called once a shed connection has given its descriptor back (set before
  /// the I/O threads start).
  std::function<void()> on_shed;

  /// Connections accepted and not yet closed.
  std::size_t count() const noexcept { return count_.load(std::memory_order_relaxed); }

  /// Counts and lists a connection; `activity` must stay valid until
  /// remove() (the session owns it and removes itself before it goes).
  std::uint64_t add(std::weak_ptr<Closable> connection, std::atomic<Activity>* activity);
  /// The connection `id` is now served by another object (the SSE session
  /// that took the socket over).
  void rebind(std::uint64_t id, std::weak_ptr<Closable> connection,
              std::atomic<Activity>* activity);
  /// Uncounts and unlists it; `shed` tells that the listener had claimed it.
  void remove(std::uint64_t id, bool shed);

  /// Claims the oldest connection that `level` allows and closes it; false
  /// when there is none.
  bool shed_oldest(Shed level);

  std::vector<std::shared_ptr<Closable>> open();

 private:
  struct Entry {
    std::weak_ptr<Closable> connection;
    std::atomic<Activity>* activity;
  };
  std::atomic<std::size_t> count_{0};
  std::mutex mutex_;
  std::uint64_t next_id_ = 0;
  std::map<std::uint64_t, Entry> open_;  ///< by accept order: the oldest first
};

/// A connection's place in the ConnectionList, from the accept until the
/// last session that serves it (HTTP, then maybe SSE) lets go of it.
class Registration {
 public:
  Registration() = default;
  Registration(ConnectionList& list, std::weak_ptr<Closable> connection,
               std::atomic<Activity>* activity)
      : list_(&list), id_(list.add(std::move(connection), activity)), activity_(activity) {}
  Registration(Registration&& other) noexcept
      : list_(other.list_), id_(other.id_), activity_(other.activity_) {
    other.list_ = nullptr;
  }
  Registration& operator=(Registration&& other) noexcept {
    if (this != &other) {
      reset();
      list_ = other.list_;
      id_ = other.id_;
      activity_ = other.activity_;
      other.list_ = nullptr;
    }
    return *this;
  }
  Registration(const Registration&) = delete;
  Registration& operator=(const Registration&) = delete;
  ~Registration() { reset(); }

  /// Hands the connection to `connection`, whose activity is `activity`.
  void rebind(std::weak_ptr<Closable> connection, std::atomic<Activity>* activity) {
    if (list_ != nullptr) {
      activity_ = activity;
      list_->rebind(id_, std::move(connection), activity);
    }
  }
  void reset() {
    if (list_ != nullptr) {
      list_->remove(id_, activity_->load() == Activity::shed);
      list_ = nullptr;
    }
  }

 private:
  ConnectionList* list_ = nullptr;
  std::uint64_t id_ = 0;
  std::atomic<Activity>* activity_ = nullptr;
};

}  // namespace mimrest::beast::detail
