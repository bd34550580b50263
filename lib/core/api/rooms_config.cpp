// PUT /rooms/{id}/config.
#include "core/api/rooms_common.hpp"
#include "core/api/rooms_handlers.hpp"

namespace mimrest::detail {

namespace {
constexpr std::string_view kNotAllowed = "Given user does not have permission to change config";
}  // namespace

Response put_room_config(const HandlerContext& context) {
  auto room = resolve_room_param(context);
  if (!room) {
    return room.error();
  }
  auto request = parse_room_config(context);
  if (!request) {
    return request.error();
  }
  MucLight& muc_light = context.backend.muc_light;
  if (request->validation_error) {
    // MUC Light validates the values only after finding the room and the
    // user in it, so those answers come first.
    auto info = muc_light.room_info(context.user, room.value());
    if (!info) {
      return room_error_response(info.error(), kNotAllowed);
    }
    return error_response(400, *request->validation_error);
  }
  auto changed = muc_light.set_config(context.user, room.value(), request->config);
  if (!changed) {
    return room_error_response(changed.error(), kNotAllowed);
  }
  return empty_response(204);
}

}  // namespace mimrest::detail
