// The rooms_users group: POST /rooms/{id}/users,
// DELETE /rooms/{id}/users[/{user}].
#include <string>
#include <string_view>

#include "core/api/rooms_common.hpp"

namespace mimrest::detail {

namespace {

using namespace rooms;

constexpr ApiError kMissingJid{400, "Missing JID"};
constexpr ApiError kInvalidUser{400, "Invalid user JID: ", "<jid>"};
constexpr ApiError kNotAllowed{403, "Given user does not have permission to change affiliations"};

void change_affiliation(const CallPtr& call, const Jid& room, std::string_view given,
                        Affiliation affiliation) {
  auto target = Jid::parse(given);
  if (!target) {
    call->fail(kInvalidUser, given);
    return;
  }
  const Jid bare = target->bare();
  await_room<RoomResult>(
      call, kNotAllowed,
      [&](const Backend& backend, auto done) {
        backend.muc_light->async_set_affiliation(call->user(), room, bare, affiliation, done);
      },
      [call] { call->respond_empty(204); });
}

void post_room_user(const CallPtr& call) {
  with_room_param(call, [call](const Jid& room) {
    auto body = parse_json_object(*call);
    if (!body) {
      return;
    }
    const rapidjson::Value* user = find_member(*body, "user");
    if (user == nullptr) {
      call->fail(kMissingJid);
      return;
    }
    // A value that is not a string is no JID either; echo it as JSON text.
    if (!user->IsString()) {
      call->fail(kInvalidUser, as_given(*user));
      return;
    }
    change_affiliation(call, room, as_given(*user), Affiliation::member);
  });
}

void delete_room_user(const CallPtr& call) {
  with_room_param(call, [call](const Jid& room) {
    auto user = call->param("user");
    if (!user) {
      call->fail(kMissingJid);
      return;
    }
    change_affiliation(call, room, *user, Affiliation::none);
  });
}

RouteGroup declare() {
  RouteGroup group("rooms_users");
  group.needs(&Backend::muc_light)
      .param(kIdDoc)
      .param("user", "The user's bare JID (percent-encoded)");
  group.post("/rooms/{id}/users", post_room_user)
      .summary("Add a member (owner only)")
      .body(R"({"type":"object","required":["user"],"properties":{"user":{"type":"string"}}})")
      .returns(204, "Added")
      .errors({&kServerNotFound, &kInvalidRoomId, &kInvalidDomain, &common_errors::invalid_body,
               &kMissingJid, &kInvalidUser, &kRoomNotFound, &kNotOccupant, &kNotAllowed});
  group.del("/rooms/{id}/users", delete_room_user)
      .summary("Remove a user (the user is missing here)")
      .returns(400, "Always")
      .errors({&kServerNotFound, &kInvalidRoomId, &kInvalidDomain, &kMissingJid});
  group.del("/rooms/{id}/users/{user}", delete_room_user)
      .summary("Remove a user: the owner removes anyone, a member only themself")
      .returns(204, "Removed")
      .errors({&kServerNotFound, &kInvalidRoomId, &kInvalidDomain, &kInvalidUser, &kRoomNotFound,
               &kNotOccupant, &kNotAllowed});
  return group;
}

}  // namespace

const RouteGroup& rooms_users_group() {
  static const RouteGroup group = declare();
  return group;
}

}  // namespace mimrest::detail
