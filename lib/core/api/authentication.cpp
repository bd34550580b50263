// Authentication: Basic against the host's verifier, Bearer against the token
// store. Every failure answers the same 401, whatever went wrong; failed
// attempts count towards the throttle, which refuses further attempts with
// 429 without checking them.
#include "core/api/authentication.hpp"

#include <string>
#include <utility>

#include "core/api/query.hpp"
#include "core/detail/json_writer.hpp"
#include "core/detail/text.hpp"
#include "mimrest/basic_auth.hpp"
#include "mimrest/bearer_token.hpp"

namespace mimrest::detail {

namespace {

// The token in `access_token` of the query, when there is exactly one.
std::optional<std::string> query_token(const Request& request) {
  auto pairs = parse_query(request.query);
  if (!pairs) {
    return std::nullopt;
  }
  std::optional<std::string> token;
  for (auto& [key, value] : *pairs) {
    if (key == "access_token") {
      if (token) {
        return std::nullopt;
      }
      token = std::move(value);
    }
  }
  return token;
}

void authenticate_bearer(const CallPtr& call, std::string token, std::function<void()> next) {
  Api::State& state = CallInternals::state(*call);
  const std::string& address = call->request().remote_address;
  const std::int64_t now = state.now_us();
  if (auto wait = state.throttle.blocked({}, address, now)) {
    answer_throttled(*call, *wait);
    return;
  }
  if (!is_bearer_token_shaped(token)) {
    state.throttle.record_failure({}, address, now);
    answer_unauthorized(*call);
    return;
  }
  call->await<TokenLookupResult>(
      [&](const Backend& backend, auto done) {
        backend.tokens->async_find(bearer_token_hash(token), now, done);
      },
      [call, next = std::move(next), now](std::optional<TokenRecord> record) {
        if (!record || record->kind != TokenKind::access || record->expires_us <= now) {
          CallInternals::state(*call).throttle.record_failure({}, call->request().remote_address,
                                                              now);
          answer_unauthorized(*call);
          return;
        }
        CallInternals::set_user(*call, record->user.bare());
        next();
      });
}

void authenticate_basic(const CallPtr& call, std::optional<std::string_view> header,
                        std::function<void()> next) {
  Api::State& state = CallInternals::state(*call);
  const std::string& address = call->request().remote_address;
  const std::int64_t now = state.now_us();
  std::optional<BasicCredentials> credentials;
  if (header) {
    credentials = parse_basic_authorization(*header);
  }
  std::string account = credentials ? credentials->user.bare_string() : std::string();
  if (auto wait = state.throttle.blocked(account, address, now)) {
    answer_throttled(*call, *wait);
    return;
  }
  if (!credentials) {
    state.throttle.record_failure(account, address, now);
    answer_unauthorized(*call);
    return;
  }
  call->await<LoginResult>(
      [&](const Backend& backend, auto done) {
        backend.passwords->async_login(credentials->user, credentials->password, done);
      },
      [call, next = std::move(next), user = credentials->user,
       account = std::move(account)](Login login) {
        Api::State& s = CallInternals::state(*call);
        const std::string& from = call->request().remote_address;
        if (!login.accepted) {
          s.throttle.record_failure(account, from, s.now_us());
          answer_unauthorized(*call);
          return;
        }
        s.throttle.record_success(account, from);
        CallInternals::set_user(*call, Caller(user, std::move(login.state)));
        next();
      });
}

}  // namespace

void answer_throttled(Call& call, std::chrono::seconds retry_after) {
  Response response =
      error_response(call.config(), common_errors::throttled.status, common_errors::throttled.text);
  response.headers.set("Retry-After", std::to_string(retry_after.count()));
  call.respond(std::move(response));
}

void answer_unauthorized(Call& call) {
  const ApiConfig& config = call.config();
  Response response;
  response.status = 401;
  response.headers.add("WWW-Authenticate", "Basic realm=\"" + config.realm + "\"");
  if (config.tokens.enabled && call.has(&Backend::tokens)) {
    response.headers.add("WWW-Authenticate",
                         "Bearer realm=\"" + config.realm + "\", error=\"invalid_token\"");
  }
  call.respond(std::move(response));
}

void authenticate(const CallPtr& call, std::function<void()> next) {
  const Api::State& state = CallInternals::state(*call);
  const Request& request = call->request();
  auto header = request.headers.get("Authorization");
  const bool tokens = state.config.tokens.enabled && state.backend.tokens != nullptr;
  if (tokens) {
    if (header) {
      std::string_view value = trim(*header);
      constexpr std::string_view scheme = "bearer";
      if (value.size() >= scheme.size() && iequals(value.substr(0, scheme.size()), scheme) &&
          (value.size() == scheme.size() || value[scheme.size()] == ' ')) {
        auto token = parse_bearer_authorization(value);
        authenticate_bearer(call, token ? std::string(*token) : std::string(), std::move(next));
        return;
      }
    } else if (CallInternals::operation(*call)->accepts_token_in_query()) {
      if (auto token = query_token(request)) {
        authenticate_bearer(call, std::move(*token), std::move(next));
        return;
      }
    }
  }
  authenticate_basic(call, header, std::move(next));
}

}  // namespace mimrest::detail
