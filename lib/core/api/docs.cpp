// The docs group: GET /api-docs (a small HTML viewer) and
// GET /api-docs/openapi.json (the OpenAPI document). No authentication.
#include "core/api/call.hpp"

namespace mimrest::detail {

namespace {

void get_docs_page(const CallPtr& call) {
  Response response;
  response.headers.set("Content-Type", "text/html; charset=utf-8");
  response.body = CallInternals::state(*call).docs_html;
  call->respond(std::move(response));
}

void get_openapi(const CallPtr& call) {
  call->respond_json(200, CallInternals::state(*call).openapi_json);
}

RouteGroup declare() {
  RouteGroup group("docs");
  group.always_on().undocumented().needs(
      [](const ApiConfig& config, const Backend&) { return config.docs; });
  group.route("/api-docs").produces = "text/html";
  group.get("/api-docs", get_docs_page)
      .summary("A page listing the operations")
      .returns(200, "The page")
      .access(Access::anyone);
  group.get("/api-docs/openapi.json", get_openapi)
      .summary("This OpenAPI document")
      .returns(200, "The document")
      .access(Access::anyone);
  return group;
}

}  // namespace

const RouteGroup& docs_group() {
  static const RouteGroup group = declare();
  return group;
}

}  // namespace mimrest::detail
