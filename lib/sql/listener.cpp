#include "sql/listener.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

#include "sql/queries.hpp"

namespace mimrest::sql::detail {

namespace {

constexpr std::chrono::milliseconds kTick{100};
constexpr std::chrono::milliseconds kRetry{500};
// Stored payloads older than this are deleted (a process that has not read
// one by then has lost its connection, and reads the rows themselves).
constexpr std::int64_t kStoredNoticeLifetimeUs = 600'000'000;
// Rows read per gap fill; a larger gap takes several.
constexpr std::size_t kFillLimit = 10000;

}  // namespace

void Announcer::operator()(Connection& db, WriteContext& context) const {
  if (context.deliveries().empty() && context.notices().empty() && context.logouts().empty()) {
    return;
  }
  std::vector<notice::Item> items;
  items.reserve(context.deliveries().size() + context.notices().size());
  for (const auto* list : {&context.deliveries(), &context.notices()}) {
    for (const Delivery& delivery : *list) {
      notice::Item item{delivery.stanza->sequence(), delivery.stanza->xml(), {}};
      item.recipients.reserve(delivery.recipients.size());
      for (const Recipient& recipient : delivery.recipients) {
        item.recipients.push_back(notice::Recipient{recipient.user.bare_string(), recipient.prev});
      }
      items.push_back(std::move(item));
    }
  }
  bool purged = false;
  for (notice::Frame& frame : notice::encode(node_, items, context.logouts())) {
    std::string payload = std::move(frame.payload);
    if (frame.oversized) {
      const std::int64_t now = clock_();
      if (!purged) {
        db.queue("DELETE FROM mimrest_notices WHERE created < $1", {now - kStoredNoticeLifetimeUs});
        purged = true;
      }
      const std::int64_t id = db.integer_or(
          "INSERT INTO mimrest_notices (created, payload) VALUES ($1, $2) RETURNING id",
          {now, payload}, 0);
      payload = notice::encode_spilled(node_, id);
    }
    db.queue("SELECT pg_notify('mimrest', $1)", {payload});
  }
}

Listener::Listener(ListenerOptions options, Dispatcher& dispatcher, const SessionTable& sessions)
    : options_(std::move(options)), dispatcher_(dispatcher), sessions_(sessions) {
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  thread_ = std::thread([this] { run(); });
}

Listener::~Listener() {
  stopping_.store(true);
  if (wake_fd_ >= 0) {
    const std::uint64_t one = 1;
    [[maybe_unused]] auto written = write(wake_fd_, &one, sizeof one);
  }
  thread_.join();
  if (wake_fd_ >= 0) {
    close(wake_fd_);
  }
}

void Listener::connect() {
  connection_ = open_postgresql(options_.url, options_.connect_timeout);
  connection_->script(std::string("LISTEN ") + kChannel);
  listening_.store(true);
  // What was committed while nobody listened is read as a gap of each
  // stream followed here.
  for (const std::string& user : dispatcher_.followed()) {
    Rows rows = connection_->query(
        "SELECT s.pushed FROM mimrest_streams s JOIN mimrest_jids j ON j.id = s.owner "
        "WHERE j.jid = $1",
        {user});
    if (rows.next()) {
      dispatcher_.note_committed(user, static_cast<std::uint64_t>(rows.integer(0)));
    }
  }
}

void Listener::run() {
  bool reported = false;
  while (!stopping_.load()) {
    try {
      if (!connection_) {
        connect();
        if (reported) {
          options_.log("listening again for other processes' messages");
          reported = false;
        }
      }
      pollfd fds[2] = {{connection_->socket(), POLLIN, 0}, {wake_fd_, POLLIN, 0}};
      poll(fds, 2, static_cast<int>(kTick.count()));
      for (const Notification& notification : connection_->notifications()) {
        if (notification.channel == kChannel) {
          handle(notification.payload, false);
        }
      }
      for (const auto& gap : dispatcher_.stale_gaps(options_.patience)) {
        if (!gap.stream.empty()) {
          fetch(gap.stream, gap.from, gap.to);
        }
      }
    } catch (const std::exception& error) {
      listening_.store(false);
      if (!reported) {
        options_.log(std::string(error.what()) + " (listener)");
        reported = true;
      }
      connection_.reset();
      pollfd wake{wake_fd_, POLLIN, 0};
      poll(&wake, 1, static_cast<int>(kRetry.count()));
    }
  }
  listening_.store(false);
}

void Listener::handle(const std::string& payload, bool stored) {
  auto message = notice::decode(payload);
  if (!message) {
    if (!reported_bad_payload_) {
      options_.log("ignoring a notification that is not one of this version's (" +
                   std::to_string(payload.size()) + " bytes)");
      reported_bad_payload_ = true;
    }
    return;
  }
  if (message->node == options_.node) {
    return;  // this process's own: delivered already
  }
  switch (message->kind) {
    case notice::Kind::deliveries:
      deliver(*message);
      break;
    case notice::Kind::logout:
      for (const std::string& user : message->users) {
        auto jid = Jid::parse(user);
        if (jid && options_.invalidate) {
          options_.invalidate(jid.value());
        }
      }
      break;
    case notice::Kind::spilled: {
      if (stored) {
        return;  // a stored payload points at no other
      }
      Rows rows = connection_->query("SELECT payload FROM mimrest_notices WHERE id = $1",
                                     {message->spilled_id});
      if (rows.next()) {
        handle(rows.text(0), true);
      } else {
        options_.log("a stored notification was gone before it was read (id " +
                     std::to_string(message->spilled_id) + ")");
      }
      break;
    }
  }
}

void Listener::deliver(notice::Message& message) {
  if (sessions_.empty()) {
    return;
  }
  std::vector<Delivery> deliveries;
  for (notice::Item& item : message.items) {
    std::vector<Recipient> recipients;
    for (const notice::Recipient& recipient : item.recipients) {
      // Only users with sessions here: parsing a JID is not free.
      const bool wanted = item.sequence == 0 ? true : dispatcher_.follows(recipient.user);
      if (!wanted) {
        continue;
      }
      auto jid = Jid::parse(recipient.user);
      if (jid && (item.sequence != 0 || sessions_.has_sessions(jid.value()))) {
        recipients.emplace_back(std::move(jid.value()), recipient.prev);
      }
    }
    if (!recipients.empty()) {
      deliveries.push_back(Delivery{std::move(recipients),
                                    RoutedStanza::make(std::move(item.stanza), item.sequence)});
    }
  }
  if (!deliveries.empty()) {
    dispatcher_.publish(std::move(deliveries));
  }
}

void Listener::fetch(const std::string& user, std::uint64_t from, std::uint64_t to) {
  auto jid = Jid::parse(user);
  if (!jid) {
    return;
  }
  std::vector<LoggedEvent> events;
  connection_->script(Dialect::postgresql().begin_read);
  try {
    if (auto id = find_jid(*connection_, user)) {
      events = read_events(*connection_, *id, from, to, kFillLimit);
    }
    connection_->script("COMMIT");
  } catch (...) {
    if (connection_->healthy()) {
      connection_->script("ROLLBACK");
    }
    throw;
  }
  Batch batch{from, to, {}, user};
  if (events.size() == kFillLimit) {
    batch.last = events.back().sequence;  // the rest in the next round
  }
  for (LoggedEvent& event : events) {
    batch.deliveries.push_back(Delivery{
        {Recipient(jid.value())}, RoutedStanza::make(std::move(event.stanza_xml), event.sequence)});
  }
  dispatcher_.publish(std::move(batch));
}

}  // namespace mimrest::sql::detail
