// The OpenAPI description of the client REST API. Paths and methods come from
// the route table; this file adds what a reader needs to know about each
// operation (bodies, responses, the exact error messages).
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

struct ErrorDoc {
  int status;
  std::vector<std::string_view> messages;  ///< exact JSON string bodies; may be empty
};

struct OperationDoc {
  std::string_view path;
  std::string_view method;
  std::string_view summary;
  std::string_view request_schema;  ///< JSON schema text, empty when no body
  int success_status;
  std::string_view success_description;
  std::string_view success_schema;  ///< JSON schema text, empty when no body
  std::vector<ErrorDoc> errors;
};

constexpr std::string_view kRoomInput =
    R"({"type":"object","required":["name","subject"],"properties":{"name":{"type":"string"},)"
    R"("subject":{"type":"string"}}})";
constexpr std::string_view kIdOutput =
    R"({"type":"object","required":["id"],"properties":{"id":{"type":"string"}}})";
constexpr std::string_view kChatMessages =
    R"({"type":"array","items":{"$ref":"#/components/schemas/ChatMessage"}})";
constexpr std::string_view kRoomMessages =
    R"({"type":"array","items":{"$ref":"#/components/schemas/RoomMessage"}})";

// The errors every room operation may answer, in the order they are checked.
std::vector<ErrorDoc> room_errors(std::vector<std::string_view> bad_request = {},
                                  std::vector<std::string_view> denied = {}) {
  std::vector<std::string_view> bad = {"Invalid room ID", "Invalid MUC Light domain"};
  bad.insert(bad.end(), bad_request.begin(), bad_request.end());
  std::vector<std::string_view> forbidden = {"Given user does not occupy this room"};
  forbidden.insert(forbidden.end(), denied.begin(), denied.end());
  return {{400, bad}, {403, forbidden}, {404, {"MUC Light server not found", "Room not found"}}};
}

