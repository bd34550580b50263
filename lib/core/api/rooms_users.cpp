// POST /rooms/{id}/users, DELETE /rooms/{id}/users/{user}.
#include <string>
#include <string_view>

#include "core/api/rooms_common.hpp"
#include "core/api/rooms_handlers.hpp"

namespace mimrest::detail {

namespace {

constexpr std::string_view kNotAllowed =
    "Given user does not have permission to change affiliations";

/// The bare JID of the user to add or remove; `given` is echoed in the error.
Expected<Jid, Response> target_user(std::string_view given) {
  auto target = Jid::parse(given);
  if (!target) {
    return unexpected(error_response(400, "Invalid user JID: " + std::string(given)));
  }
  return target->bare();
}

Response change_affiliation(const HandlerContext& context, const Jid& room, const Jid& target,
                            Affiliation affiliation) {
  auto changed = context.backend.muc_light.set_affiliation(context.user, room, target, affiliation);
  if (!changed) {
    return room_error_response(changed.error(), kNotAllowed);
  }
  return empty_response(204);
}

}  // namespace

Response post_room_user(const HandlerContext& context) {
  auto room = resolve_room_param(context);
  if (!room) {
    return room.error();
  }
  auto body = parse_json_object(context);
  if (!body) {
    return body.error();
  }
  const rapidjson::Value* user = find_member(body.value(), "user");
  if (user == nullptr) {
    return error_response(400, "Missing JID");
  }
  // A value that is not a string is no JID either; echo it as JSON text.
  if (!user->IsString()) {
    return error_response(400, "Invalid user JID: " + as_given(*user));
  }
  const std::string given = as_given(*user);
  auto target = target_user(given);
  if (!target) {
    return target.error();
  }
  return change_affiliation(context, room.value(), target.value(), Affiliation::member);
}

Response delete_room_user(const HandlerContext& context) {
  auto room = resolve_room_param(context);
  if (!room) {
    return room.error();
  }
  if (context.params.size() < 2) {
    return error_response(400, "Missing JID");
  }
  auto target = target_user(context.params[1]);
  if (!target) {
    return target.error();
  }
  return change_affiliation(context, room.value(), target.value(), Affiliation::none);
}

}  // namespace mimrest::detail
