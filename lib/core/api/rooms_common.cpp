#include "core/api/rooms_common.hpp"

#include <utility>

namespace mimrest::detail::rooms {

namespace {
/// Config keys as MUC Light names them in validation errors.
constexpr std::string_view kNameKey = "roomname";
constexpr std::string_view kSubjectKey = "subject";
/// The reason MUC Light gives for a config value of the wrong type.
constexpr std::string_view kTypeError = "type_error";
}  // namespace

bool available(const ApiConfig&, const Backend& backend) {
  return backend.muc_light != nullptr;
}

std::optional<std::string> service(Call& call) {
  auto domain = call.state().backend.muc_light->service_domain(call.user().domain());
  // Prepared like every JID domain, so that it compares with parsed room JIDs.
  auto prepared = domain ? Jid::parse(*domain) : unexpected(JidError::empty_domain);
  if (!prepared || !prepared->local().empty() || !prepared->is_bare()) {
    call.fail(kServerNotFound);
    return std::nullopt;
  }
  return prepared->domain();
}

std::optional<Jid> resolve(Call& call, std::string_view id) {
  // MongooseIM looks the service up before it looks at the ID.
  auto domain = service(call);
  if (!domain) {
    return std::nullopt;
  }
  // A valid localpart is a room ID, even when it would also parse as a JID
  // (a bare domain such as "muclight.localhost").
  auto local = prepare_localpart(id);
  if (local && !local->empty()) {
    auto room = Jid::from_parts(*local, *domain);
    if (!room) {
      call.fail(kInvalidRoomId);
      return std::nullopt;
    }
    return std::move(room).value();
  }
  auto room = Jid::parse(id);
  if (!room) {
    call.fail(kInvalidRoomId);
    return std::nullopt;
  }
  if (room->domain() != *domain) {
    call.fail(kInvalidDomain);
    return std::nullopt;
  }
  if (room->local().empty()) {
    call.fail(kInvalidRoomId);
    return std::nullopt;
  }
  // A resource says nothing about which room is meant.
  return room->bare();
}

std::optional<Jid> resolve_param(Call& call) {
  auto id = call.param("id");
  if (!id) {
    call.fail(kMissingRoomId);
    return std::nullopt;
  }
  return resolve(call, *id);
}

void fail(Call& call, const RoomError& error, const ApiError& not_allowed) {
  switch (error.kind) {
    case RoomErrorKind::room_not_found:
      call.fail(kRoomNotFound);
      return;
    case RoomErrorKind::not_occupant:
      call.fail(kNotOccupant);
      return;
    case RoomErrorKind::not_allowed:
      call.fail(not_allowed);
      return;
    case RoomErrorKind::already_exists:
      call.fail(kAlreadyExists);
      return;
    case RoomErrorKind::validation_failed:
      fail_validation(call, error.key + " with reason " + error.reason);
      return;
    case RoomErrorKind::unavailable:
      call.fail(Failure::unavailable);
      return;
    case RoomErrorKind::internal:
      break;
  }
  call.fail(Failure::internal);
}

void fail_validation(Call& call, std::string_view key_and_reason) {
  call.fail(kValidationFailed, key_and_reason);
}

std::optional<ConfigRequest> parse_config(Call& call) {
  auto body = parse_json_object(call);
  if (!body) {
    return std::nullopt;
  }
  const rapidjson::Value* name = find_member(*body, "name");
  if (name == nullptr) {
    call.fail(kMissingName);
    return std::nullopt;
  }
  const rapidjson::Value* subject = find_member(*body, "subject");
  if (subject == nullptr) {
    call.fail(kMissingSubject);
    return std::nullopt;
  }
  ConfigRequest request;
  auto type_error = [](std::string_view key) {
    std::string text(key);
    text += " with reason ";
    text += kTypeError;
    return text;
  };
  // Name first, as MUC Light checks keys in order.
  if (!name->IsString()) {
    request.invalid = type_error(kNameKey);
  } else if (!subject->IsString()) {
    request.invalid = type_error(kSubjectKey);
  } else {
    request.config.name.assign(name->GetString(), name->GetStringLength());
    request.config.subject.assign(subject->GetString(), subject->GetStringLength());
  }
  return request;
}

}  // namespace mimrest::detail::rooms
