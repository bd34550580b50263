#include "sql/listener.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <sstream>
#include <utility>
#include <vector>

#include "sql/queries.hpp"
#include "sql/rooms.hpp"

namespace mimrest::sql::detail {

namespace {

constexpr std::chrono::milliseconds kTick{100};
constexpr std::chrono::milliseconds kRetry{500};

}  // namespace

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
  // What was committed while nobody listened is read as a gap.
  dispatcher_.note_committed(static_cast<std::uint64_t>(connection_->integer_or(
      "SELECT value FROM mimrest_counters WHERE name = 'sequence'", {}, 0)));
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
          handle(notification);
        }
      }
      if (auto gap = dispatcher_.stale_gap(options_.patience)) {
        fetch(gap->first, gap->second);
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

void Listener::handle(const Notification& notification) {
  const std::string& payload = notification.payload;
  // "<type> <node> <rest>"
  const auto first = payload.find(' ');
  if (first != 1) {
    return;
  }
  const auto second = payload.find(' ', first + 1);
  if (second == std::string::npos) {
    return;
  }
  if (payload.compare(first + 1, second - first - 1, options_.node) == 0) {
    return;  // this process's own: delivered already
  }
  const std::string rest = payload.substr(second + 1);
  switch (payload[0]) {
    case 'r': {
      std::istringstream in(rest);
      std::uint64_t prev = 0;
      std::uint64_t last = 0;
      if (in >> prev >> last) {
        if (sessions_.empty()) {
          dispatcher_.publish(Batch{prev, last, {}});
        } else {
          fetch(prev, last);
        }
      }
      break;
    }
    case 'n': {
      const auto space = rest.find(' ');
      if (space == std::string::npos) {
        return;
      }
      auto user = Jid::parse(rest.substr(0, space));
      if (user && !sessions_.empty()) {
        dispatcher_.deliver_now(
            {Delivery{{std::move(user.value())}, RoutedStanza::make(rest.substr(space + 1), 0)}});
      }
      break;
    }
    case 'i': {
      auto user = Jid::parse(rest);
      if (user && options_.invalidate) {
        options_.invalidate(user.value());
      }
      break;
    }
    default:
      break;
  }
}

void Listener::fetch(std::uint64_t from, std::uint64_t to) {
  Batch batch{from, to, {}};
  if (!sessions_.empty()) {
    struct Row {
      std::uint64_t seq;
      std::int64_t kind;
      std::int64_t owner;
      std::string owner_jid;
      std::string stanza;
    };
    std::vector<Row> rows;
    {
      Rows found = connection_->query(
          "SELECT a.seq, a.kind, a.owner, j.jid, a.stanza FROM mimrest_archive a "
          "JOIN mimrest_jids j ON j.id = a.owner WHERE a.seq > $1 AND a.seq <= $2 "
          "AND a.kind <> 0 ORDER BY a.seq",
          {static_cast<std::int64_t>(from), static_cast<std::int64_t>(to)});
      while (found.next()) {
        rows.push_back(Row{static_cast<std::uint64_t>(found.integer(0)), found.integer(1),
                           found.integer(2), found.text(3), found.text(4)});
      }
    }
    for (Row& row : rows) {
      std::vector<Jid> recipients;
      if (row.kind == static_cast<std::int64_t>(RowKind::received)) {
        recipients.push_back(stored_jid(row.owner_jid));
      } else {
        // The room's occupants now, and whoever the row says was removed.
        Rows occupants = connection_->query(
            "SELECT j.jid FROM mimrest_occupants o JOIN mimrest_rooms r ON r.id = o.room "
            "JOIN mimrest_jids j ON j.id = o.member WHERE r.jid = $1",
            {row.owner});
        while (occupants.next()) {
          recipients.push_back(stored_jid(occupants.text(0)));
        }
        for (auto& removed : removed_users(row.stanza)) {
          if (std::find(recipients.begin(), recipients.end(), removed) == recipients.end()) {
            recipients.push_back(std::move(removed));
          }
        }
      }
      batch.deliveries.push_back(
          Delivery{std::move(recipients), RoutedStanza::make(std::move(row.stanza), row.seq)});
    }
  }
  dispatcher_.publish(std::move(batch));
}

}  // namespace mimrest::sql::detail
