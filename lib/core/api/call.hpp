// Internal: one request in flight, as its handler sees it. A handler
// receives it once routing, authentication and the common checks have
// passed; it reads the request, awaits backend operations and answers
// through it, now or from a completion. What it may touch is exactly what
// is public here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
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
#include "mimrest/backend/caller.hpp"
#include "mimrest/backend/error.hpp"
#include "mimrest/completion.hpp"
#include "mimrest/expected.hpp"
#include "mimrest/http.hpp"
#include "mimrest/jid.hpp"
#include "mimrest/stanza_json.hpp"

namespace mimrest::detail {

/// The one function that builds an error answer: the status, the message as
/// a JSON string, and the headers every answer carries.
Response error_response(const ApiConfig& config, int status, std::string_view message);

namespace call_detail {
// The error type of an Expected result.
template <class Result>
struct error_of {
  using type = std::decay_t<decltype(std::declval<const Result&>().error())>;
};
template <class E>
struct is_domain_error : std::false_type {};
template <class Case>
struct is_domain_error<Error<Case>> : std::true_type {};
}  // namespace call_detail

class Call : public std::enable_shared_from_this<Call> {
 public:
  Call(std::shared_ptr<Api::State> state, Request request, Responder responder);

  // --- What the handler reads. ---
  const Request& request() const noexcept { return request_; }
  const ApiConfig& config() const noexcept { return state_->config; }
  /// The authenticated user, with what the login established (operations
  /// with Access::user only).
  const Caller& user() const { return user_.value(); }
  /// A named path parameter, percent-decoded; nullopt when the matched path
  /// has no such parameter.
  std::optional<std::string_view> param(std::string_view name) const;
  /// The current time (the configuration's clock).
  std::int64_t now_us() const { return state_->now_us(); }
  /// Whether the backend has a capability (for groups whose behaviour
  /// depends on an optional one).
  template <class Interface>
  bool has(Interface* Backend::*capability) const noexcept {
    return state_->backend.*capability != nullptr;
  }

  // --- How it answers (the first answer only counts). ---
  /// Adds CORS and the common headers.
  void respond(Response response);
  /// Runs `hook` once, just before the answer goes out, whatever the answer
  /// (a resource the request holds is given back before the client can ask
  /// again).
  void before_answer(std::function<void()> hook);
  void respond_json(int status, std::string json);
  void respond_empty(int status);
  /// Status and {"id": id}.
  void respond_id(int status, std::string_view id);
  /// The JSON array of archived messages, converted through the Api's cache.
  std::string archived_json(const std::vector<ArchivedMessage>& messages, MessageEncoding encoding);
  /// An error with a fixed message. In checked builds (tests, Debug) an
  /// error that the operation does not declare stops the program here, at
  /// the call site, so that the documentation cannot fall behind.
  void fail(const ApiError& error);
  /// An error whose message is error.text followed by `value`.
  void fail(const ApiError& error, std::string_view value);
  void fail(Failure failure);

  // --- How it reaches the backend. ---
  /// Starts a backend operation and continues with its value:
  ///
  ///   call->await<RosterItemsResult>(
  ///       [&](const Backend& b, auto done) { b.roster->async_items(call->user(), done); },
  ///       [call](std::vector<RosterItem> items) { ... call->respond_json(...); });
  ///
  /// `start(backend, done)` runs unless the Api is being destroyed (then the
  /// answer is 503); `on_value(value)` (no argument for a void result) runs
  /// when it succeeds. A Failure answers 500 or 503; a domain error of an
  /// Error<Case> result goes to `on_error(const Case&)`, which must answer.
  /// If the backend drops the completion, or a step throws, the answer is
  /// 500.
  template <class Result, class Start, class OnValue>
  void await(Start&& start, OnValue on_value) {
    static_assert(std::is_same_v<typename call_detail::error_of<Result>::type, Failure>,
                  "an operation with domain errors needs an on_error step");
    await<Result>(std::forward<Start>(start), std::move(on_value), [](const auto&) {});
  }
  template <class Result, class Start, class OnValue, class OnError>
  void await(Start&& start, OnValue on_value, OnError on_error) {
    auto self = shared_from_this();
    Completion<Result> done(
        [self, on_value = std::move(on_value), on_error = std::move(on_error)](Result result) {
          try {
            self->deliver(std::move(result), on_value, on_error);
          } catch (...) {
            self->fail(Failure::internal);
          }
        },
        [self] { self->fail(Failure::internal); });
    if (!with_backend([&](const Backend& backend) { start(backend, std::move(done)); })) {
      fail(Failure::unavailable);
    }
  }

