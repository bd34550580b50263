// The documentation endpoint: the OpenAPI document must list exactly the
// routes the Api serves, with their methods, parameters and responses.
#include <set>
#include <string>

#include "api_fixture.hpp"
#include "core/api/route_group.hpp"

using mimrest::test::ApiFixture;
using mimrest::test::FixtureOptions;
using mimrest::test::parse_json;

namespace {

std::string lower(std::string_view text) {
  std::string out;
  for (char c : text) {
    out += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  }
  return out;
}

rapidjson::Document openapi(const ApiFixture& f) {
  auto response = f.get("/api-docs/openapi.json");
  REQUIRE(response.status == 200);
  CHECK(response.headers.get("Content-Type") == std::string_view("application/json"));
  return parse_json(response.body);
}

std::set<std::string> keys(const rapidjson::Value& object) {
  std::set<std::string> out;
  for (const auto& member : object.GetObject()) {
    out.insert(member.name.GetString());
  }
  return out;
}

// The routes of `groups` (by name) that the document shows.
std::vector<const mimrest::detail::Route*> documented_routes(std::set<std::string> groups) {
  std::vector<const mimrest::detail::Route*> routes;
  for (const auto* group : mimrest::detail::all_groups()) {
    if (group->documented() && groups.count(std::string(group->name)) != 0) {
      for (const auto& route : group->routes()) {
        routes.push_back(&route);
      }
    }
  }
  return routes;
}

const std::set<std::string> kDefaultGroups = {
    "sse", "messages", "contacts", "rooms", "rooms_config", "rooms_users", "rooms_messages"};

// Checks that the document describes exactly `routes`.
void check_matches(const rapidjson::Document& document,
                   const std::vector<const mimrest::detail::Route*>& routes) {
  REQUIRE(document.IsObject());
  const auto& paths = document["paths"];
  REQUIRE(paths.IsObject());
  std::set<std::string> expected_paths;
  for (const auto* route_pointer : routes) {
    const auto& route = *route_pointer;
    std::string path(route.path);
    expected_paths.insert(path);
    INFO(path);
    REQUIRE(paths.HasMember(path.c_str()));
    const auto& item = paths[path.c_str()];
    std::set<std::string> methods;
    for (const auto& operation : route.operations) {
      methods.insert(lower(operation.method()));
    }
    CHECK(keys(item) == methods);

    for (const auto& operation : route.operations) {
      INFO(operation.method());
      const auto& op = item[lower(operation.method()).c_str()];
      // Documented, not a placeholder.
      REQUIRE(op.HasMember("summary"));
      CHECK(std::string(op["summary"].GetString()) != std::string(operation.method()));
      REQUIRE(op.HasMember("responses"));
      CHECK(op["responses"].HasMember("401"));
      CHECK(op["responses"].HasMember("406"));

      std::set<std::string> path_params;
      std::set<std::string> query_params;
      if (op.HasMember("parameters")) {
        for (const auto& parameter : op["parameters"].GetArray()) {
          std::string in = parameter["in"].GetString();
          (in == "path" ? path_params : query_params).insert(parameter["name"].GetString());
        }
      }
      std::set<std::string> expected_params;
      for (std::size_t open = path.find('{'); open != std::string::npos;
           open = path.find('{', open + 1)) {
        expected_params.insert(path.substr(open + 1, path.find('}', open) - open - 1));
      }
      CHECK(path_params == expected_params);
      CHECK(query_params ==
            std::set<std::string>(operation.query().begin(), operation.query().end()));
    }
  }
  CHECK(keys(paths) == expected_paths);
}

}  // namespace

TEST_CASE("openapi.json describes every route with its methods, without auth") {
  ApiFixture f;
  auto document = openapi(f);
  CHECK(std::string(document["openapi"].GetString()).rfind("3.0", 0) == 0);
  CHECK(std::string(document["servers"][0]["url"].GetString()) == "/api");
  const auto& scheme = document["components"]["securitySchemes"]["basicAuth"];
  CHECK(std::string(scheme["type"].GetString()) == "http");
  CHECK(std::string(scheme["scheme"].GetString()) == "basic");
  CHECK(document["security"][0].HasMember("basicAuth"));
  check_matches(document, documented_routes(kDefaultGroups));
  // The same without any Authorization header.
  auto request = f.request("GET", "/api-docs/openapi.json", {}, std::nullopt);
  CHECK(f.handle(request).status == 200);
}

