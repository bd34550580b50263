// The small helpers every route handler answers with.
#include "core/api/handler_context.hpp"

#include <limits>
#include <utility>

#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "core/api/query.hpp"

namespace mimrest::detail {

namespace {

constexpr std::string_view kJsonType = "application/json";

// Deepest nesting of arrays and objects in `text`, stopping early once it
// exceeds `limit`. Only meaningful for valid JSON, which is all it needs to
// be: invalid JSON fails to parse anyway. Keeps the recursive parts of
// RapidJSON (value destruction, copying) within a known depth.
bool depth_within(std::string_view text, std::size_t limit) {
  std::size_t depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        break;
      case '[':
      case '{':
        if (++depth > limit) {
          return false;
        }
        break;
      case ']':
      case '}':
        if (depth > 0) {
          --depth;
        }
        break;
      default:
        break;
    }
  }
  return true;
}

}  // namespace

std::string json_string(std::string_view text) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writer.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string as_given(const rapidjson::Value& value) {
  if (value.IsString()) {
    return std::string(value.GetString(), value.GetStringLength());
  }
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

Response error_response(int status, std::string_view message) {
  return json_response(status, json_string(message));
}

Response id_response(int status, std::string_view id) {
  return json_response(status, "{\"id\":" + json_string(id) + "}");
}

Response json_response(int status, std::string json) {
  Response response;
  response.status = status;
  response.headers.set("Content-Type", std::string(kJsonType));
  response.body = std::move(json);
  return response;
}

Response empty_response(int status) {
  Response response;
  response.status = status;
  return response;
}

Expected<rapidjson::Document, Response> parse_json_object(const HandlerContext& context) {
  const std::string& body = context.request.body;
  auto invalid = [] { return unexpected(error_response(400, "Invalid request body")); };
  if (body.size() >= std::numeric_limits<rapidjson::SizeType>::max() ||
      !depth_within(body, context.config.max_json_depth)) {
    return invalid();
  }
  rapidjson::Document document;
  // Iterative parsing: no recursion on hostile input; strict UTF-8 because the
  // strings end up in XML stanzas.
  document.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag>(
      body.data(), body.size());
  if (document.HasParseError() || !document.IsObject()) {
    return invalid();
  }
  return document;
}

const rapidjson::Value* find_member(const rapidjson::Value& object, std::string_view name) {
  if (!object.IsObject()) {
    return nullptr;
  }
  auto member = object.FindMember(rapidjson::Value(rapidjson::StringRef(name.data(), name.size())));
  return member == object.MemberEnd() ? nullptr : &member->value;
}

std::optional<std::string_view> string_member(const rapidjson::Value& object,
                                              std::string_view name) {
  const rapidjson::Value* member = find_member(object, name);
  if (member == nullptr || !member->IsString()) {
    return std::nullopt;
  }
  return std::string_view(member->GetString(), member->GetStringLength());
}

Expected<Paging, Response> parse_paging(std::string_view query, std::size_t max_limit) {
  auto pairs = parse_query(query);
  if (!pairs) {
    return unexpected(error_response(400, "Invalid query string"));
  }
  std::optional<std::string> limit_text;
  std::optional<std::string> before_text;
  for (auto& [key, value] : *pairs) {
    // A repeated key keeps its last value, as MongooseIM's query parsing does.
    if (key == "limit") {
      limit_text = std::move(value);
    } else if (key == "before") {
      before_text = std::move(value);
    } else {
      return unexpected(error_response(400, "Invalid query string"));
    }
  }
  Paging paging;
  if (limit_text) {
    auto limit = parse_unsigned_saturating(*limit_text);
    if (!limit || *limit > max_limit) {
      return unexpected(error_response(400, "Invalid limit"));
    }
    paging.limit = static_cast<std::size_t>(*limit);
  }
  if (before_text) {
    auto before_ms = parse_signed_saturating(*before_text);
    if (!before_ms) {
      return unexpected(error_response(400, "Invalid value of 'before'"));
    }
    paging.before_us = saturating_ms_to_us(*before_ms);
  }
  return paging;
}

Response archived_messages_response(const std::vector<ArchivedMessage>& messages,
                                    MessageEncoding encoding) {
  std::string json = "[";
  bool first = true;
  for (const auto& message : messages) {
    JsonOptions options;
    options.encoding = encoding;
    options.timestamp = message.timestamp_us / 1000;
    auto item = message_to_json(message.stanza_xml, options);
    if (!item) {
      // A row the host stored that is not a message stanza: nothing to show.
      continue;
    }
    if (!first) {
      json += ',';
    }
    first = false;
    json += *item;
  }
  json += ']';
  return json_response(200, std::move(json));
}

}  // namespace mimrest::detail
