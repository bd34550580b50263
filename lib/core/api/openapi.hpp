// Internal: the documentation endpoint's content, generated from the route
// groups so that it always matches what the Api serves.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/api/route_group.hpp"
#include "mimrest/api_config.hpp"
#include "mimrest/backend/backend.hpp"

namespace mimrest::detail {

/// An OpenAPI 3.0 JSON document of the active `groups` served under
/// config.base_path: every path, method, parameter, request body, response,
/// error message and the schemas the groups declare. Bearer tokens are
/// described only when they work (enabled, and the backend keeps tokens).
std::string openapi_document(const ApiConfig& config, const Backend& backend,
                             const std::vector<const RouteGroup*>& groups);

/// A self-contained HTML page (no external resources) that fetches the
/// document at `openapi_url` and lists its operations.
std::string docs_page(std::string_view openapi_url);

}  // namespace mimrest::detail
