// Internal: one REST user's XMPP session, as the gateway keeps it: the
// client stream logged in as the user, what the gateway knows through it
// (roster, pending requests, the rooms it is in, bookmarks), the event
// streams fed from it, and every backend operation done as the user.
//
// Threads: every public member may be called from any thread; the work runs
// on the session's strand (the client's callbacks too), and completions are
// called there. Lifetime: shared; the gateway's table holds the session while
// it is open, and each request in flight holds what it uses (the Caller's
// login state).
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include "mimrest/backend/archive.hpp"
#include "mimrest/backend/caller.hpp"
#include "mimrest/backend/error.hpp"
#include "mimrest/backend/message_router.hpp"
#include "mimrest/backend/muc_light.hpp"
#include "mimrest/backend/roster.hpp"
#include "mimrest/backend/sessions.hpp"
#include "mimrest/completion.hpp"
#include "mimrest/jid.hpp"
#include "xmpp/client.hpp"
#include "xmpp/mam.hpp"
#include "xmpp/roster_state.hpp"

namespace mimrest::xmpp {

/// Names and subjects of rooms, as any session of the gateway last saw them
/// (a room's subject reaches only its occupants). Thread-safe.
class RoomCache {
 public:
  std::optional<std::string> subject(const Jid& room) const;
  void set_subject(const Jid& room, std::string subject);
  void forget(const Jid& room);

 private:
  mutable std::mutex mutex_;
  std::map<Jid, std::string> subjects_;
};

/// What every session of one gateway shares.
struct GatewayShared {
  boost::asio::any_io_executor executor;
  ClientOptions client;  ///< host, port, TLS, timeouts: the user is set per login
  std::string muc_pattern = "conference.@HOST@";
  std::size_t max_result_limit = 50;
  std::function<void(std::string_view)> log;
  RoomCache rooms;
  /// Tells the gateway a session ended (to take it out of its table).
  std::function<void(const std::shared_ptr<class UserSession>&)> on_closed;
  /// The session of another user of this gateway, if one is open (a room
  /// change made here that concerns them).
  std::function<std::shared_ptr<class UserSession>(const Jid&)> session_of;
};

enum class LoginOutcome { accepted, refused, unavailable };

class UserSession final : public LoginState, public std::enable_shared_from_this<UserSession> {
 public:
  UserSession(std::shared_ptr<GatewayShared> shared, Jid user, std::string credential);
  ~UserSession() override;
  UserSession(const UserSession&) = delete;
  UserSession& operator=(const UserSession&) = delete;

  const Jid& user() const noexcept { return user_; }
  /// What the login's credentials hash to (never the password).
  const std::string& credential() const noexcept { return credential_; }
  bool is_open() const noexcept { return open_.load(); }
  /// Microseconds (steady clock) of the last request, and the event streams
  /// open on it: what closing an idle session looks at.
  std::int64_t last_used_us() const noexcept { return last_used_.load(); }
  std::size_t streams() const noexcept { return streams_.load(); }
  void touch() noexcept;

  /// Connects and logs in (the roster read, the initial presence sent and
  /// processed); once per session.
  void login(std::string password, Completion<LoginOutcome> done);
  /// Ends the XMPP stream; the event streams fed from it end too.
  void close();

  // --- Messages and archives ---
  void send_chat(std::string stanza_xml, Completion<RouteResult> done);
  void archive(const MamPage& page, Completion<ArchiveResult> done);

  // --- Roster ---
  void roster_items(Completion<RosterItemsResult> done);
  void roster_add(const Jid& contact, Completion<RosterResult> done);
  void roster_subscribe(const Jid& contact, Completion<RosterResult> done);
  void roster_approve(const Jid& contact, Completion<RosterResult> done);
  void roster_remove(const Jid& contact, Completion<RosterResult> done);

  // --- Rooms (XEP-0045, bookmarks XEP-0402) ---
  void create_room(const Jid& room, const RoomConfig& config, Completion<CreateRoomResult> done);
  void user_rooms(Completion<UserRoomsResult> done);
  void room_info(const Jid& room, Completion<RoomInfoResult> done);
  void set_room_config(const Jid& room, const RoomConfig& config, Completion<RoomResult> done);
  void set_affiliation(const Jid& room, const Jid& target, Affiliation affiliation,
                       Completion<RoomResult> done);
  void send_room_message(const Jid& room, std::string stanza_xml, Completion<RoomResult> done);
  void room_archive(const Jid& room, const MamPage& page, Completion<RoomMessagesResult> done);
  /// Another session of this gateway removed the user from `room`: the
  /// bookmark goes (the user cannot be told otherwise by MUC).
  void forget_room(const Jid& room);