TEST_CASE("openapi.json lists the exact error messages") {
  ApiFixture f;
  auto document = openapi(f);
  auto messages = [&](const char* path, const char* method, const char* status) {
    std::set<std::string> out;
    const auto& schema = document["paths"][path][method]["responses"][status]["content"]
                                 ["application/json"]["schema"];
    auto add_enum = [&](const rapidjson::Value& alternative) {
      if (alternative.HasMember("enum")) {
        for (const auto& value : alternative["enum"].GetArray()) {
          out.insert(value.GetString());
        }
      }
    };
    add_enum(schema);
    if (schema.HasMember("anyOf")) {
      for (const auto& alternative : schema["anyOf"].GetArray()) {
        add_enum(alternative);
      }
    }
    return out;
  };
  auto post_messages = messages("/messages", "post", "400");
  CHECK(post_messages.count("Missing recipient JID") == 1);
  CHECK(post_messages.count("Invalid recipient JID") == 1);
  CHECK(post_messages.count("Missing message body") == 1);
  CHECK(messages("/messages/{with}", "get", "400").count("Invalid interlocutor JID") == 1);
  CHECK(messages("/contacts/{jid}", "get", "404").count("JID provided but not supported") == 1);
  CHECK(messages("/rooms/{id}", "get", "404").count("Room not found") == 1);
  CHECK(messages("/rooms/{id}/messages", "post", "400").count("No valid message elements") == 1);
  const auto& post = document["paths"]["/messages"]["post"];
  CHECK(post["requestBody"]["content"]["application/json"]["schema"]["properties"].HasMember("to"));
  CHECK(post["responses"].HasMember("415"));
  CHECK(post["responses"].HasMember("413"));
}

TEST_CASE("openapi.json lists 413 for every operation, GETs too") {
  // A body beyond max_body_bytes is refused before any handler, whatever the
  // method (and by the transports from its Content-Length).
  ApiFixture f;
  auto document = openapi(f);
  std::size_t operations = 0;
  for (const auto& path : document["paths"].GetObject()) {
    for (const auto& method : path.value.GetObject()) {
      if (!method.value.IsObject() || !method.value.HasMember("responses")) {
        continue;
      }
      INFO(path.name.GetString() << " " << method.name.GetString());
      CHECK(method.value["responses"].HasMember("413"));
      ++operations;
    }
  }
  CHECK(operations > 10);
}

TEST_CASE("Only enabled handler groups are documented, under the base path") {
  FixtureOptions options;
  options.api.handlers = std::set<std::string>{"messages", "rooms_users"};
  options.api.base_path = "/v2/";
  ApiFixture f(std::move(options));
  auto request = f.request("GET", "");
  request.path = "/v2/api-docs/openapi.json";
  auto response = f.handle(request);
  REQUIRE(response.status == 200);
  auto document = parse_json(response.body);
  CHECK(std::string(document["servers"][0]["url"].GetString()) == "/v2");
  check_matches(document, documented_routes({"messages", "rooms_users"}));
  CHECK(keys(document["paths"]) == std::set<std::string>{"/messages", "/messages/{with}",
                                                         "/rooms/{id}/users",
                                                         "/rooms/{id}/users/{user}"});
}

TEST_CASE("The HTML viewer is self-contained and points at openapi.json") {
  ApiFixture f;
  auto response = f.handle(f.request("GET", "/api-docs", {}, std::nullopt));
  REQUIRE(response.status == 200);
  CHECK(response.headers.get("Content-Type") == std::string_view("text/html; charset=utf-8"));
  CHECK(response.body.rfind("<!DOCTYPE html>", 0) == 0);
  CHECK(response.body.find("\"/api/api-docs/openapi.json\"") != std::string::npos);
  CHECK(response.body.find("http://") == std::string::npos);
  CHECK(response.body.find("https://") == std::string::npos);
  CHECK(response.body.find("src=") == std::string::npos);
  CHECK(f.get("/api-docs/").status == 200);  // trailing slash
}

TEST_CASE("Docs paths: methods, OPTIONS, CORS and switching them off") {
  FixtureOptions options;
  options.api.cors_allowed_origins = {"*"};
  ApiFixture f(std::move(options));
  auto post = f.post("/api-docs", "{}");
  CHECK(post.status == 405);
  CHECK(post.headers.get("Allow") == std::string_view("GET, OPTIONS"));
  auto preflight = f.request("OPTIONS", "/api-docs/openapi.json", {}, std::nullopt);
  preflight.headers.set("Origin", "http://viewer.test");
  auto answer = f.handle(preflight);
  CHECK(answer.status == 200);
  CHECK(answer.headers.get("Access-Control-Allow-Origin") ==
        std::string_view("http://viewer.test"));
  auto html_only = f.request("GET", "/api-docs");
  html_only.headers.set("Accept", "application/json");
  CHECK(f.handle(html_only).status == 406);
  CHECK(f.get("/api-docs/other").status == 404);

  FixtureOptions off;
  off.api.docs = false;
  ApiFixture g(std::move(off));
  CHECK(g.get("/api-docs").status == 404);
  CHECK(g.get("/api-docs/openapi.json").status == 404);
}