std::vector<OperationDoc> operation_docs() {
  return {
      {"/sse",
       "GET",
       "Open a server-sent-events stream of incoming messages",
       "",
       200,
       "An event stream: `message` events (chat JSON) and `room.message` events (room JSON "
       "with `room`); ids count from 1.",
       R"({"type":"string"})",
       {}},
      {"/messages",
       "GET",
       "Recent one-to-one messages of the user, oldest first",
       "",
       200,
       "The messages",
       kChatMessages,
       {{400, {"Invalid query string", "Invalid limit", "Invalid value of 'before'"}}}},
      {"/messages",
       "POST",
       "Send a chat message",
       R"({"type":"object","required":["to","body"],"properties":{"to":{"type":"string",)"
       R"("description":"recipient JID"},"body":{"type":"string"}}})",
       200,
       "The message was sent",
       kIdOutput,
       {{400,
         {"Invalid request body", "Missing recipient JID", "Invalid recipient JID",
          "Missing message body", "Invalid message body"}}}},
      {"/messages/{with}",
       "GET",
       "Recent messages exchanged with one contact, oldest first",
       "",
       200,
       "The messages",
       kChatMessages,
       {{400,
         {"Invalid interlocutor JID", "Invalid query string", "Invalid limit",
          "Invalid value of 'before'"}}}},
      {"/contacts",
       "GET",
       "The user's contacts (roster)",
       "",
       200,
       "The contacts",
       R"({"type":"array","items":{"$ref":"#/components/schemas/Contact"}})",
       {}},
      {"/contacts",
       "POST",
       "Add a contact (no subscription)",
       R"({"type":"object","required":["jid"],"properties":{"jid":{"type":"string"}}})",
       204,
       "Added",
       "",
       {{400, {"Invalid request body", "Missing JID", "Invalid JID: <jid>"}},
        {404, {"The user <jid> does not exist"}}}},
      {"/contacts",
       "DELETE",
       "Remove several contacts",
       R"({"type":"object","required":["to_delete"],"properties":{"to_delete":{"type":"array",)"
       R"("items":{"type":"string"}}}})",
       200,
       "The contacts that were not in the roster",
       R"({"type":"object","properties":{"not_deleted":{"type":"array","items":{"type":"string"}}}})",
       {{400,
         {"Invalid request body", "Missing to_delete", "Invalid to_delete: expected a list of JIDs",
          "Invalid JID: <jid>"}}}},
      {"/contacts/{jid}",
       "GET",
       "Not supported",
       "",
       404,
       "Always",
       "",
       {{404, {"JID provided but not supported"}}}},
      {"/contacts/{jid}",
       "PUT",
       "Invite a contact or accept their invitation",
       R"({"type":"object","required":["action"],"properties":{"action":{"type":"string",)"
       R"("enum":["invite","accept"]}}})",
       204,
       "Done",
       "",
       {{400, {"Invalid JID: <jid>", "Invalid request body", "Missing action", "Invalid action"}},
        {404, {"Given contact does not exist"}}}},
      {"/contacts/{jid}",
       "DELETE",
       "Remove a contact and its subscriptions",
       "",
       204,
       "Removed",
       "",
       {{400, {"Invalid JID: <jid>"}}, {404, {"Cannot remove <jid> contact that does not exist"}}}},
      {"/rooms",
       "GET",
       "The rooms the user is affiliated with",
       "",
       200,
       "The rooms",
       R"({"type":"array","items":{"$ref":"#/components/schemas/Room"}})",
       {{404, {"MUC Light server not found"}}}},
      {"/rooms",
       "POST",
       "Create a room with a fresh ID",
       kRoomInput,
       201,
       "Created",
       kIdOutput,
       {{400, {"Invalid request body", "Missing room name", "Missing room subject"}},
        {404, {"MUC Light server not found"}}}},
      {"/rooms",
       "PUT",
       "Create a room with a given ID (the ID is missing here)",
       kRoomInput,
       400,
       "Always",
       "",
       {{400, {"Missing room ID"}}}},
      {"/rooms/{id}", "GET", "Room name, subject and participants", "", 200, "The room",
       R"({"$ref":"#/components/schemas/RoomInfo"})", room_errors()},
      {"/rooms/{id}",
       "PUT",
       "Create a room with this ID",
       kRoomInput,
       201,
       "Created",
       kIdOutput,
       {{400,
         {"Invalid room ID", "Invalid MUC Light domain", "Invalid request body",
          "Missing room name", "Missing room subject"}},
        {403, {"Room already exists"}},
        {404, {"MUC Light server not found"}}}},
      {"/rooms/{id}/config", "PUT", "Change the room name and subject", kRoomInput, 204, "Changed",
       "",
       room_errors(
           {"Invalid request body", "Validation failed for key: <key> with reason <reason>"},
           {"Given user does not have permission to change config"})},
      {"/rooms/{id}/users", "POST", "Add a member (owner only)",
       R"({"type":"object","required":["user"],"properties":{"user":{"type":"string"}}})", 204,
       "Added", "",
       room_errors({"Invalid request body", "Missing JID", "Invalid user JID: <jid>"},
                   {"Given user does not have permission to change affiliations"})},
      {"/rooms/{id}/users",
       "DELETE",
       "Remove a user (the user is missing here)",
       "",
       400,
       "Always",
       "",
       {{400, {"Missing JID"}}}},
      {"/rooms/{id}/users/{user}", "DELETE",
       "Remove a user: the owner removes anyone, a member only themself", "", 204, "Removed", "",
       room_errors({"Invalid user JID: <jid>"},
                   {"Given user does not have permission to change affiliations"})},
      {"/rooms/{id}/messages", "GET", "Recent room messages, oldest first", "", 200, "The messages",
       kRoomMessages,
       room_errors({"Invalid query string", "Invalid limit", "Invalid value of 'before'"})},
      {"/rooms/{id}/messages", "POST", "Send a message or a chat marker to the room",
       R"({"type":"object","properties":{"body":{"type":"string"},"markable":{"type":"boolean"},)"
       R"("chat_marker":{"type":"object","required":["type","id"],"properties":{"type":{)"
       R"("type":"string","enum":["received","displayed","acknowledged"]},"id":{"type":"string"}}}}})",
       200, "Sent", kIdOutput,
       room_errors({"Invalid request body", "Invalid message body", "Invalid chat marker",
                    "No valid message elements"})},
  };
}

constexpr std::string_view kSchemas = R"({
  "Error": {"type": "string", "description": "The error message, as a JSON string"},
  "ChatMessage": {"type": "object", "required": ["timestamp"], "properties": {
    "from": {"type": "string"}, "to": {"type": "string"}, "id": {"type": "string"},
    "body": {"type": "string"}, "timestamp": {"type": "integer", "description": "milliseconds"},
    "thread": {"type": "string"}, "parent": {"type": "string"},
    "properties": {"type": "object", "additionalProperties": {"type": "string"}}}},
  "RoomMessage": {"type": "object", "required": ["id", "from", "timestamp", "type"], "properties": {
    "id": {"type": "string"}, "from": {"type": "string"},
    "timestamp": {"type": "integer", "description": "milliseconds"},
    "type": {"type": "string", "enum": ["message", "affiliation"]},
    "body": {"type": "string"}, "markable": {"type": "boolean"},
    "chat_marker": {"type": "object", "properties": {"type": {"type": "string"}, "id": {"type": "string"}}},
    "affiliation": {"type": "string", "enum": ["owner", "member", "none"]},
    "user": {"type": "string"}}},
  "Contact": {"type": "object", "required": ["jid", "subscription", "ask"], "properties": {
    "jid": {"type": "string"},
    "subscription": {"type": "string", "enum": ["none", "to", "from", "both"]},
    "ask": {"type": "string", "enum": ["none", "in", "out", "both"]}}},
  "Room": {"type": "object", "required": ["id", "name", "subject"], "properties": {
    "id": {"type": "string"}, "name": {"type": "string"}, "subject": {"type": "string"}}},
  "RoomInfo": {"type": "object", "required": ["name", "subject", "participants"], "properties": {
    "name": {"type": "string"}, "subject": {"type": "string"},
    "participants": {"type": "array", "items": {"type": "object", "properties": {
      "user": {"type": "string"}, "role": {"type": "string", "enum": ["owner", "member"]}}}}}}
})";

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

