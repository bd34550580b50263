// The OpenAPI description of the client REST API, generated from the route
// groups: their paths, parameters, bodies and the exact error messages their
// handlers answer with, plus the answers the core gives for every route.
#include "core/api/openapi.hpp"

#include <cstdint>
#include <string>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace mimrest::detail {

namespace {

using rapidjson::Value;
using Allocator = rapidjson::Document::AllocatorType;

// The one schema every group shares; the others come with their groups.
constexpr std::string_view kErrorSchema =
    R"({"type": "string", "description": "The error message, as a JSON string"})";

Value string_value(std::string_view text, Allocator& allocator) {
  return Value(text.data(), static_cast<rapidjson::SizeType>(text.size()), allocator);
}

// Parses one of the constant schema texts above into the document.
Value parse_schema(std::string_view text, Allocator& allocator) {
  rapidjson::Document parsed(&allocator);
  parsed.Parse(text.data(), text.size());
  if (parsed.HasParseError()) {
    return Value(rapidjson::kObjectType);  // caught by the documentation test
  }
  return Value(parsed, allocator);
}

Value json_content(Value schema, Allocator& allocator) {
  Value media(rapidjson::kObjectType);
  media.AddMember("schema", schema, allocator);
  Value content(rapidjson::kObjectType);
  content.AddMember("application/json", media, allocator);
  return content;
}

Value parameter(std::string_view name, std::string_view in, bool required,
                std::string_view description, std::string_view type, Allocator& allocator) {
  Value schema(rapidjson::kObjectType);
  schema.AddMember("type", string_value(type, allocator), allocator);
  if (type == "integer") {
    schema.AddMember("format", "int64", allocator);
  }
  Value value(rapidjson::kObjectType);
  value.AddMember("name", string_value(name, allocator), allocator);
  value.AddMember("in", string_value(in, allocator), allocator);
  value.AddMember("required", required, allocator);
  value.AddMember("description", string_value(description, allocator), allocator);
  value.AddMember("schema", schema, allocator);
  return value;
}

void add_response(Value& responses, int status, std::string_view description, Value content,
                  Allocator& allocator) {
  Value response(rapidjson::kObjectType);
  response.AddMember("description", string_value(description, allocator), allocator);
  if (!content.IsNull()) {
    response.AddMember("content", content, allocator);
  }
  auto key = std::to_string(status);
  responses.AddMember(string_value(key, allocator), response, allocator);
}

// OpenAPI names operations by the method in lower case ("get", "post").
std::string lower_method(std::string_view method) {
  std::string lower;
  for (char c : method) {
    lower += static_cast<char>(c - 'A' + 'a');
  }
  return lower;
}

// The documented form of an error message: the text, and for a templated
// one its placeholder ("Invalid JID: <jid>").
std::string documented_message(const ApiError& error) {
  std::string message(error.text);
  message += error.placeholder;
  message += error.suffix;
  return message;
}

// A regular expression that matches a templated message: its fixed parts,
// escaped, around anything.
std::string message_pattern(const ApiError& error) {
  auto escaped = [](std::string_view text) {
    std::string out;
    for (char c : text) {
      if (std::string_view("\\^$.|?*+()[]{}").find(c) != std::string_view::npos) {
        out += '\\';
      }
      out += c;
    }
    return out;
  };
  return "^" + escaped(error.text) + ".*" + escaped(error.suffix) + "$";
}

// The schema of one status's error bodies: an enum of the fixed messages
// and a pattern for each templated one.
Value error_schema(const std::vector<const ApiError*>& errors, Allocator& allocator) {
  Value fixed(rapidjson::kArrayType);
  std::vector<Value> alternatives;
  for (const ApiError* error : errors) {
    if (error->placeholder.empty()) {
      fixed.PushBack(string_value(error->text, allocator), allocator);
    } else {
      Value templated(rapidjson::kObjectType);
      templated.AddMember("type", "string", allocator);
      templated.AddMember("pattern", string_value(message_pattern(*error), allocator), allocator);
      alternatives.push_back(std::move(templated));
    }
  }
  Value fixed_schema(rapidjson::kObjectType);
  fixed_schema.AddMember("type", "string", allocator);
  if (!fixed.Empty()) {
    fixed_schema.AddMember("enum", fixed, allocator);
  }
  if (alternatives.empty()) {
    return fixed_schema;
  }
  Value any_of(rapidjson::kArrayType);
  if (fixed_schema.HasMember("enum")) {
    any_of.PushBack(fixed_schema, allocator);
  }
  for (auto& alternative : alternatives) {
    any_of.PushBack(alternative, allocator);
  }
  if (any_of.Size() == 1) {
    return Value(any_of[0], allocator);
  }
  Value schema(rapidjson::kObjectType);
  schema.AddMember("anyOf", any_of, allocator);
  return schema;
}

const ParamDoc* find_param(const RouteGroup& group, std::string_view name, std::string_view in) {
  for (const auto& param : group.params()) {
    if (param.name == name && param.in == in) {
      return &param;
    }
  }
  return nullptr;
}

Value operation_value(const RouteGroup& group, const Route& route, const Operation& operation,
                      bool tokens, const ApiError& unavailable, Allocator& allocator) {
  Value value(rapidjson::kObjectType);
  std::string operation_id = lower_method(operation.method());
  for (char c : route.path) {
    operation_id += (c == '/' || c == '{' || c == '}') ? '_' : c;
  }
  value.AddMember("operationId", string_value(operation_id, allocator), allocator);
  value.AddMember("summary", string_value(operation.summary(), allocator), allocator);
  Value tags(rapidjson::kArrayType);
  tags.PushBack(string_value(group.name, allocator), allocator);
  value.AddMember("tags", tags, allocator);

  Value parameters(rapidjson::kArrayType);
  std::string_view path = route.path;
  const bool has_path_params = path.find('{') != std::string_view::npos;
  for (std::size_t open = path.find('{'); open != std::string_view::npos;
       open = path.find('{', open + 1)) {
    auto name = path.substr(open + 1, path.find('}', open) - open - 1);
    const ParamDoc* doc = find_param(group, name, "path");
    parameters.PushBack(parameter(name, "path", true, doc ? doc->description : "Path parameter",
                                  "string", allocator),
                        allocator);
  }
  for (auto name : operation.query()) {
    const ParamDoc* doc = find_param(group, name, "query");
    parameters.PushBack(parameter(name, "query", false, doc ? doc->description : "",
                                  doc ? doc->type : "string", allocator),
                        allocator);
  }
  if (!parameters.Empty()) {
    value.AddMember("parameters", parameters, allocator);
  }
  if (operation.access() != Access::user) {
    value.AddMember("security", Value(rapidjson::kArrayType), allocator);
  }

  if (!operation.request_schema().empty()) {
    Value body(rapidjson::kObjectType);
    body.AddMember("required", true, allocator);
    body.AddMember("content",
                   json_content(parse_schema(operation.request_schema(), allocator), allocator),
                   allocator);
    value.AddMember("requestBody", body, allocator);
  }

  // Every error answer, by status, in the order the checks run.
  std::vector<std::pair<int, std::vector<const ApiError*>>> by_status;
  auto add_error = [&](const ApiError& error) {
    for (auto& [status, errors] : by_status) {
      if (status == error.status) {
        for (const ApiError* known : errors) {
          if (known == &error) {
            return;
          }
        }
        errors.push_back(&error);
        return;
      }
    }
    by_status.push_back({error.status, {&error}});
  };
  if (has_path_params) {
    add_error(common_errors::invalid_path);
  }
  for (const ApiError* error : operation.errors()) {
    add_error(*error);
  }
  // Any request may carry a body, a GET too, and one beyond max_body_bytes
  // is refused before the handler (and by the transports from its
  // Content-Length).
  add_error(common_errors::too_large);
  if (operation.access() != Access::anyone) {
    add_error(common_errors::throttled);
  }
  add_error(common_errors::internal);
  add_error(unavailable);

  Value responses(rapidjson::kObjectType);
  if (operation.success_status() < 400) {
    Value content;
    if (!operation.success_schema().empty()) {
      Value schema = parse_schema(operation.success_schema(), allocator);
      Value media(rapidjson::kObjectType);
      media.AddMember("schema", schema, allocator);
      content.SetObject();
      content.AddMember(string_value(route.produces, allocator), media, allocator);
    }
    add_response(responses, operation.success_status(), operation.success_description(),
                 std::move(content), allocator);
  }
  if (operation.access() == Access::refresh_token) {
    add_response(responses, 401,
                 "Not a live refresh token (empty body, WWW-Authenticate: Bearer "
                 "error=\"invalid_token\")",
                 Value(), allocator);
  } else if (operation.access() == Access::user) {
    add_response(responses, 401,
                 tokens ? "Authentication failed (empty body, WWW-Authenticate: Basic and Bearer)"
                        : "Authentication failed (empty body, WWW-Authenticate header)",
                 Value(), allocator);
  }
  for (const auto& [status, errors] : by_status) {
    std::string description = "Error, the body is the message as a JSON string:";
    for (const ApiError* error : errors) {
      description += " \"";
      description += documented_message(*error);
      description += "\"";
    }
    if (status == common_errors::throttled.status) {
      description += " (with Retry-After)";
    }
    add_response(responses, status, description,
                 json_content(error_schema(errors, allocator), allocator), allocator);
  }
  add_response(responses, 406, "The Accept header excludes " + std::string(route.produces), Value(),
               allocator);
  if (operation.method() == "POST" || operation.method() == "PUT") {
    add_response(responses, 415, "The body is not application/json", Value(), allocator);
  }
  value.AddMember("responses", responses, allocator);
  return value;
}

}  // namespace

