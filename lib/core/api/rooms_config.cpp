// The rooms_config group: PUT /rooms/{id}/config.
#include "core/api/rooms_common.hpp"

namespace mimrest::detail {

namespace {

using namespace rooms;

constexpr ApiError kNotAllowed{403, "Given user does not have permission to change config"};

void put_room_config(const CallPtr& call) {
  auto room = resolve_param(*call);
  if (!room) {
    return;
  }
  auto request = parse_config(*call);
  if (!request) {
    return;
  }
  call->with_backend([&](const Backend& backend) {
    if (request->invalid) {
      // MUC Light validates the values only after finding the room and the
      // user in it, so those answers come first.
      backend.muc_light->async_room_info(
          call->user(), *room, call->then([call, invalid = *request->invalid](RoomInfoResult info) {
            if (!info) {
              rooms::fail(*call, info.error(), kNotAllowed);
              return;
            }
            fail_validation(*call, invalid);
          }));
      return;
    }
    backend.muc_light->async_set_config(call->user(), *room, request->config,
                                        call->then([call](RoomResult changed) {
                                          if (!changed) {
                                            rooms::fail(*call, changed.error(), kNotAllowed);
                                            return;
                                          }
                                          call->respond_empty(204);
                                        }));
  });
}

}  // namespace

const RouteGroup& rooms_config_group() {
  static const RouteGroup group{
      "rooms_config",
      rooms::available,
      true,
      true,
      {kIdDoc},
      {
          {"/rooms/{id}/config",
           "application/json",
           {{"PUT",
             put_room_config,
             "Change the room name and subject",
             R"({"type":"object","required":["name","subject"],"properties":{"name":{)"
             R"("type":"string"},"subject":{"type":"string"}}})",
             204,
             "Changed",
             "",
             {&kServerNotFound, &kInvalidRoomId, &kInvalidDomain, &common_errors::invalid_body,
              &kMissingName, &kMissingSubject, &kRoomNotFound, &kNotOccupant, &kNotAllowed,
              &kValidationFailed}}}},
      }};
  return group;
}

}  // namespace mimrest::detail
