// The tokens group (when tokens are enabled): POST /tokens, POST
// /tokens/refresh and DELETE /tokens. Tokens are random; the store keeps
// their SHA-256 only.
#include <string>
#include <utility>
#include <vector>

#include "core/api/authentication.hpp"
#include "core/api/call.hpp"
#include "core/detail/json_writer.hpp"
#include "mimrest/bearer_token.hpp"
#include "mimrest/crypto.hpp"

namespace mimrest::detail {

namespace {

constexpr ApiError kMissingRefreshToken{400, "Missing refresh token"};

std::int64_t seconds_to_us(std::chrono::seconds seconds) {
  return std::chrono::duration_cast<std::chrono::microseconds>(seconds).count();
}

/// A fresh access and refresh token of `family`, the records to store, and
/// the answer's body.
struct TokenPair {
  std::vector<TokenRecord> records;
  std::string body;
};

TokenPair make_pair(const Call& call, const Jid& user, const std::string& family) {
  const TokenConfig& config = call.config().tokens;
  const std::int64_t now = call.now_us();
  std::string access = make_bearer_token();
  std::string refresh = make_bearer_token();
  TokenPair pair;
  pair.records.push_back(TokenRecord{bearer_token_hash(access), user, family, TokenKind::access,
                                     now + seconds_to_us(config.access_ttl)});
  pair.records.push_back(TokenRecord{bearer_token_hash(refresh), user, family, TokenKind::refresh,
                                     now + seconds_to_us(config.refresh_ttl)});
  pair.body = JsonWriter()
                  .begin_object()
                  .member("access_token", access)
                  .member("refresh_token", refresh)
                  .member("token_type", "Bearer")
                  .key("expires_in")
                  .integer(config.access_ttl.count())
                  .end_object()
                  .take();
  return pair;
}

void answer_tokens(const CallPtr& call, std::string body) {
  Response response;
  response.status = 200;
  response.headers.set("Content-Type", "application/json");
  // Tokens are credentials: no cache may keep them.
  response.headers.set("Cache-Control", "no-store");
  response.body = std::move(body);
  call->respond(std::move(response));
}

void post_tokens(const CallPtr& call) {
  auto pair = make_pair(*call, call->user(), random_uuid());
  call->await<TokenChangeResult>(
      [&](const Backend& backend, auto done) {
        backend.tokens->async_issue(pair.records, call->now_us(), done);
      },
      [call, body = std::move(pair.body)] { answer_tokens(call, body); });
}

void refresh_tokens(const CallPtr& call) {
  auto document = parse_json_object(*call);
  if (!document) {
    return;
  }
  auto token = string_member(*document, "refresh_token");
  if (!token) {
    call->fail(kMissingRefreshToken);
    return;
  }
  LoginThrottle& throttle = CallInternals::state(*call).throttle;
  const std::string& address = call->request().remote_address;
  const std::int64_t now = call->now_us();
  if (auto wait = throttle.blocked({}, address, now)) {
    answer_throttled(*call, *wait);
    return;
  }
  if (!is_bearer_token_shaped(*token)) {
    throttle.record_failure({}, address, now);
    answer_unauthorized(*call);
    return;
  }
  std::string hash = bearer_token_hash(*token);
  // The new pair belongs to the old one's user and family: look it up first.
  // A spent refresh token is not found; rotating it anyway is what tells a
  // replay (which revokes the family) from an unknown token.
  call->await<TokenLookupResult>(
      [&](const Backend& backend, auto done) { backend.tokens->async_find(hash, now, done); },
      [call, hash](const std::optional<TokenRecord>& found) {
        std::optional<TokenPair> pair;
        if (found && found->kind == TokenKind::refresh) {
          pair = make_pair(*call, found->user, found->family);
        }
        call->await<RotateResult>(
            [&](const Backend& backend, auto done) {
              backend.tokens->async_rotate(hash, pair ? pair->records : std::vector<TokenRecord>{},
                                           call->now_us(), done);
            },
            [call, pair](RotateOutcome rotated) {
              if (rotated != RotateOutcome::rotated || !pair) {
                CallInternals::state(*call).throttle.record_failure(
                    {}, call->request().remote_address, call->now_us());
                answer_unauthorized(*call);
                return;
              }
              answer_tokens(call, pair->body);
            });
      });
}

void delete_tokens(const CallPtr& call) {
  call->await<TokenChangeResult>(
      [&](const Backend& backend, auto done) {
        backend.tokens->async_revoke_user(call->user(), done);
      },
      [call] { call->respond_empty(204); });
}

RouteGroup declare() {
  constexpr std::string_view kTokenPair =
      R"({"type":"object","required":["access_token","refresh_token","token_type","expires_in"],)"
      R"("properties":{"access_token":{"type":"string"},"refresh_token":{"type":"string"},)"
      R"("token_type":{"type":"string","enum":["Bearer"]},"expires_in":{"type":"integer",)"
      R"("description":"seconds until the access token expires"}}})";
  RouteGroup group("tokens");
  group.always_on()
      .needs([](const ApiConfig& config, const Backend&) { return config.tokens.enabled; })
      .needs(&Backend::tokens);
  group.post("/tokens", post_tokens)
      .summary("Get an access and a refresh token")
      .returns(200, "A token pair", kTokenPair);
  group.del("/tokens", delete_tokens)
      .summary("Revoke every token of the user")
      .returns(204, "Revoked");
  group.post("/tokens/refresh", refresh_tokens)
      .summary(
          "Exchange a refresh token for a new pair (the old one is spent; presenting a spent "
          "one again revokes every token descended from the same POST /tokens). Answers 401 "
          "for any token that is not a live refresh token.")
      .body(R"({"type":"object","required":["refresh_token"],"properties":{"refresh_token":{)"
            R"("type":"string"}}})")
      .returns(200, "A new token pair", kTokenPair)
      .errors({&common_errors::invalid_body, &kMissingRefreshToken})
      .access(Access::refresh_token);
  return group;
}

}  // namespace

const RouteGroup& tokens_group() {
  static const RouteGroup group = declare();
  return group;
}

}  // namespace mimrest::detail
