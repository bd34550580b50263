// Names of the handler groups, as configuration files spell them.
#include "mimrest/api_config.hpp"

#include <array>
#include <utility>

namespace mimrest {

namespace {

constexpr std::array<std::pair<Handler, std::string_view>, 7> kHandlerNames = {{
    {Handler::sse, "sse"},
    {Handler::messages, "messages"},
    {Handler::contacts, "contacts"},
    {Handler::rooms, "rooms"},
    {Handler::rooms_config, "rooms_config"},
    {Handler::rooms_users, "rooms_users"},
    {Handler::rooms_messages, "rooms_messages"},
}};

}  // namespace

std::string_view to_string(Handler handler) noexcept {
  for (const auto& [value, name] : kHandlerNames) {
    if (value == handler) {
      return name;
    }
  }
  return "unknown";
}

std::optional<Handler> handler_from_string(std::string_view name) noexcept {
  for (const auto& [value, handler_name] : kHandlerNames) {
    if (handler_name == name) {
      return value;
    }
  }
  return std::nullopt;
}

std::set<Handler> all_handlers() {
  std::set<Handler> handlers;
  for (const auto& entry : kHandlerNames) {
    handlers.insert(entry.first);
  }
  return handlers;
}

}  // namespace mimrest
