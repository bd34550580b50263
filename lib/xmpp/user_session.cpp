// One user's XMPP session for the gateway: login, the stanzas that come in,
// messages, archives and the roster. The room operations are in rooms.cpp.
#include "xmpp/user_session.hpp"

#include <chrono>
#include <memory>
#include <utility>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "core/detail/stanza_xml.hpp"
#include "mimrest/backend/reference_backend.hpp"
#include "mimrest/crypto.hpp"
#include "xmpp/session_parts.hpp"

namespace mimrest::xmpp {

namespace net = boost::asio;

namespace {

constexpr std::string_view kCarbonsNs = "urn:xmpp:carbons:2";
constexpr std::string_view kConferenceNs = "jabber:x:conference";

std::int64_t steady_now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::optional<std::string> RoomCache::subject(const Jid& room) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = subjects_.find(room);
  if (found == subjects_.end()) {
    return std::nullopt;
  }
  return found->second;
}

void RoomCache::set_subject(const Jid& room, std::string subject) {
  std::lock_guard<std::mutex> lock(mutex_);
  subjects_[room] = std::move(subject);
}

void RoomCache::forget(const Jid& room) {
  std::lock_guard<std::mutex> lock(mutex_);
  subjects_.erase(room);
}

Failure failure_of(const IqFailure& failure) {
  return failure.kind == IqFailure::Kind::error_reply ? Failure::internal : Failure::unavailable;
}

/// A handle of one event stream: destroying it stops the deliveries.
class UserSession::Stream final : public Session {
 public:
  Stream(std::weak_ptr<UserSession> session, std::uint64_t id)
      : session_(std::move(session)), id_(id) {}
  ~Stream() override {
    if (auto session = session_.lock()) {
      std::lock_guard<std::mutex> lock(session->streams_mutex_);
      if (session->sinks_.erase(id_) != 0) {
        session->streams_.fetch_sub(1);
      }
    }
  }

