// One posting wrapper per interface of the capability list (backend.hpp).
// Arguments are copied into the posted work: the caller's are valid only
// during the call.
#include "mimrest/backend/on_executor.hpp"

#include <string>
#include <utility>

namespace mimrest {

namespace {

template <class Interface>
class Posted;

template <class Interface>
struct PostedBase : Interface {
  PostedBase(Interface& inner, Executor& executor) : b(&inner), ex(executor) {}
  Interface* b;
  Executor& ex;
};

template <>
class Posted<PasswordVerifier> final : public PostedBase<PasswordVerifier> {
 public:
  using PostedBase::PostedBase;
  void async_verify(const Jid& user, std::string_view password,
                    Completion<VerifyResult> done) override {
    ex.post([b = b, user, password = std::string(password), done] {
      b->async_verify(user, password, done);
    });
  }
  void async_login(const Jid& user, std::string_view password,
                   Completion<LoginResult> done) override {
    ex.post([b = b, user, password = std::string(password), done] {
      b->async_login(user, password, done);
    });
  }
};

template <>
class Posted<MessageRouter> final : public PostedBase<MessageRouter> {
 public:
  using PostedBase::PostedBase;
  void async_route_chat_message(const Caller& from, const Jid& to, std::string stanza_xml,
                                Completion<RouteResult> done) override {
    ex.post([b = b, from, to, stanza_xml = std::move(stanza_xml), done]() mutable {
      b->async_route_chat_message(from, to, std::move(stanza_xml), done);
    });
  }
};

template <>
class Posted<MessageArchive> final : public PostedBase<MessageArchive> {
 public:
  using PostedBase::PostedBase;
  void async_messages(const ArchiveQuery& query, Completion<ArchiveResult> done) override {
    ex.post([b = b, query, done] { b->async_messages(query, done); });
  }
};

template <>
class Posted<Roster> final : public PostedBase<Roster> {
 public:
  using PostedBase::PostedBase;
  void async_items(const Caller& user, Completion<RosterItemsResult> done) override {
    ex.post([b = b, user, done] { b->async_items(user, done); });
  }
  void async_add(const Caller& user, const Jid& contact, Completion<RosterResult> done) override {
    ex.post([b = b, user, contact, done] { b->async_add(user, contact, done); });
  }
  void async_subscribe(const Caller& user, const Jid& contact,
                       Completion<RosterResult> done) override {
    ex.post([b = b, user, contact, done] { b->async_subscribe(user, contact, done); });
  }
  void async_approve(const Caller& user, const Jid& contact,
                     Completion<RosterResult> done) override {
    ex.post([b = b, user, contact, done] { b->async_approve(user, contact, done); });
  }
  void async_remove(const Caller& user, const Jid& contact,
                    Completion<RosterResult> done) override {
    ex.post([b = b, user, contact, done] { b->async_remove(user, contact, done); });
  }
};

template <>
class Posted<MucLight> final : public PostedBase<MucLight> {
 public:
  using PostedBase::PostedBase;
  void async_service_domain(std::string_view user_domain,
                            Completion<ServiceDomainResult> done) override {
    ex.post([b = b, user_domain = std::string(user_domain), done] {
      b->async_service_domain(user_domain, done);
    });
  }
  void async_create_room(const Caller& owner, const std::optional<Jid>& room,
                         const RoomConfig& config, Completion<CreateRoomResult> done) override {
    ex.post(
        [b = b, owner, room, config, done] { b->async_create_room(owner, room, config, done); });
  }
  void async_user_rooms(const Caller& user, Completion<UserRoomsResult> done) override {
    ex.post([b = b, user, done] { b->async_user_rooms(user, done); });
  }
  void async_room_info(const Caller& user, const Jid& room,
                       Completion<RoomInfoResult> done) override {
    ex.post([b = b, user, room, done] { b->async_room_info(user, room, done); });
  }
  void async_set_config(const Caller& user, const Jid& room, const RoomConfig& config,
                        Completion<RoomResult> done) override {
    ex.post([b = b, user, room, config, done] { b->async_set_config(user, room, config, done); });
  }
  void async_set_affiliation(const Caller& actor, const Jid& room, const Jid& target,
                             Affiliation affiliation, Completion<RoomResult> done) override {
    ex.post([b = b, actor, room, target, affiliation, done] {
      b->async_set_affiliation(actor, room, target, affiliation, done);
    });
  }
  void async_send_message(const Caller& sender, const Jid& room, std::string stanza_xml,
                          Completion<RoomResult> done) override {
    ex.post([b = b, sender, room, stanza_xml = std::move(stanza_xml), done]() mutable {
      b->async_send_message(sender, room, std::move(stanza_xml), done);
    });
  }
  void async_messages(const RoomArchiveQuery& query, Completion<RoomMessagesResult> done) override {
    ex.post([b = b, query, done] { b->async_messages(query, done); });
  }
};

template <>
class Posted<SessionManager> final : public PostedBase<SessionManager> {
 public:
  using PostedBase::PostedBase;
  void async_open_session(const Caller& full_jid, std::shared_ptr<StanzaSink> sink,
                          Completion<OpenSessionResult> done) override {
    ex.post([b = b, full_jid, sink = std::move(sink), done]() mutable {
      b->async_open_session(full_jid, std::move(sink), done);
    });
  }
};

template <>
class Posted<TokenStore> final : public PostedBase<TokenStore> {
 public:
  using PostedBase::PostedBase;
  void async_issue(const std::vector<TokenRecord>& records, std::int64_t now_us,
                   Completion<TokenChangeResult> done) override {
    ex.post([b = b, records, now_us, done] { b->async_issue(records, now_us, done); });
  }
  void async_find(const std::string& hash, std::int64_t now_us,
                  Completion<TokenLookupResult> done) override {
    ex.post([b = b, hash, now_us, done] { b->async_find(hash, now_us, done); });
  }
  void async_rotate(const std::string& refresh_hash, const std::vector<TokenRecord>& replacements,
                    std::int64_t now_us, Completion<RotateResult> done) override {
    ex.post([b = b, refresh_hash, replacements, now_us, done] {
      b->async_rotate(refresh_hash, replacements, now_us, done);
    });
  }
  void async_revoke_user(const Caller& user, Completion<TokenChangeResult> done) override {
    ex.post([b = b, user, done] { b->async_revoke_user(user, done); });
  }
};

template <>
class Posted<EventLog> final : public PostedBase<EventLog> {
 public:
  using PostedBase::PostedBase;
  void async_events_after(const Caller& user, std::uint64_t after, std::size_t limit,
                          Completion<EventsResult> done) override {
    ex.post([b = b, user, after, limit, done] { b->async_events_after(user, after, limit, done); });
  }
  void async_last_sequence(Completion<SequenceResult> done) override {
    ex.post([b = b, done] { b->async_last_sequence(done); });
  }
};

}  // namespace

BackendOnExecutor::BackendOnExecutor(Backend inner, Executor& executor) {
  for_each_capability(wrapped_, [&](auto*& out) {
    using Interface = std::remove_pointer_t<std::remove_reference_t<decltype(out)>>;
    if (Interface* source = capability<Interface>(inner)) {
      auto part = std::make_shared<Posted<Interface>>(*source, executor);
      out = part.get();
      parts_.push_back(std::move(part));
    }
  });
}

BackendOnExecutor::~BackendOnExecutor() = default;

}  // namespace mimrest