std::string_view param_description(std::string_view name) {
  if (name == "with") {
    return "The other party's bare JID (percent-encoded)";
  }
  if (name == "jid") {
    return "The contact's bare JID (percent-encoded)";
  }
  if (name == "id") {
    return "Room ID, or room JID on the user's MUC Light service";
  }
  if (name == "user") {
    return "The user's bare JID (percent-encoded)";
  }
  return "Path parameter";
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

Value operation_value(const Route& route, const Operation& operation, const OperationDoc* doc,
                      Allocator& allocator) {
  Value value(rapidjson::kObjectType);
  std::string operation_id = lower_method(operation.method);
  for (char c : route.path) {
    operation_id += (c == '/' || c == '{' || c == '}') ? '_' : c;
  }
  value.AddMember("operationId", string_value(operation_id, allocator), allocator);
  value.AddMember("summary", string_value(doc ? doc->summary : operation.method, allocator),
                  allocator);
  Value tags(rapidjson::kArrayType);
  tags.PushBack(string_value(to_string(route.group), allocator), allocator);
  value.AddMember("tags", tags, allocator);

  Value parameters(rapidjson::kArrayType);
  std::string_view path = route.path;
  for (std::size_t open = path.find('{'); open != std::string_view::npos;
       open = path.find('{', open + 1)) {
    auto name = path.substr(open + 1, path.find('}', open) - open - 1);
    parameters.PushBack(parameter(name, "path", true, param_description(name), "string", allocator),
                        allocator);
  }
  if (operation.paging) {
    parameters.PushBack(parameter("limit", "query", false,
                                  "At most this many messages (default 50)", "integer", allocator),
                        allocator);
    parameters.PushBack(
        parameter("before", "query", false,
                  "Only messages strictly older than this time (milliseconds since the epoch)",
                  "integer", allocator),
        allocator);
  }
  if (!parameters.Empty()) {
    value.AddMember("parameters", parameters, allocator);
  }

  if (doc && !doc->request_schema.empty()) {
    Value body(rapidjson::kObjectType);
    body.AddMember("required", true, allocator);
    body.AddMember("content", json_content(parse_schema(doc->request_schema, allocator), allocator),
                   allocator);
    value.AddMember("requestBody", body, allocator);
  }

  Value responses(rapidjson::kObjectType);
  std::vector<ErrorDoc> errors;
  if (doc) {
    errors = doc->errors;
    if (doc->success_status < 400) {
      Value content;
      if (!doc->success_schema.empty()) {
        Value schema = parse_schema(doc->success_schema, allocator);
        if (route.produces == "application/json") {
          content = json_content(std::move(schema), allocator);
        } else {
          Value media(rapidjson::kObjectType);
          media.AddMember("schema", schema, allocator);
          content.SetObject();
          content.AddMember(string_value(route.produces, allocator), media, allocator);
        }
      }
      add_response(responses, doc->success_status, doc->success_description, std::move(content),
                   allocator);
    }
  } else {
    add_response(responses, 200, "Success", Value(), allocator);
  }
  add_response(responses, 401, "Authentication failed (empty body, WWW-Authenticate header)",
               Value(), allocator);
  for (const auto& error : errors) {
    Value schema(rapidjson::kObjectType);
    schema.AddMember("type", "string", allocator);
    std::string description = "Error, body is a JSON string";
    if (!error.messages.empty()) {
      Value values(rapidjson::kArrayType);
      description += ":";
      for (auto message : error.messages) {
        values.PushBack(string_value(message, allocator), allocator);
        description += " \"";
        description += message;
        description += "\"";
      }
      schema.AddMember("enum", values, allocator);
    }
    add_response(responses, error.status, description, json_content(std::move(schema), allocator),
                 allocator);
  }
  add_response(responses, 406, "The Accept header excludes " + std::string(route.produces), Value(),
               allocator);
  if (operation.method == "POST" || operation.method == "PUT") {
    add_response(responses, 415, "The body is not application/json", Value(), allocator);
  }
  if (operation.method != "GET") {
    Value schema(rapidjson::kObjectType);
    schema.AddMember("type", "string", allocator);
    add_response(responses, 413, "The body exceeds the configured size limit",
                 json_content(std::move(schema), allocator), allocator);
  }
  value.AddMember("responses", responses, allocator);
  return value;
}

}  // namespace

