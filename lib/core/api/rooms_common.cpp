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

void with_service(const CallPtr& call, std::function<void(const std::string&)> next) {
  call->await<ServiceDomainResult>(
      [&](const Backend& backend, auto done) {
        backend.muc_light->async_service_domain(call->user().domain(), done);
      },
      [call, next = std::move(next)](const std::optional<std::string>& domain) {
        // Prepared like every JID domain, so that it compares with parsed
        // room JIDs.
        auto prepared = domain ? Jid::parse(*domain) : unexpected(JidError::empty_domain);
        if (!prepared || !prepared->local().empty() || !prepared->is_bare()) {
          call->fail(kServerNotFound);
          return;
        }
        next(prepared->domain());
      });
}

void with_room(const CallPtr& call, std::string id, std::function<void(const Jid&)> next) {
  with_service(call, [call, id = std::move(id), next = std::move(next)](const std::string& domain) {
    // A valid localpart is a room ID, even when it would also parse as a JID
    // (a bare domain such as "muclight.localhost").
    auto local = prepare_localpart(id);
    if (local && !local->empty()) {
      auto room = Jid::from_parts(*local, domain);
      if (!room) {
        call->fail(kInvalidRoomId);
        return;
      }
      next(*room);
      return;
    }
    auto room = Jid::parse(id);
    if (!room) {
      call->fail(kInvalidRoomId);
      return;
    }
    if (room->domain() != domain) {
      call->fail(kInvalidDomain);
      return;
    }
    if (room->local().empty()) {
      call->fail(kInvalidRoomId);
      return;
    }
    // A resource says nothing about which room is meant.
    next(room->bare());
  });
}

void with_room_param(const CallPtr& call, std::function<void(const Jid&)> next) {
  auto id = call->param("id");
  if (!id) {
    call->fail(kMissingRoomId);
    return;
  }
  with_room(call, std::string(*id), std::move(next));
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
      break;
  }
  fail_validation(call, error.key + " with reason " + error.reason);
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
