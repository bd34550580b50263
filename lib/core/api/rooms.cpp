// The rooms group: GET/POST /rooms, PUT /rooms[/{id}], GET /rooms/{id}.
#include <optional>
#include <string>
#include <utility>

#include "core/api/rooms_common.hpp"
#include "core/detail/json_writer.hpp"

namespace mimrest::detail {

namespace {

using namespace rooms;

// Creating never meets not_allowed; this is what MongooseIM would say.
constexpr ApiError kNotAllowed{403, "Given user does not have permission to change config"};

constexpr std::string_view kRoomInput =
    R"({"type":"object","required":["name","subject"],"properties":{"name":{"type":"string"},)"
    R"("subject":{"type":"string"}}})";
constexpr std::string_view kIdOutput =
    R"({"type":"object","required":["id"],"properties":{"id":{"type":"string"}}})";

/// POST and PUT share everything after the room JID (nullopt: a fresh ID).
void create_room(const CallPtr& call, std::optional<Jid> room) {
  auto request = parse_config(*call);
  if (!request) {
    return;
  }
  if (request->invalid) {
    fail_validation(*call, *request->invalid);
    return;
  }
  call->with_backend([&](const Backend& backend) {
    backend.muc_light->async_create_room(call->user(), room, request->config,
                                         call->then([call](CreateRoomResult created) {
                                           if (!created) {
                                             rooms::fail(*call, created.error(), kNotAllowed);
                                             return;
                                           }
                                           call->respond_id(201, created->local());
                                         }));
  });
}

void get_rooms(const CallPtr& call) {
  call->with_backend([&](const Backend& backend) {
    backend.muc_light->async_user_rooms(call->user(), call->then([call](UserRoomsResult list) {
      if (!list) {
        call->fail(list.error());
        return;
      }
      JsonWriter writer;
      writer.begin_array();
      for (const RoomSummary& room : *list) {
        writer.begin_object()
            .member("id", room.room.local())
            .member("name", room.config.name)
            .member("subject", room.config.subject)
            .end_object();
      }
      writer.end_array();
      call->respond_json(200, writer.take());
    }));
  });
}

void post_rooms(const CallPtr& call) {
  // The service is looked up before the body is read, as MongooseIM does.
  if (!service(*call)) {
    return;
  }
  create_room(call, std::nullopt);
}

void put_room(const CallPtr& call) {
  auto room = resolve_param(*call);
  if (!room) {
    return;
  }
  create_room(call, std::move(room));
}

void get_room(const CallPtr& call) {
  auto room = resolve_param(*call);
  if (!room) {
    return;
  }
  call->with_backend([&](const Backend& backend) {
    backend.muc_light->async_room_info(call->user(), *room, call->then([call](RoomInfoResult info) {
      if (!info) {
        rooms::fail(*call, info.error(), kNotAllowed);
        return;
      }
      JsonWriter writer;
      writer.begin_object()
          .member("name", info->config.name)
          .member("subject", info->config.subject)
          .key("participants")
          .begin_array();
      for (const RoomOccupant& occupant : info->occupants) {
        writer.begin_object()
            .member("user", occupant.user.bare_string())
            .member("role", to_string(occupant.affiliation))
            .end_object();
      }
      writer.end_array().end_object();
      call->respond_json(200, writer.take());
    }));
  });
}

}  // namespace

const RouteGroup& rooms_group() {
  static const RouteGroup group{
      "rooms",
      rooms::available,
      true,
      true,
      {kIdDoc},
      {
          {"/rooms",
           "application/json",
           {{"GET",
             get_rooms,
             "The rooms the user is affiliated with",
             "",
             200,
             "The rooms",
             R"({"type":"array","items":{"$ref":"#/components/schemas/Room"}})",
             {}},
            {"POST",
             post_rooms,
             "Create a room with a fresh ID",
             kRoomInput,
             201,
             "Created",
             kIdOutput,
             {&kServerNotFound, &common_errors::invalid_body, &kMissingName, &kMissingSubject,
              &kValidationFailed}},
            {"PUT",
             put_room,
             "Create a room with a given ID (the ID is missing here)",
             kRoomInput,
             400,
             "Always",
             "",
             {&kMissingRoomId}}}},
          {"/rooms/{id}",
           "application/json",
           {{"GET",
             get_room,
             "Room name, subject and participants",
             "",
             200,
             "The room",
             R"({"$ref":"#/components/schemas/RoomInfo"})",
             {&kServerNotFound, &kInvalidRoomId, &kInvalidDomain, &kRoomNotFound, &kNotOccupant}},
            {"PUT",
             put_room,
             "Create a room with this ID",
             kRoomInput,
             201,
             "Created",
             kIdOutput,
             {&kServerNotFound, &kInvalidRoomId, &kInvalidDomain, &common_errors::invalid_body,
              &kMissingName, &kMissingSubject, &kValidationFailed, &kAlreadyExists}}}},
      }};
  return group;
}

}  // namespace mimrest::detail
