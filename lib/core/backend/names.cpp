// Wire names of the backend enums, as the API shows them, and the few
// helpers the ready-made backends share.
#include "mimrest/backend/accounts.hpp"
#include "mimrest/backend/error.hpp"
#include "mimrest/backend/muc_light.hpp"
#include "mimrest/backend/reference_backend.hpp"
#include "mimrest/backend/roster.hpp"

namespace mimrest {

std::string_view to_string(Failure failure) noexcept {
  return failure == Failure::unavailable ? "unavailable" : "internal";
}

std::string_view to_string(AccountError error) noexcept {
  switch (error) {
    case AccountError::invalid_jid:
      return "not a bare user JID";
    case AccountError::unknown_domain:
      return "not on one of the configured domains";
    case AccountError::already_exists:
      return "the user already exists";
    case AccountError::not_found:
      break;
  }
  return "no such user";
}

std::string_view to_string(const Error<AccountError>& error) noexcept {
  if (const AccountError* account = error.if_domain()) {
    return to_string(*account);
  }
  return error == Failure::unavailable ? "the storage cannot be reached" : "a storage error";
}

std::optional<std::string> muc_light_service(std::string_view pattern,
                                             std::string_view user_domain) {
  static constexpr std::string_view placeholder = "@HOST@";
  std::string service(pattern);
  for (auto at = service.find(placeholder); at != std::string::npos;
       at = service.find(placeholder, at + user_domain.size())) {
    service.replace(at, placeholder.size(), user_domain);
  }
  auto prepared = Jid::parse(service);
  if (!prepared || !prepared->local().empty() || !prepared->is_bare()) {
    return std::nullopt;
  }
  return prepared->domain();
}

std::string_view to_string(Subscription subscription) noexcept {
  switch (subscription) {
    case Subscription::to:
      return "to";
    case Subscription::from:
      return "from";
    case Subscription::both:
      return "both";
    case Subscription::none:
      break;
  }
  return "none";
}

std::string_view to_string(Ask ask) noexcept {
  switch (ask) {
    case Ask::in:
      return "in";
    case Ask::out:
      return "out";
    case Ask::both:
      return "both";
    case Ask::none:
      break;
  }
  return "none";
}

std::string_view to_string(Affiliation affiliation) noexcept {
  switch (affiliation) {
    case Affiliation::owner:
      return "owner";
    case Affiliation::member:
      return "member";
    case Affiliation::none:
      break;
  }
  return "none";
}

}  // namespace mimrest
