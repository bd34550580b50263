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
  call->with_backend([&](const Backend& backend) {
    backend.muc_light->async_set_affiliation(call->user(), room, target->bare(), affiliation,
                                             call->then([call](RoomResult changed) {
                                               if (!changed) {
                                                 rooms::fail(*call, changed.error(), kNotAllowed);
                                                 return;
                                               }
                                               call->respond_empty(204);
                                             }));
  });
}

void post_room_user(const CallPtr& call) {
  auto room = resolve_param(*call);
  if (!room) {
    return;
  }
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
  change_affiliation(call, *room, as_given(*user), Affiliation::member);
}

void delete_room_user(const CallPtr& call) {
  auto room = resolve_param(*call);
  if (!room) {
    return;
  }
  auto user = call->param("user");
  if (!user) {
    call->fail(kMissingJid);
    return;
  }
  change_affiliation(call, *room, *user, Affiliation::none);
}

}  // namespace

const RouteGroup& rooms_users_group() {
  static const RouteGroup group{
      "rooms_users",
      rooms::available,
      true,
      true,
      {kIdDoc, {"user", "path", "string", "The user's bare JID (percent-encoded)"}},
      {
          {"/rooms/{id}/users",
           "application/json",
           {{"POST",
             post_room_user,
             "Add a member (owner only)",
             R"({"type":"object","required":["user"],"properties":{"user":{"type":"string"}}})",
             204,
             "Added",
             "",
             {&kServerNotFound, &kInvalidRoomId, &kInvalidDomain, &common_errors::invalid_body,
              &kMissingJid, &kInvalidUser, &kRoomNotFound, &kNotOccupant, &kNotAllowed}},
            {"DELETE",
             delete_room_user,
             "Remove a user (the user is missing here)",
             "",
             400,
             "Always",
             "",
             {&kServerNotFound, &kInvalidRoomId, &kInvalidDomain, &kMissingJid}}}},
          {"/rooms/{id}/users/{user}",
           "application/json",
           {{"DELETE",
             delete_room_user,
             "Remove a user: the owner removes anyone, a member only themself",
             "",
             204,
             "Removed",
             "",
             {&kServerNotFound, &kInvalidRoomId, &kInvalidDomain, &kInvalidUser, &kRoomNotFound,
              &kNotOccupant, &kNotAllowed}}}},
      }};
  return group;
}

}  // namespace mimrest::detail