 private:
  /// Runs `start(backend)` unless the Api is being destroyed (then false);
  /// an exception thrown by `start` answers 500.
  template <class Start>
  bool with_backend(Start&& start) {
    if (!state_->liveness.enter()) {
      return false;
    }
    struct Leave {
      Liveness& l;
      ~Leave() { l.leave(); }
    } leave{state_->liveness};
    try {
      start(static_cast<const Backend&>(state_->backend));
    } catch (...) {
      fail(Failure::internal);
    }
    return true;
  }

 private:
  template <class Result, class OnValue, class OnError>
  void deliver(Result&& result, const OnValue& on_value, const OnError& on_error) {
    using E = typename call_detail::error_of<Result>::type;
    if (!result) {
      if constexpr (call_detail::is_domain_error<E>::value) {
        if (const auto* domain = result.error().if_domain()) {
          on_error(*domain);
          return;
        }
        fail(result.error().failure());
      } else {
        fail(result.error());
      }
      return;
    }
    if constexpr (std::is_invocable_v<const OnValue&>) {
      on_value();
    } else {
      on_value(std::move(result).value());
    }
  }

  // The core's own steps (routing, authentication, the sse and tokens
  // groups' bookkeeping) reach further than a handler.
  friend class CallInternals;

  std::shared_ptr<Api::State> state_;
  Request request_;
  Responder responder_;
  const CompiledRoute* route_ = nullptr;
  const Operation* operation_ = nullptr;
  std::vector<std::pair<std::string_view, std::string>> params_;
  std::optional<Caller> user_;
  std::function<void()> before_answer_;
};

/// What the core's own steps use of a Call beyond a handler's view.
class CallInternals {
 public:
  static Api::State& state(Call& call) noexcept { return *call.state_; }
  static const CompiledRoute* route(const Call& call) noexcept { return call.route_; }
  static const Operation* operation(const Call& call) noexcept { return call.operation_; }
  static void set_route(Call& call, const CompiledRoute* route, const Operation* operation,
                        std::vector<std::pair<std::string_view, std::string>> params);
  static void set_user(Call& call, Caller user) { call.user_ = std::move(user); }
  /// A backend step whose failure the caller handles itself (after the
  /// answer is out): false when the Api is being destroyed.
  template <class Start>
  static bool with_backend(Call& call, Start&& start) {
    return call.with_backend(std::forward<Start>(start));
  }
};

// --- What handlers share for reading requests. ---

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

/// The page of an archive read: the bounds of ArchiveQuery.
struct Paging {
  std::size_t limit = 50;
  std::optional<std::int64_t> before_us;  ///< `before` (ms) in microseconds
  std::optional<std::int64_t> after_us;   ///< `after` (ms) in microseconds
  std::optional<std::string> before_id;   ///< the message a served page began with
  std::optional<std::string> after_id;    ///< the message a served page ended with
};

/// Parses a query string that may carry only `limit` (0..max_limit, default
/// 50), `before` and `after` (integer ms), with the ids of the messages a
/// page served earlier began or ended with at those times (ArchiveCursors);
/// nullopt after answering 400 "Invalid query string", "Invalid limit",
/// "Invalid value of 'before'" or "Invalid value of 'after'". `archive`
/// names the archive read (the user's, with whom, or a room).
std::optional<Paging> parse_paging(Call& call, std::size_t max_limit, std::string_view archive);

/// Remembers the ends of the pages served for `archive` (see parse_paging).
void remember_page(Call& call, std::string_view archive,
                   const std::vector<ArchivedMessage>& messages);

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
    "Only messages strictly older than this time (milliseconds since the epoch); the "
    "timestamp of the oldest message of a page continues right after that message"};
inline constexpr ParamDoc kAfterDoc{
    "after", "query", "integer",
    "Only messages strictly newer than this time (milliseconds since the epoch); then the "
    "OLDEST `limit` of them (forward paging)"};

}  // namespace mimrest::detail
