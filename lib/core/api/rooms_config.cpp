// The rooms_config group: PUT /rooms/{id}/config.
#include "core/api/rooms_common.hpp"

namespace mimrest::detail {

namespace {

using namespace rooms;

constexpr ApiError kNotAllowed{403, "Given user does not have permission to change config"};

void put_room_config(const CallPtr& call) {
  with_room_param(call, [call](const Jid& room) {
    auto request = parse_config(*call);
    if (!request) {
      return;
    }
    if (request->invalid) {
      // MUC Light validates the values only after finding the room and the
      // user in it, so those answers come first.
      await_room<RoomInfoResult>(
          call, kNotAllowed,
          [&](const Backend& backend, auto done) {
            backend.muc_light->async_room_info(call->user(), room, done);
          },
          [call, invalid = *request->invalid](const RoomInfo&) {
            fail_validation(*call, invalid);
          });
      return;
    }
    await_room<RoomResult>(
        call, kNotAllowed,
        [&](const Backend& backend, auto done) {
          backend.muc_light->async_set_config(call->user(), room, request->config, done);
        },
        [call] { call->respond_empty(204); });
  });
}

RouteGroup declare() {
  RouteGroup group("rooms_config");
  group.needs(&Backend::muc_light).param(kIdDoc);
  group.put("/rooms/{id}/config", put_room_config)
      .summary("Change the room name and subject")
      .body(R"({"type":"object","required":["name","subject"],"properties":{"name":{)"
            R"("type":"string"},"subject":{"type":"string"}}})")
      .returns(204, "Changed")
      .errors({&kServerNotFound, &kInvalidRoomId, &kInvalidDomain, &common_errors::invalid_body,
               &kMissingName, &kMissingSubject, &kRoomNotFound, &kNotOccupant, &kNotAllowed,
               &kValidationFailed});
  return group;
}

}  // namespace

const RouteGroup& rooms_config_group() {
  static const RouteGroup group = declare();
  return group;
}

}  // namespace mimrest::detail