std::string openapi_document(const ApiConfig& config, const std::vector<Route>& routes) {
  rapidjson::Document document(rapidjson::kObjectType);
  auto& allocator = document.GetAllocator();
  document.AddMember("openapi", "3.0.3", allocator);

  Value info(rapidjson::kObjectType);
  info.AddMember("title", "MongooseIM client REST API", allocator);
  info.AddMember("version", "1.0.0", allocator);
  info.AddMember("description",
                 "Client REST API compatible with MongooseIM. Every operation needs HTTP Basic "
                 "authentication with the user's bare JID and password. Errors are JSON strings.",
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

  Value requirement(rapidjson::kObjectType);
  requirement.AddMember("basicAuth", Value(rapidjson::kArrayType), allocator);
  Value security(rapidjson::kArrayType);
  security.PushBack(requirement, allocator);
  document.AddMember("security", security, allocator);

  auto docs = operation_docs();
  Value paths(rapidjson::kObjectType);
  for (const auto& route : routes) {
    Value item(rapidjson::kObjectType);
    for (const auto& operation : route.operations) {
      const OperationDoc* doc = nullptr;
      for (const auto& candidate : docs) {
        if (candidate.path == route.path && candidate.method == operation.method) {
          doc = &candidate;
        }
      }
      item.AddMember(string_value(lower_method(operation.method), allocator),
                     operation_value(route, operation, doc, allocator), allocator);
    }
    paths.AddMember(string_value(route.path, allocator), item, allocator);
  }
  document.AddMember("paths", paths, allocator);

  Value scheme(rapidjson::kObjectType);
  scheme.AddMember("type", "http", allocator);
  scheme.AddMember("scheme", "basic", allocator);
  scheme.AddMember("description", "Bare JID (user@domain) as the user name", allocator);
  Value schemes(rapidjson::kObjectType);
  schemes.AddMember("basicAuth", scheme, allocator);
  Value components(rapidjson::kObjectType);
  components.AddMember("securitySchemes", schemes, allocator);
  components.AddMember("schemas", parse_schema(kSchemas, allocator), allocator);
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