  // --- Event streams ---
  /// Feeds `sink` with what reaches the session until the returned handle is
  /// destroyed. The first stream joins the user's rooms.
  std::unique_ptr<Session> open_stream(std::shared_ptr<StanzaSink> sink);

 private:
  class Stream;
  struct Collector;   // the results of one archive query
  struct JoinedRoom;  // a room the session is in
  struct Affiliations;

  template <class F>
  void post(F&& f);
  void on_stanza(Stanza stanza);
  std::optional<Stanza> on_iq_request(const Stanza& iq);
  void on_closed(const CloseReason& reason);
  void on_message(const Stanza& message);
  void on_presence(const Stanza& presence);
  /// A message from a room: true when it was the room's to handle.
  bool on_room_message(const Stanza& message, const Jid& room, std::string_view type);
  void on_room_presence(const Stanza& presence, const Jid& from, std::string_view type);
  void on_invited(const Jid& room);
  /// Runs `f` on the strand after `delay` (a timeout).
  void after(std::chrono::milliseconds delay, std::function<void()> f);
  void deliver(const std::string& xml);
  void end_streams();
  void log(std::string_view what) const;

  void barrier(std::function<void(bool)> then);
  /// A subscription presence (`type`: subscribe, subscribed, unsubscribed).
  void send_presence(const Jid& contact, const char* type);
  /// `done` once the server has processed what was sent before (or unavailable).
  void answer_after_barrier(Completion<RosterResult> done);
  void iq(Stanza stanza, Completion<IqResult> done);
  void query_archive(const std::optional<Jid>& archive, const MamPage& page,
                     std::function<void(Expected<std::vector<ArchivedMessage>, IqFailure>)> then);

  // Rooms, on the strand.
  bool is_room(const Jid& jid) const;
  void room_exists(const Jid& room, std::function<void(Expected<std::string, IqFailure>)> then);
  void affiliations(const Jid& room, std::function<void(Expected<Affiliations, IqFailure>)> then);
  /// Enters `room` (when not in it already): with `create`, a room that does
  /// not exist is created (then true); without, it must exist. The
  /// condition when it cannot be entered.
  void join(const Jid& room, bool create, std::function<void(Expected<bool, std::string>)> then);
  void leave(const Jid& room);
  void subject_of(const Jid& room, std::function<void(std::string)> then);
  void configure(const Jid& room, const RoomConfig& config, bool fresh,
                 std::function<void(Expected<void, IqFailure>)> then);
  void set_subject(const Jid& room, const std::string& subject,
                   std::function<void(Expected<void, std::string>)> then);
  struct Bookmark {
    Jid room;
    std::string name;
  };
  void bookmarks(std::function<void(Expected<std::vector<Bookmark>, IqFailure>)> then);
  void add_bookmark(const Jid& room, const std::string& name, std::function<void()> then);
  void remove_bookmark(const Jid& room);
  void join_rooms_for_streams();
  template <class Result>
  void with_affiliation(const Jid& room, Completion<Result> done,
                        std::function<void(Affiliation, const Affiliations&)> then);

  const std::shared_ptr<GatewayShared> shared_;
  const Jid user_;
  const std::string credential_;
  /// The user's room service (the muc pattern on the user's domain).
  const std::optional<std::string> service_;
  boost::asio::strand<boost::asio::any_io_executor> strand_;
  std::shared_ptr<Client> client_;
  std::atomic<bool> open_{false};
  std::atomic<std::int64_t> last_used_{0};
  std::atomic<std::size_t> streams_{0};

  // On the strand only.
  bool login_started_ = false;
  RosterState roster_;
  std::uint64_t next_id_ = 0;
  std::map<std::string, std::shared_ptr<Collector>> collectors_;
  std::map<Jid, std::shared_ptr<JoinedRoom>> rooms_;
  std::set<Jid> known_rooms_;  // from invitations, before their bookmark is stored
  std::map<std::string, Completion<RoomResult>> reflections_;    // groupchat id -> send
  std::set<std::shared_ptr<boost::asio::steady_timer>> timers_;  // after()'s, pending
  std::map<Jid, std::vector<std::function<void(bool)>>> subject_waiters_;

  // The event streams: touched from the strand and from handles' destructors.
  std::mutex streams_mutex_;
  std::map<std::uint64_t, std::shared_ptr<StanzaSink>> sinks_;
  std::uint64_t next_sink_ = 0;
};

/// The Failure an XMPP error maps to (503 for a lost or silent server), with
/// the condition logged.
Failure failure_of(const IqFailure& failure);

}  // namespace mimrest::xmpp
