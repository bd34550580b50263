// Internal: what a route handler receives once routing, authentication and the
// content negotiation checks (406, 415) have passed, and the small helpers
// every handler uses to answer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <rapidjson/document.h>

#include "mimrest/api_config.hpp"
#include "mimrest/backend/backend.hpp"
#include "mimrest/expected.hpp"
#include "mimrest/http.hpp"
#include "mimrest/jid.hpp"
#include "mimrest/stanza_json.hpp"

namespace mimrest::detail {

struct HandlerContext {
  const Request& request;
  const Jid& user;  ///< the authenticated bare JID
  const ApiConfig& config;
  const Backend& backend;
  /// Percent-decoded path parameters in path order, e.g. {"<id>", "<user>"} for
  /// /rooms/{id}/users/{user}. A parameter the path leaves out is absent.
  std::vector<std::string> params;
};

/// Status and a body that is `message` encoded as a JSON string.
Response error_response(int status, std::string_view message);
/// Status and a JSON body (Content-Type: application/json).
Response json_response(int status, std::string json);
/// Status and {"id": id}: what creating a message or a room answers.
Response id_response(int status, std::string_view id);
/// `text` as a JSON string literal.
std::string json_string(std::string_view text);
/// A JSON value as a client gave it, for error messages: a string as it is,
/// anything else as its JSON text.
std::string as_given(const rapidjson::Value& value);
/// Status without a body (204, or 201/200 with nothing to say).
Response empty_response(int status);

/// The request body parsed as a JSON OBJECT within config.max_json_depth; an
/// error Response (400 "Invalid request body") otherwise.
Expected<rapidjson::Document, Response> parse_json_object(const HandlerContext& context);

/// A member of a JSON object, whatever its type; nullptr when absent or when
/// `object` is not an object.
const rapidjson::Value* find_member(const rapidjson::Value& object, std::string_view name);

/// A string member of a JSON object, if present and a string.
std::optional<std::string_view> string_member(const rapidjson::Value& object,
                                              std::string_view name);

struct Paging {
  std::size_t limit = 50;
  std::optional<std::int64_t> before_us;  ///< `before` (ms) converted to microseconds
};

/// Parses the query string accepting only `limit` (0..max_limit, default 50)
/// and `before` (integer ms). Errors as API.md says: 400 "Invalid query
/// string", "Invalid limit", "Invalid value of 'before'".
Expected<Paging, Response> parse_paging(std::string_view query, std::size_t max_limit);

/// Answers a JSON array of archived messages converted with `encoding`
/// (timestamps in milliseconds).
Response archived_messages_response(const std::vector<ArchivedMessage>& messages,
                                    MessageEncoding encoding);

}  // namespace mimrest::detail
