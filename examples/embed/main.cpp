// Embedding mimrest in your own server: what a host writes.
//
// The host keeps its HTTP server and its chat backend. It implements the
// backend interfaces (here: a toy with one user, no rooms, no history), builds
// one mimrest::Api, and for every HTTP request copies method, raw path,
// query, headers and body into a mimrest::Request, calls Api::handle and
// copies the Response back. This program runs a few requests through such a
// toy request loop and checks the answers (exit 0 when they are right).
#include <cstdint>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mimrest/api.hpp"
#include "mimrest/crypto.hpp"

namespace {

// --- The host's backend, one small class per interface. ---

// Accounts: a real host asks its user store. Compare secrets in constant time.
class ToyPasswords final : public mimrest::PasswordVerifier {
 public:
  bool verify(const mimrest::Jid& user, std::string_view password) override {
    return user.bare_string() == "alice@example.com" &&
           mimrest::constant_time_equal(password, "secret");
  }
};

// Message routing: a real host delivers to the recipient and archives.
class ToyRouter final : public mimrest::MessageRouter {
 public:
  void route_chat_message(const mimrest::Jid& from, const mimrest::Jid& to,
                          std::string stanza_xml) override {
    std::cout << "route " << from.bare_string() << " -> " << to.bare_string() << ": " << stanza_xml
              << "\n";
    ++routed;
  }
  int routed = 0;
};

// Message archive (MAM): nothing stored in this toy.
class ToyArchive final : public mimrest::MessageArchive {
 public:
  std::vector<mimrest::ArchivedMessage> recent_messages(
      const mimrest::ArchiveQuery&) const override {
    return {};
  }
};

// Rosters: everyone has an empty one.
class ToyRoster final : public mimrest::Roster {
 public:
  std::vector<mimrest::RosterItem> items(const mimrest::Jid&) const override { return {}; }
  mimrest::Expected<void, mimrest::RosterError> add(const mimrest::Jid&,
                                                    const mimrest::Jid&) override {
    return mimrest::unexpected(mimrest::RosterError::contact_not_found);
  }
  mimrest::Expected<void, mimrest::RosterError> subscribe(const mimrest::Jid&,
                                                          const mimrest::Jid&) override {
    return mimrest::unexpected(mimrest::RosterError::not_in_roster);
  }
  mimrest::Expected<void, mimrest::RosterError> approve(const mimrest::Jid&,
                                                        const mimrest::Jid&) override {
    return mimrest::unexpected(mimrest::RosterError::not_in_roster);
  }
  mimrest::Expected<void, mimrest::RosterError> remove(const mimrest::Jid&,
                                                       const mimrest::Jid&) override {
    return mimrest::unexpected(mimrest::RosterError::not_in_roster);
  }
};

// Group rooms: this host has no MUC Light service, so the room endpoints
// answer 404 "MUC Light server not found" and nothing else is called.
class NoRooms final : public mimrest::MucLight {
 public:
  using RoomResult = mimrest::Expected<void, mimrest::RoomError>;
  std::optional<std::string> service_domain(std::string_view) const override {
    return std::nullopt;
  }
  mimrest::Expected<mimrest::Jid, mimrest::RoomError> create_room(
      const mimrest::Jid&, std::optional<mimrest::Jid>, const mimrest::RoomConfig&) override {
    return mimrest::unexpected(mimrest::RoomError{mimrest::RoomErrorKind::room_not_found, {}, {}});
  }
  std::vector<mimrest::RoomSummary> user_rooms(const mimrest::Jid&) const override { return {}; }
  mimrest::Expected<mimrest::RoomInfo, mimrest::RoomError> room_info(
      const mimrest::Jid&, const mimrest::Jid&) const override {
    return mimrest::unexpected(mimrest::RoomError{mimrest::RoomErrorKind::room_not_found, {}, {}});
  }
  RoomResult set_config(const mimrest::Jid&, const mimrest::Jid&,
                        const mimrest::RoomConfig&) override {
    return mimrest::unexpected(mimrest::RoomError{mimrest::RoomErrorKind::room_not_found, {}, {}});
  }
  RoomResult set_affiliation(const mimrest::Jid&, const mimrest::Jid&, const mimrest::Jid&,
                             mimrest::Affiliation) override {
    return mimrest::unexpected(mimrest::RoomError{mimrest::RoomErrorKind::room_not_found, {}, {}});
  }
  RoomResult send_message(const mimrest::Jid&, const mimrest::Jid&, std::string) override {
    return mimrest::unexpected(mimrest::RoomError{mimrest::RoomErrorKind::room_not_found, {}, {}});
  }
  mimrest::Expected<std::vector<mimrest::ArchivedMessage>, mimrest::RoomError> recent_messages(
      const mimrest::Jid&, const mimrest::Jid&, std::optional<std::int64_t>,
      std::size_t) const override {
    return mimrest::unexpected(mimrest::RoomError{mimrest::RoomErrorKind::room_not_found, {}, {}});
  }
};

// Live sessions for GET /sse: a real host registers the sink so that its
// router can deliver to it, and unregisters it when the Session dies.
class ToySessions final : public mimrest::SessionManager {
 public:
  std::unique_ptr<mimrest::Session> open_session(const mimrest::Jid&,
                                                 std::shared_ptr<mimrest::StanzaSink>) override {
    return std::make_unique<mimrest::Session>();
  }
};

// --- The host's own HTTP layer, reduced to a request loop. ---

struct HostRequest {  // whatever the host's server hands over
  std::string method;
  std::string target;  // "/path?query", still percent-encoded
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

// The whole adapter: copy in, handle, copy out.
mimrest::Response serve(const mimrest::Api& api, const HostRequest& in) {
  mimrest::Request request;
  request.method = in.method;
  const auto question = in.target.find('?');
  request.path = in.target.substr(0, question);
  request.query = question == std::string::npos ? "" : in.target.substr(question + 1);
  for (const auto& [name, value] : in.headers) {
    request.headers.add(name, value);
  }
  request.body = in.body;
  // A GET /sse answer carries response.event_stream: a streaming server
  // attaches a writer to it and close()s it when the client leaves.
  return api.handle(request);
}

}  // namespace

int main() {
  ToyPasswords passwords;
  ToyRouter router;
  ToyArchive archive;
  ToyRoster roster;
  NoRooms rooms;
  ToySessions sessions;
  const mimrest::Api api(mimrest::ApiConfig{},
                         mimrest::Backend{passwords, router, archive, roster, rooms, sessions});

  const std::string auth = "Basic " + mimrest::base64_encode("alice@example.com:secret");
  struct Check {
    HostRequest request;
    int expected_status;
  };
  const std::vector<Check> checks = {
      {{"GET", "/api/contacts", {{"Authorization", auth}}, ""}, 200},
      {{"POST",
        "/api/messages",
        {{"Authorization", auth}, {"Content-Type", "application/json"}},
        R"({"to": "bob@example.com", "body": "hello"})"},
       200},
      {{"GET", "/api/contacts", {}, ""}, 401},
      {{"GET", "/api/rooms/lobby", {{"Authorization", auth}}, ""}, 404},
  };

  int failures = 0;
  for (const auto& check : checks) {
    const mimrest::Response response = serve(api, check.request);
    std::cout << check.request.method << " " << check.request.target << " -> " << response.status
              << " " << response.body << "\n";
    if (response.status != check.expected_status) {
      std::cerr << "  expected " << check.expected_status << "\n";
      ++failures;
    }
  }
  if (router.routed != 1) {
    std::cerr << "the message was not routed\n";
    ++failures;
  }
  return failures == 0 ? 0 : 1;
}
