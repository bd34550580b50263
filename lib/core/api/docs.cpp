// The docs group: GET /api-docs (a small HTML viewer) and
// GET /api-docs/openapi.json (the OpenAPI document). No authentication.
#include "core/api/call.hpp"

namespace mimrest::detail {

namespace {

void get_docs_page(const CallPtr& call) {
  Response response;
  response.headers.set("Content-Type", "text/html; charset=utf-8");
  response.body = call->state().docs_html;
  call->respond(std::move(response));
}

void get_openapi(const CallPtr& call) {
  call->respond_json(200, call->state().openapi_json);
}

}  // namespace

const RouteGroup& docs_group() {
  static const RouteGroup group{"docs",
                                [](const ApiConfig& config, const Backend&) { return config.docs; },
                                /*switchable=*/false,
                                /*documented=*/false,
                                {},
                                {
                                    {"/api-docs",
                                     "text/html",
                                     {{"GET",
                                       get_docs_page,
                                       "A page listing the operations",
                                       "",
                                       200,
                                       "The page",
                                       "",
                                       {},
                                       {},
                                       Access::anyone}}},
                                    {"/api-docs/openapi.json",
                                     "application/json",
                                     {{"GET",
                                       get_openapi,
                                       "This OpenAPI document",
                                       "",
                                       200,
                                       "The document",
                                       "",
                                       {},
                                       {},
                                       Access::anyone}}},
                                }};
  return group;
}

}  // namespace mimrest::detail
