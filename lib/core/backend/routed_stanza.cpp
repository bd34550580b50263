#include "core/detail/sse_payload.hpp"
#include "mimrest/backend/sessions.hpp"

namespace mimrest {

std::shared_ptr<const RoutedStanza> RoutedStanza::make(std::string xml, std::uint64_t sequence) {
  return std::make_shared<const RoutedStanza>(std::move(xml), sequence);
}

RoutedStanza::RoutedStanza(std::string xml, std::uint64_t sequence)
    : xml_(std::move(xml)), sequence_(sequence), derived_(std::make_unique<Derived>()) {}

RoutedStanza::~RoutedStanza() = default;

}  // namespace mimrest
