// One request in flight, and the helpers every handler answers with.
#include "core/api/call.hpp"

#include <cstdio>
#include <cstdlib>
#include <limits>
#include <utility>

#include "core/api/query.hpp"
#include "core/detail/json_writer.hpp"

namespace mimrest::detail {

namespace {

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

void add_cors(const Call& call, Response& response) {
  const Request& request = call.request();
  auto origin = request.headers.get("Origin");
  const CompiledRoute* route = CallInternals::route(call);
  if (!origin || route == nullptr) {
    return;
  }
  bool allowed = false;
  for (const auto& candidate : call.config().cors_allowed_origins) {
    if (candidate == "*" || iequals(candidate, *origin)) {
      allowed = true;
      break;
    }
  }
  if (!allowed) {
    return;
  }
  response.headers.set("Access-Control-Allow-Origin", std::string(*origin));
  response.headers.set("Access-Control-Allow-Credentials", "true");
  response.headers.set("Access-Control-Allow-Methods", route->allowed);
  response.headers.set("Access-Control-Allow-Headers", "authorization, content-type");
  // The answer depends on the Origin: caches must keep them apart.
  response.headers.set("Vary", "Origin");
}

/// In checked builds, an error the operation does not declare is a bug of
/// its handler (or of its declaration): stop where it happens.
void check_declared(const Call& call, const ApiError& error) {
#if MIMREST_CHECK_DECLARED_ERRORS
  const Operation* operation = CallInternals::operation(call);
  if (operation != nullptr && !operation->declares(error)) {
    std::fprintf(stderr, "mimrest: %s %s answered %d \"%.*s\", which it does not declare\n",
                 call.request().method.c_str(), call.request().path.c_str(), error.status,
                 static_cast<int>(error.text.size()), error.text.data());
    std::abort();
  }
#else
  (void)call;
  (void)error;
#endif
}

}  // namespace

Response error_response(const ApiConfig& config, int status, std::string_view message) {
  Response response;
  response.status = status;
  response.headers.set("Content-Type", "application/json");
  response.headers.set("Server", config.server_name);
  response.body = json_string(message);
  return response;
}

Call::Call(std::shared_ptr<Api::State> state, Request request, Responder responder)
    : state_(std::move(state)), request_(std::move(request)), responder_(std::move(responder)) {}

std::optional<std::string_view> Call::param(std::string_view name) const {
  for (const auto& [key, value] : params_) {
    if (key == name) {
      return std::string_view(value);
    }
  }
  return std::nullopt;
}

void CallInternals::set_route(Call& call, const CompiledRoute* route, const Operation* operation,
                              std::vector<std::pair<std::string_view, std::string>> params) {
  call.route_ = route;
  call.operation_ = operation;
  call.params_ = std::move(params);
}

void Call::before_answer(std::function<void()> hook) {
  before_answer_ = std::move(hook);
}

void Call::respond(Response response) {
  if (before_answer_) {
    auto hook = std::move(before_answer_);
    before_answer_ = nullptr;
    hook();
  }
  add_cors(*this, response);
  response.headers.set("Server", state_->config.server_name);
  responder_(std::move(response));
}

void Call::respond_json(int status, std::string json) {
  Response response;
  response.status = status;
  response.headers.set("Content-Type", "application/json");
  response.body = std::move(json);
  respond(std::move(response));
}

void Call::respond_empty(int status) {
  Response response;
  response.status = status;
  respond(std::move(response));
}

void Call::respond_id(int status, std::string_view id) {
  respond_json(status, JsonWriter().begin_object().member("id", id).end_object().take());
}

std::string Call::archived_json(const std::vector<ArchivedMessage>& messages,
                                MessageEncoding encoding) {
  return state_->archive_json.array_json(messages, encoding);
}

void Call::fail(const ApiError& error) {
  check_declared(*this, error);
  Response response = error_response(state_->config, error.status, error.text);
  respond(std::move(response));
}

void Call::fail(const ApiError& error, std::string_view value) {
  check_declared(*this, error);
  std::string message(error.text);
  message += value;
  message += error.suffix;
  respond(error_response(state_->config, error.status, message));
}

void Call::fail(Failure failure) {
  if (failure == Failure::unavailable) {
    // Declared for every operation, with the configured message.
    respond(error_response(state_->config, common_errors::unavailable.status,
                           state_->config.unavailable_message));
    return;
  }
  fail(common_errors::internal);
}

std::optional<rapidjson::Document> parse_json_object(Call& call) {
  const std::string& body = call.request().body;
  if (body.size() >= std::numeric_limits<rapidjson::SizeType>::max() ||
      !depth_within(body, call.config().max_json_depth)) {
    call.fail(common_errors::invalid_body);
    return std::nullopt;
  }
  rapidjson::Document document;
  // Iterative parsing: no recursion on hostile input; strict UTF-8 because the
  // strings end up in XML stanzas.
  document.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag>(
      body.data(), body.size());
  if (document.HasParseError() || !document.IsObject()) {
    call.fail(common_errors::invalid_body);
    return std::nullopt;
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

std::string as_given(const rapidjson::Value& value) {
  if (value.IsString()) {
    return std::string(value.GetString(), value.GetStringLength());
  }
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::optional<Paging> parse_paging(Call& call, std::size_t max_limit, std::string_view archive) {
  auto pairs = parse_query(call.request().query);
  if (!pairs) {
    call.fail(paging_errors::invalid_query);
    return std::nullopt;
  }
  std::optional<std::string> limit_text;
  std::optional<std::string> before_text;
  std::optional<std::string> after_text;
  for (auto& [key, value] : *pairs) {
    // A repeated key keeps its last value, as MongooseIM's query parsing does.
    if (key == "limit") {
      limit_text = std::move(value);
    } else if (key == "before") {
      before_text = std::move(value);
    } else if (key == "after") {
      after_text = std::move(value);
    } else {
      call.fail(paging_errors::invalid_query);
      return std::nullopt;
    }
  }
  Paging page;
  if (limit_text) {
    auto limit = parse_unsigned_saturating(*limit_text);
    if (!limit || *limit > max_limit) {
      call.fail(paging_errors::invalid_limit);
      return std::nullopt;
    }
    page.limit = static_cast<std::size_t>(*limit);
  }
  ArchiveCursors& cursors = CallInternals::state(call).cursors;
  const std::string reader = call.user().bare_string();
  if (before_text) {
    auto before_ms = parse_signed_saturating(*before_text);
    if (!before_ms) {
      call.fail(paging_errors::invalid_before);
      return std::nullopt;
    }
    page.before_us = saturating_ms_to_us(*before_ms);
    page.before_id = cursors.find(reader, archive, ArchiveCursors::End::oldest, *before_ms);
  }
  if (after_text) {
    auto after_ms = parse_signed_saturating(*after_text);
    if (!after_ms) {
      call.fail(paging_errors::invalid_after);
      return std::nullopt;
    }
    // Strictly newer than `after` milliseconds: past its last microsecond.
    std::int64_t after_us = saturating_ms_to_us(*after_ms);
    page.after_us = after_us > std::numeric_limits<std::int64_t>::max() - 999
                        ? std::numeric_limits<std::int64_t>::max()
                        : after_us + 999;
    page.after_id = cursors.find(reader, archive, ArchiveCursors::End::newest, *after_ms);
  }
  return page;
}

void remember_page(Call& call, std::string_view archive,
                   const std::vector<ArchivedMessage>& messages) {
  if (messages.empty()) {
    return;
  }
  ArchiveCursors& cursors = CallInternals::state(call).cursors;
  const std::string reader = call.user().bare_string();
  // As the JSON of the messages shows their timestamps (archive_json_cache).
  auto ms = [](std::int64_t us) { return us / 1000; };
  cursors.remember(reader, archive, ArchiveCursors::End::oldest, ms(messages.front().timestamp_us),
                   messages.front().archive_id);
  cursors.remember(reader, archive, ArchiveCursors::End::newest, ms(messages.back().timestamp_us),
                   messages.back().archive_id);
}

}  // namespace mimrest::detail
