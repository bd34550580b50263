// Internal: one request in flight. A handler receives it once routing,
// authentication and the common checks have passed, starts backend
// operations through it and answers through it, now or from a completion.
#pragma once

#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <rapidjson/document.h>

#include "core/api/route_group.hpp"
#include "core/api/state.hpp"
#include "mimrest/api.hpp"
#include "mimrest/backend/failure.hpp"
#include "mimrest/completion.hpp"
#include "mimrest/expected.hpp"
#include "mimrest/http.hpp"
#include "mimrest/jid.hpp"
#include "mimrest/stanza_json.hpp"

namespace mimrest::detail {

namespace call_detail {
// The parameter type of a one-argument callable (a lambda).
template <class F>
struct argument_of : argument_of<decltype(&F::operator())> {};
template <class C, class R, class A>
struct argument_of<R (C::*)(A) const> {
  using type = std::decay_t<A>;
};
template <class C, class R, class A>
struct argument_of<R (C::*)(A)> {
  using type = std::decay_t<A>;
};
}  // namespace call_detail

class Call : public std::enable_shared_from_this<Call> {
 public:
  Call(std::shared_ptr<Api::State> state, Request request, Responder responder);

  const Request& request() const noexcept { return request_; }
  const ApiConfig& config() const noexcept { return state_->config; }
  Api::State& state() const noexcept { return *state_; }
  /// The authenticated bare JID (operations with Access::user only).
  const Jid& user() const { return user_.value(); }
  /// A named path parameter, percent-decoded; nullopt when the matched path
  /// has no such parameter.
  std::optional<std::string_view> param(std::string_view name) const;

  /// Answers (the first answer only): adds CORS and the common headers.
  void respond(Response response);
  void respond_json(int status, std::string json);
  void respond_empty(int status);
  /// Status and {"id": id}.
  void respond_id(int status, std::string_view id);
  /// An error with a fixed message.
  void fail(const ApiError& error);
  /// An error whose message is error.text followed by `value`.
  void fail(const ApiError& error, std::string_view value);
  void fail(Failure failure);

  /// Runs `start(backend)` unless the Api is being destroyed (then answers
  /// 503): the only way a handler reaches the backend. An exception thrown
  /// by `start` answers 500.
  template <class Start>
  void with_backend(Start&& start) {
    auto& liveness = state_->liveness;
    if (!liveness.enter()) {
      fail(Failure::unavailable);
      return;
    }
    struct Leave {
      Liveness& l;
      ~Leave() { l.leave(); }
    } leave{liveness};
    try {
      start(state_->backend);
    } catch (...) {
      fail(Failure::internal);
    }
  }

  /// A completion that runs `next(result)` for this request. If the backend
  /// drops it uncalled, or `next` throws, the request answers 500.
  template <class Next>
  Completion<typename call_detail::argument_of<Next>::type> then(Next next) {
    using Result = typename call_detail::argument_of<Next>::type;
    auto self = shared_from_this();
    return Completion<Result>(
        [self, next = std::move(next)](Result result) mutable {
          try {
            next(std::move(result));
          } catch (...) {
            self->fail(Failure::internal);
          }
        },
        [self] { self->fail(Failure::internal); });
  }

  // Set by the router and the authentication step.
  void set_route(const CompiledRoute* route, const Operation* operation,
                 std::vector<std::pair<std::string_view, std::string>> params);
  void set_user(Jid user) { user_ = std::move(user); }
  const CompiledRoute* route() const noexcept { return route_; }
  const Operation* operation() const noexcept { return operation_; }

 private:
  std::shared_ptr<Api::State> state_;
  Request request_;
  Responder responder_;
  const CompiledRoute* route_ = nullptr;
  const Operation* operation_ = nullptr;
  std::vector<std::pair<std::string_view, std::string>> params_;
  std::optional<Jid> user_;
};

// --- What handlers share for reading requests and writing answers. ---

/// The request body parsed as a JSON OBJECT within config.max_json_depth;
/// nullopt after answering 400 "Invalid request body".
std::optional<rapidjson::Document> parse_json_object(Call& call);

/// A member of a JSON object, whatever its type; nullptr when absent or when
/// `object` is not an object.
const rapidjson::Value* find_member(const rapidjson::Value& object, std::string_view name);

/// A string member of a JSON object, if present and a string.
std::optional<std::string_view> string_member(const rapidjson::Value& object,
                                              std::string_view name);

/// A JSON value as a client gave it, for error messages: a string as it is,
/// anything else as its JSON text.
std::string as_given(const rapidjson::Value& value);

struct Paging {
  std::size_t limit = 50;
  std::optional<std::int64_t> before_us;  ///< `before` (ms) in microseconds
  std::optional<std::int64_t> after_us;   ///< `after` (ms) in microseconds
};

/// Parses a query string that may carry only `limit` (0..max_limit, default
/// 50), `before` and `after` (integer ms); nullopt after answering 400
/// "Invalid query string", "Invalid limit", "Invalid value of 'before'" or
/// "Invalid value of 'after'".
std::optional<Paging> parse_paging(Call& call, std::size_t max_limit);

namespace paging_errors {
inline constexpr ApiError invalid_query{400, "Invalid query string"};
inline constexpr ApiError invalid_limit{400, "Invalid limit"};
inline constexpr ApiError invalid_before{400, "Invalid value of 'before'"};
inline constexpr ApiError invalid_after{400, "Invalid value of 'after'"};
}  // namespace paging_errors

/// The paging parameters' documentation.
inline constexpr ParamDoc kLimitDoc{"limit", "query", "integer",
                                    "At most this many messages (default 50)"};
inline constexpr ParamDoc kBeforeDoc{
    "before", "query", "integer",
    "Only messages strictly older than this time (milliseconds since the epoch)"};
inline constexpr ParamDoc kAfterDoc{
    "after", "query", "integer",
    "Only messages strictly newer than this time (milliseconds since the epoch); then the "
    "OLDEST `limit` of them (forward paging)"};

}  // namespace mimrest::detail
