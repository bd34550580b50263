// The list of route groups: adding a group is its own file plus one line here.
#include "core/api/route_group.hpp"

namespace mimrest::detail {

const std::vector<const RouteGroup*>& all_groups() {
  static const std::vector<const RouteGroup*> groups = {
      &docs_group(),   &sse_group(),          &messages_group(),    &contacts_group(),
      &rooms_group(),  &rooms_config_group(), &rooms_users_group(), &rooms_messages_group(),
      &tokens_group(),
  };
  return groups;
}

}  // namespace mimrest::detail
