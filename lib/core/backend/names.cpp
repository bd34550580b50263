// Wire names of the backend enums, as the API shows them.
#include "mimrest/backend/muc_light.hpp"
#include "mimrest/backend/roster.hpp"

namespace mimrest {

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