std::string openapi_document(const ApiConfig& config, const Backend& backend,
                             const std::vector<const RouteGroup*>& groups) {
  // As authentication decides (authentication.cpp): no store, no tokens.
  const bool tokens = config.tokens.enabled && backend.tokens != nullptr;
  // The backend's 503 carries the configured message.
  const ApiError unavailable{common_errors::unavailable.status, config.unavailable_message};
  rapidjson::Document document(rapidjson::kObjectType);
  auto& allocator = document.GetAllocator();
  document.AddMember("openapi", "3.0.3", allocator);

  Value info(rapidjson::kObjectType);
  info.AddMember("title", "MongooseIM client REST API", allocator);
  info.AddMember("version", "1.0.0", allocator);
  info.AddMember(
      "description",
      rapidjson::StringRef(
          tokens ? "Client REST API compatible with MongooseIM. Operations need HTTP Basic "
                   "authentication with the user's bare JID and password, or a Bearer "
                   "token from POST /tokens. Errors are JSON strings."
                 : "Client REST API compatible with MongooseIM. Every operation needs HTTP "
                   "Basic authentication with the user's bare JID and password. Errors are "
                   "JSON strings."),
      allocator);
  document.AddMember("info", info, allocator);

  std::string base = config.base_path;
  while (base.size() > 1 && base.back() == '/') {
    base.pop_back();
  }
  Value server(rapidjson::kObjectType);
  server.AddMember("url", string_value(base.empty() ? "/" : base, allocator), allocator);
  Value servers(rapidjson::kArrayType);
  servers.PushBack(server, allocator);
  document.AddMember("servers", servers, allocator);

  Value security(rapidjson::kArrayType);
  Value basic_requirement(rapidjson::kObjectType);
  basic_requirement.AddMember("basicAuth", Value(rapidjson::kArrayType), allocator);
  security.PushBack(basic_requirement, allocator);
  if (tokens) {
    Value bearer_requirement(rapidjson::kObjectType);
    bearer_requirement.AddMember("bearerAuth", Value(rapidjson::kArrayType), allocator);
    security.PushBack(bearer_requirement, allocator);
  }
  document.AddMember("security", security, allocator);

  Value paths(rapidjson::kObjectType);
  Value schemas(rapidjson::kObjectType);
  schemas.AddMember("Error", parse_schema(kErrorSchema, allocator), allocator);
  for (const RouteGroup* group : groups) {
    if (!group->documented()) {
      continue;
    }
    for (const SchemaDoc& schema : group->schemas()) {
      if (!schemas.HasMember(string_value(schema.name, allocator))) {
        schemas.AddMember(string_value(schema.name, allocator),
                          parse_schema(schema.json, allocator), allocator);
      }
    }
    for (const auto& route : group->routes()) {
      Value item(rapidjson::kObjectType);
      for (const auto& operation : route.operations) {
        item.AddMember(string_value(lower_method(operation.method()), allocator),
                       operation_value(*group, route, operation, tokens, unavailable, allocator),
                       allocator);
      }
      paths.AddMember(string_value(route.path, allocator), item, allocator);
    }
  }
  document.AddMember("paths", paths, allocator);

  Value schemes(rapidjson::kObjectType);
  Value basic(rapidjson::kObjectType);
  basic.AddMember("type", "http", allocator);
  basic.AddMember("scheme", "basic", allocator);
  basic.AddMember("description", "Bare JID (user@domain) as the user name", allocator);
  schemes.AddMember("basicAuth", basic, allocator);
  if (tokens) {
    Value bearer(rapidjson::kObjectType);
    bearer.AddMember("type", "http", allocator);
    bearer.AddMember("scheme", "bearer", allocator);
    bearer.AddMember("description",
                     "An access token from POST /tokens; GET /sse also takes it as the "
                     "access_token query parameter",
                     allocator);
    schemes.AddMember("bearerAuth", bearer, allocator);
  }
  Value components(rapidjson::kObjectType);
  components.AddMember("securitySchemes", schemes, allocator);
  components.AddMember("schemas", schemas, allocator);
  document.AddMember("components", components, allocator);

  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  document.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string docs_page(std::string_view openapi_url) {
  // The URL goes into a script as a JSON string; "<" is escaped so that it
  // can never close the script element.
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writer.String(openapi_url.data(), static_cast<rapidjson::SizeType>(openapi_url.size()));
  std::string url_literal;
  for (char c : std::string_view(buffer.GetString(), buffer.GetSize())) {
    if (c == '<') {
      url_literal += "\\u003c";
    } else {
      url_literal += c;
    }
  }
  std::string page = R"(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Client REST API</title>
<style>
body { font-family: sans-serif; margin: 2em; max-width: 60em; }
.op { border: 1px solid #ccc; border-radius: 4px; margin: 0.5em 0; padding: 0.5em; }
.method { display: inline-block; min-width: 5em; font-weight: bold; }
code { background: #f4f4f4; padding: 0 0.2em; }
</style>
</head>
<body>
<h1>Client REST API</h1>
<p>Machine-readable description: <a id="spec-link" href="#">openapi.json</a></p>
<div id="operations">Loading...</div>
<script>
(function () {
  var url = )";
  page += url_literal;
  page += R"(;
  document.getElementById("spec-link").href = url;
  function el(tag, text) {
    var node = document.createElement(tag);
    if (text !== undefined) { node.textContent = text; }
    return node;
  }
  fetch(url).then(function (r) { return r.json(); }).then(function (spec) {
    var root = document.getElementById("operations");
    root.textContent = "";
    var base = (spec.servers && spec.servers[0]) ? spec.servers[0].url : "";
    Object.keys(spec.paths).forEach(function (path) {
      var item = spec.paths[path];
      Object.keys(item).forEach(function (method) {
        var op = item[method];
        var box = el("div");
        box.className = "op";
        var m = el("span", method.toUpperCase());
        m.className = "method";
        box.appendChild(m);
        box.appendChild(el("code", base.replace(/\/$/, "") + path));
        box.appendChild(el("p", op.summary || ""));
        var list = el("ul");
        Object.keys(op.responses || {}).forEach(function (status) {
          list.appendChild(el("li", status + ": " + op.responses[status].description));
        });
        box.appendChild(list);
        root.appendChild(box);
      });
    });
  }).catch(function (e) {
    document.getElementById("operations").textContent = "Cannot load the description: " + e;
  });
})();
</script>
</body>
</html>
)";
  return page;
}

}  // namespace mimrest::detail
