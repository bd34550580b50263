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
  await_room<CreateRoomResult>(
      call, kNotAllowed,
      [&](const Backend& backend, auto done) {
        backend.muc_light->async_create_room(call->user(), room, request->config, done);
      },
      [call](const Jid& created) { call->respond_id(201, created.local()); });
}

void get_rooms(const CallPtr& call) {
  call->await<UserRoomsResult>(
      [&](const Backend& backend, auto done) {
        backend.muc_light->async_user_rooms(call->user(), done);
      },
      [call](const std::vector<RoomSummary>& list) {
        JsonWriter writer;
        writer.begin_array();
        for (const RoomSummary& room : list) {
          writer.begin_object()
              .member("id", room.room.local())
              .member("name", room.config.name)
              .member("subject", room.config.subject)
              .end_object();
        }
        writer.end_array();
        call->respond_json(200, writer.take());
      });
}

void post_rooms(const CallPtr& call) {
  // The service is looked up before the body is read, as MongooseIM does.
  with_service(call, [call](const std::string&) { create_room(call, std::nullopt); });
}

void put_room(const CallPtr& call) {
  with_room_param(call, [call](const Jid& room) { create_room(call, room); });
}

void get_room(const CallPtr& call) {
  with_room_param(call, [call](const Jid& room) {
    await_room<RoomInfoResult>(
        call, kNotAllowed,
        [&](const Backend& backend, auto done) {
          backend.muc_light->async_room_info(call->user(), room, done);
        },
        [call](const RoomInfo& info) {
          JsonWriter writer;
          writer.begin_object()
              .member("name", info.config.name)
              .member("subject", info.config.subject)
              .key("participants")
              .begin_array();
          for (const RoomOccupant& occupant : info.occupants) {
            writer.begin_object()
                .member("user", occupant.user.bare_string())
                .member("role", to_string(occupant.affiliation))
                .end_object();
          }
          writer.end_array().end_object();
          call->respond_json(200, writer.take());
        });
  });
}

RouteGroup declare() {
  RouteGroup group("rooms");
  group.needs(&Backend::muc_light).param(kIdDoc);
  group.schema("Room", R"({"type": "object", "required": ["id", "name", "subject"],
    "properties": {"id": {"type": "string"}, "name": {"type": "string"},
                   "subject": {"type": "string"}}})");
  group.schema("RoomInfo", R"({"type": "object", "required": ["name", "subject", "participants"],
    "properties": {"name": {"type": "string"}, "subject": {"type": "string"},
      "participants": {"type": "array", "items": {"type": "object", "properties": {
        "user": {"type": "string"}, "role": {"type": "string", "enum": ["owner", "member"]}}}}}})");

  group.get("/rooms", get_rooms)
      .summary("The rooms the user is affiliated with")
      .returns(200, "The rooms",
               R"({"type":"array","items":{"$ref":"#/components/schemas/Room"}})");
  group.post("/rooms", post_rooms)
      .summary("Create a room with a fresh ID")
      .body(kRoomInput)
      .returns(201, "Created", kIdOutput)
      .errors({&kServerNotFound, &common_errors::invalid_body, &kMissingName, &kMissingSubject,
               &kValidationFailed, &kAlreadyExists});
  group.put("/rooms", put_room)
      .summary("Create a room with a given ID (the ID is missing here)")
      .body(kRoomInput)
      .returns(400, "Always")
      .errors({&kMissingRoomId});
  group.get("/rooms/{id}", get_room)
      .summary("Room name, subject and participants")
      .returns(200, "The room", R"({"$ref":"#/components/schemas/RoomInfo"})")
      .errors({&kServerNotFound, &kInvalidRoomId, &kInvalidDomain, &kRoomNotFound, &kNotOccupant});
  group.put("/rooms/{id}", put_room)
      .summary("Create a room with this ID")
      .body(kRoomInput)
      .returns(201, "Created", kIdOutput)
      .errors({&kServerNotFound, &kInvalidRoomId, &kInvalidDomain, &common_errors::invalid_body,
               &kMissingName, &kMissingSubject, &kValidationFailed, &kAlreadyExists});
  return group;
}

}  // namespace

const RouteGroup& rooms_group() {
  static const RouteGroup group = declare();
  return group;
}

}  // namespace mimrest::detail