 private:
  std::weak_ptr<UserSession> session_;
  std::uint64_t id_;
};

UserSession::UserSession(std::shared_ptr<GatewayShared> shared, Jid user, std::string credential)
    : shared_(std::move(shared)),
      user_(std::move(user)),
      credential_(std::move(credential)),
      service_(muc_light_service(shared_->muc_pattern, user_.domain())),
      strand_(net::make_strand(shared_->executor)) {
  touch();
}

UserSession::~UserSession() = default;

void UserSession::after(std::chrono::milliseconds delay, std::function<void()> f) {
  auto timer = std::make_shared<net::steady_timer>(strand_, delay);
  timers_.insert(timer);
  timer->async_wait(
      [self = shared_from_this(), timer, f = std::move(f)](const boost::system::error_code& error) {
        self->timers_.erase(timer);
        if (!error) {
          f();
        }
      });
}

void UserSession::touch() noexcept {
  last_used_.store(steady_now_us());
}

void UserSession::log(std::string_view what) const {
  if (shared_->log) {
    shared_->log("xmpp " + user_.bare_string() + ": " + std::string(what));
  }
}

void UserSession::login(std::string password, Completion<LoginOutcome> done) {
  post([this, password = std::move(password), done]() mutable {
    if (login_started_) {
      done(LoginOutcome::unavailable);
      return;
    }
    login_started_ = true;
    std::weak_ptr<UserSession> weak = weak_from_this();
    Client::Handlers handlers;
    handlers.on_stanza = [weak](Stanza stanza) {
      if (auto self = weak.lock()) {
        self->on_stanza(std::move(stanza));
      }
    };
    handlers.on_iq_request = [weak](const Stanza& iq) -> std::optional<Stanza> {
      if (auto self = weak.lock()) {
        return self->on_iq_request(iq);
      }
      return std::nullopt;
    };
    handlers.on_closed = [weak](const CloseReason& reason) {
      if (auto self = weak.lock()) {
        self->on_closed(reason);
      }
    };
    handlers.on_login_failed = [weak](const std::string& why) {
      if (auto self = weak.lock()) {
        self->log("login failed: " + why);
      }
    };
    client_ = Client::create(strand_, shared_->client, std::move(handlers));
    // A resource of its own, so that the user's other clients can tell it.
    const std::string resource = std::string(kGatewayResource) + random_uuid().substr(0, 8);
    client_->async_login(user_, std::move(password), resource,
                         [self = shared_from_this(), done](LoginResult logged_in) {
                           if (!logged_in) {
                             self->client_.reset();
                             done(logged_in.error() == LoginError::not_authorized
                                      ? LoginOutcome::refused
                                      : LoginOutcome::unavailable);
                             return;
                           }
                           Stanza get("iq");
                           get.set_attribute("type", "get");
                           get.append_child("query", kRosterNs);
                           self->iq(std::move(get), [self, done](IqResult roster) {
                             if (!roster) {
                               self->close();
                               done(LoginOutcome::unavailable);
                               return;
                             }
                             self->roster_.reset(roster->child("query", kRosterNs));
                             // Copies of the user's messages delivered to the user's other
                             // clients, for the event streams (XEP-0280); a server without
                             // carbons answers with an error, which changes nothing.
                             Stanza carbons("iq");
                             carbons.set_attribute("type", "set");
                             carbons.append_child("enable", kCarbonsNs);
                             self->iq(std::move(carbons), [](IqResult) {});
                             // Available: subscription requests and invitations that waited
                             // are delivered now, before the barrier's answer.
                             self->client_->send_xml("<presence/>");
                             self->barrier([self, done](bool processed) {
                               if (!processed) {
                                 self->close();
                                 done(LoginOutcome::unavailable);
                                 return;
                               }
                               self->open_.store(true);
                               done(LoginOutcome::accepted);
                             });
                           });
                         });
  });
}

void UserSession::close() {
  post([this] {
    open_.store(false);
    if (client_) {
      client_->close();  // on_closed follows, once
    }
  });
}

void UserSession::on_closed(const CloseReason& reason) {
  open_.store(false);
  // Nothing waits any more: the timeouts go (they would keep the gateway's
  // threads busy until they fire).
  for (const auto& timer : timers_) {
    timer->cancel();
  }
  if (reason.kind != CloseReason::Kind::closed_by_us) {
    log("stream ended: " + std::string(to_string(reason.kind)) +
        (reason.detail.empty() ? "" : " (" + reason.detail + ")"));
  }
  end_streams();
  for (auto& [id, done] : reflections_) {
    done(unexpected(Failure::unavailable));
  }
  reflections_.clear();
  for (auto& [room, joined] : rooms_) {
    joined->fail("remote-server-not-found");
  }
  rooms_.clear();
  collectors_.clear();
  if (shared_->on_closed) {
    shared_->on_closed(shared_from_this());
  }
}

void UserSession::iq(Stanza stanza, Completion<IqResult> done) {
  if (!client_) {
    done(unexpected(IqFailure{IqFailure::Kind::closed, {}, {}}));
    return;
  }
  client_->async_iq(std::move(stanza), std::move(done));
}

void UserSession::barrier(std::function<void(bool)> then) {
  // The server answers a ping after it has processed what came before it on
  // the stream (RFC 6120 section 10.1: in order).
  Stanza ping("iq");
  ping.set_attribute("type", "get");
  ping.set_attribute("to", user_.domain());
  ping.append_child("ping", ns::ping);
  iq(std::move(ping), [then = std::move(then)](IqResult answer) {
    then(answer.has_value() || answer.error().kind == IqFailure::Kind::error_reply);
  });
}

void UserSession::send_presence(const Jid& contact, const char* type) {
  Stanza presence("presence");
  presence.set_attribute("to", contact.bare_string());
  presence.set_attribute("type", type);
  client_->send(std::move(presence));
}

void UserSession::answer_after_barrier(Completion<RosterResult> done) {
  barrier(
      [done](bool processed) { processed ? done({}) : done(unexpected(Failure::unavailable)); });
}

// --- What comes in ---------------------------------------------------------

void UserSession::on_stanza(Stanza stanza) {
  if (stanza.name() == "message") {
    on_message(stanza);
  } else if (stanza.name() == "presence") {
    on_presence(stanza);
  }
}

std::optional<Stanza> UserSession::on_iq_request(const Stanza& request) {
  // Roster pushes come from the user's own account only (RFC 6121 2.1.6).
  const std::string_view from = request.attribute("from");
  auto sender = Jid::parse(from);
  const bool own = from.empty() || (sender && sender->bare() == user_);
  pugi::xml_node query = request.child("query", kRosterNs);
  if (!own || request.attribute("type") != "set" || !query) {
    return std::nullopt;
  }
  for (pugi::xml_node item = query.first_child(); item; item = item.next_sibling()) {
    if (item.type() == pugi::node_element && std::string_view(item.name()) == "item") {
      roster_.apply(item);
    }
  }
  Stanza result("iq");
  result.set_attribute("type", "result");
  return result;
}

void UserSession::on_message(const Stanza& message) {
  if (pugi::xml_node result = message.child("result", kMamNs)) {
    auto collector = collectors_.find(result.attribute("queryid").value());
    if (collector != collectors_.end()) {
      collector->second->take(message, user_);
    }
    return;
  }
  const std::string_view type = message.attribute("type");
  auto from = Jid::parse(message.attribute("from"));
  const bool from_self = !message.has_attribute("from") || (from && from->bare() == user_);
  if (pugi::xml_node received = message.child("received", kCarbonsNs)) {
    // A copy of a message delivered to another of the user's clients.
    pugi::xml_node inner =
        child_element(child_element(received, "forwarded", kForwardNs), "message", ns::client);
    if (from_self && inner && std::string_view(inner.attribute("type").value()) == "chat") {
      auto document = std::make_unique<pugi::xml_document>();
      document->append_copy(inner).remove_attribute("xmlns");
      deliver(as_api_message(Stanza(std::move(document)).xml()));
    }
    return;
  }
  if (message.child("sent", kCarbonsNs)) {
    return;  // what the user sent from another client: not an incoming event
  }
  if (from && is_room(from->bare()) && on_room_message(message, from->bare(), type)) {
    return;
  }
  if (!from) {
    return;
  }
  // An invitation to a room of the service: the room becomes one of the
  // user's (XEP-0045 mediated, or XEP-0249 direct).
  std::optional<Jid> invited;
  if (pugi::xml_node x = message.child("x", kMucUserNs);
      x && child_element(x, "invite", kMucUserNs)) {
    invited = from->bare();
  } else if (pugi::xml_node direct = message.child("x", kConferenceNs)) {
    if (auto room = Jid::parse(direct.attribute("jid").value())) {
      invited = room->bare();
    }
  }
  if (invited) {
    if (is_room(*invited)) {
      on_invited(*invited);
    }
    return;
  }
  if (type == "chat") {
    deliver(as_api_message(message.xml()));
  }
}

void UserSession::on_presence(const Stanza& presence) {
  auto from = Jid::parse(presence.attribute("from"));
  if (!from) {
    return;
  }
  const std::string_view type = presence.attribute("type");
  if (is_room(from->bare())) {
    on_room_presence(presence, *from, type);
    return;
  }
  const Jid contact = from->bare();
  if (type == "subscribe") {
    roster_.set_pending_in(contact, true);
  } else if (type == "unsubscribe") {
    roster_.set_pending_in(contact, false);  // the request is withdrawn
  }
}

void UserSession::deliver(const std::string& xml) {
  std::vector<std::shared_ptr<StanzaSink>> sinks;
  {
    std::lock_guard<std::mutex> lock(streams_mutex_);
    if (sinks_.empty()) {
      return;
    }
    sinks.reserve(sinks_.size());
    for (auto& [id, sink] : sinks_) {
      sinks.push_back(sink);
    }
  }
  // One stanza for every stream: converted to JSON once.
  auto stanza = RoutedStanza::make(xml);
  for (auto& sink : sinks) {
    sink->deliver(stanza);
  }
}

void UserSession::end_streams() {
  std::map<std::uint64_t, std::shared_ptr<StanzaSink>> sinks;
  {
    std::lock_guard<std::mutex> lock(streams_mutex_);
    sinks.swap(sinks_);
    streams_.store(0);
  }
  for (auto& [id, sink] : sinks) {
    sink->end();
  }
}

std::unique_ptr<Session> UserSession::open_stream(std::shared_ptr<StanzaSink> sink) {
  std::uint64_t id = 0;
  bool first = false;
  {
    std::lock_guard<std::mutex> lock(streams_mutex_);
    id = next_sink_++;
    sinks_.emplace(id, std::move(sink));
    first = streams_.fetch_add(1) == 0;
  }
  touch();
  if (first) {
    post([this] { join_rooms_for_streams(); });
  }
  return std::make_unique<Stream>(weak_from_this(), id);
}

// --- Messages and archives ---------------------------------------------------

void UserSession::send_chat(std::string stanza_xml, Completion<RouteResult> done) {
  touch();
  post([this, stanza_xml = std::move(stanza_xml), done]() mutable {
    if (!open_.load()) {
      done(unexpected(Failure::unavailable));
      return;
    }
    auto document = std::make_unique<pugi::xml_document>();
    if (!document->load_buffer(stanza_xml.data(), stanza_xml.size(),
                               mimrest::detail::kStanzaParseOptions)) {
      done(unexpected(Failure::internal));
      return;
    }
    // The server stamps the sender (the bound resource).
    document->document_element().remove_attribute("from");
    client_->send(Stanza(std::move(document)));
    barrier([done](bool processed) {
      if (processed) {
        done({});
      } else {
        done(unexpected(Failure::unavailable));
      }
    });
  });
}

void UserSession::query_archive(
    const std::optional<Jid>& archive, const MamPage& page,
    std::function<void(Expected<std::vector<ArchivedMessage>, IqFailure>)> then) {
  MamPage clamped = page;
  if (page.limit == 0 || !clamp_to_datetimes(clamped)) {
    then(std::vector<ArchivedMessage>{});
    return;
  }
  const std::string query_id = "q" + std::to_string(++next_id_);
  auto collector = std::make_shared<Collector>(query_id, archive);
  collectors_[query_id] = collector;
  iq(mam_query(archive, query_id, clamped),
     [self = shared_from_this(), query_id, archive, page = clamped, collector,
      then = std::move(then)](IqResult answer) mutable {
       self->collectors_.erase(query_id);
       if (!answer) {
         // A message the archive no longer knows (its id came from an
         // earlier page): bound that side by its time instead.
         const bool stale = answer.error().kind == IqFailure::Kind::error_reply &&
                            answer.error().condition == "item-not-found" &&
                            (page.before_id || page.after_id);
         if (stale) {
           MamPage by_time = page;
           by_time.before_id.reset();
           by_time.after_id.reset();
           self->query_archive(archive, by_time, std::move(then));
           return;
         }
         then(unexpected(answer.error()));
         return;
       }
       then(std::move(collector->rows));
     });
}

void UserSession::archive(const MamPage& page, Completion<ArchiveResult> done) {
  touch();
  post([this, page, done] {
    if (!open_.load()) {
      done(unexpected(Failure::unavailable));
      return;
    }
    MamPage capped = page;
    capped.limit = std::min(page.limit, shared_->max_result_limit);
    query_archive(std::nullopt, capped,
                  [this, done](Expected<std::vector<ArchivedMessage>, IqFailure> rows) {
                    if (!rows) {
                      log("archive query failed: " + rows.error().what());
                      done(unexpected(failure_of(rows.error())));
                      return;
                    }
                    std::vector<ArchivedMessage> chats;
                    for (auto& row : *rows) {
                      if (is_chat_row(row)) {
                        row.stanza_xml = as_api_message(row.stanza_xml);
                        chats.push_back(std::move(row));
                      }
                    }
                    done(std::move(chats));
                  });
  });
}

// --- Roster ------------------------------------------------------------------

void UserSession::roster_items(Completion<RosterItemsResult> done) {
  touch();
  post([this, done] {
    if (!open_.load()) {
      done(unexpected(Failure::unavailable));
      return;
    }
    // What others did before this request (an accepted invitation, a
    // removal) reaches this stream before the barrier's answer: read after it.
    barrier([this, self = shared_from_this(), done](bool processed) {
      if (!processed) {
        done(unexpected(Failure::unavailable));
        return;
      }
      done(roster_.items());
    });
  });
}

void UserSession::roster_add(const Jid& contact, Completion<RosterResult> done) {
  touch();
  post([this, contact, done] {
    if (!open_.load()) {
      done(unexpected(Failure::unavailable));
      return;
    }
    if (roster_.contains(contact)) {
      done({});  // an existing item stays as it is
      return;
    }
    Stanza set("iq");
    set.set_attribute("type", "set");
    pugi::xml_node item = append_element(set.append_child("query", kRosterNs), "item");
    item.append_attribute("jid").set_value(contact.bare_string().c_str());
    iq(std::move(set), [this, self = shared_from_this(), contact, done](IqResult answer) {
      if (!answer) {
        log("roster set failed: " + answer.error().what());
        done(unexpected(failure_of(answer.error())));
        return;
      }
      // The push that follows says the same; until then the answer holds.
      if (!roster_.contains(contact)) {
        pugi::xml_document added;
        added.append_child("item").append_attribute("jid").set_value(contact.bare_string().c_str());
        roster_.apply(added.first_child());
      }
      done({});
    });
  });
}

void UserSession::roster_subscribe(const Jid& contact, Completion<RosterResult> done) {
  touch();
  post([this, contact, done] {
    if (!open_.load()) {
      done(unexpected(Failure::unavailable));
      return;
    }
    send_presence(contact, "subscribe");
    // The server's roster push (ask="subscribe") comes before the barrier.
    answer_after_barrier(done);
  });
}

void UserSession::roster_approve(const Jid& contact, Completion<RosterResult> done) {
  touch();
  post([this, contact, done] {
    if (!open_.load()) {
      done(unexpected(Failure::unavailable));
      return;
    }
    send_presence(contact, "subscribed");
    roster_.set_pending_in(contact, false);
    answer_after_barrier(done);
  });
}

void UserSession::roster_remove(const Jid& contact, Completion<RosterResult> done) {
  touch();
  post([this, contact, done] {
    if (!open_.load()) {
      done(unexpected(Failure::unavailable));
      return;
    }
    if (!roster_.contains(contact)) {
      const auto items = roster_.items();
      const bool waiting = std::any_of(items.begin(), items.end(),
                                       [&](const RosterItem& item) { return item.jid == contact; });
      if (!waiting) {
        done(unexpected(RosterError::not_in_roster));
        return;
      }
      // Only their request is listed: removing it denies it.
      send_presence(contact, "unsubscribed");
      roster_.set_pending_in(contact, false);
      answer_after_barrier(done);
      return;
    }
    Stanza set("iq");
    set.set_attribute("type", "set");
    pugi::xml_node item = append_element(set.append_child("query", kRosterNs), "item");
    item.append_attribute("jid").set_value(contact.bare_string().c_str());
    item.append_attribute("subscription").set_value("remove");
    iq(std::move(set), [this, self = shared_from_this(), contact, done](IqResult answer) {
      if (!answer) {
        log("roster remove failed: " + answer.error().what());
        done(answer.error().condition == "item-not-found"
                 ? RosterResult(unexpected(RosterError::not_in_roster))
                 : RosterResult(unexpected(failure_of(answer.error()))));
        return;
      }
      pugi::xml_document removed;
      pugi::xml_node gone = removed.append_child("item");
      gone.append_attribute("jid").set_value(contact.bare_string().c_str());
      gone.append_attribute("subscription").set_value("remove");
      roster_.apply(gone);
      done({});
    });
  });
}

}  // namespace mimrest::xmpp
