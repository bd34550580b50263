// The answers of one HTTP session in request order: pipelined requests are
// read ahead up to a bound, and each answer goes out once those before it
// have.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mimrest/http.hpp"
#include "mimrest/serving.hpp"
#include "mimrest/sse.hpp"

namespace mimrest::beast::detail {

/// One request in arrival order, and its answer once the core gave it.
struct Answer {
  std::uint64_t request = 0;
  std::optional<ServingGate::Ticket> ticket;  ///< held until the answer is out
  bool ready = false;                         ///< head (and body) are set
  bool close = false;                         ///< the connection ends after this answer
  bool keep_alive = true;                     ///< as the request asked
  bool head_only = false;                     ///< a HEAD request: no body on the wire
  unsigned version = 11;                      ///< of the request
  std::string head;
  std::string body;
  std::shared_ptr<SseStream> stream;  ///< an event stream's answer: its head only
};

class AnswerQueue {
 public:
  /// Requests read ahead of their answers; beyond, reading pauses.
  static constexpr std::size_t capacity = 16;

  AnswerQueue() = default;
  AnswerQueue(const AnswerQueue&) = delete;
  AnswerQueue& operator=(const AnswerQueue&) = delete;
  ~AnswerQueue() { clear(); }

  bool empty() const noexcept { return answers_.empty(); }
  bool full() const noexcept { return answers_.size() >= capacity; }
  /// Places given so far (requests and interim answers).
  std::uint64_t requests() const noexcept { return next_; }

  /// A place for the answer to the next request (valid until the next push).
  Answer& push(std::optional<ServingGate::Ticket> ticket);
  /// An interim answer ready at once ("100 Continue").
  void push_interim(std::string_view head);
  /// The place of `request`, or nullptr when it is gone.
  Answer* find(std::uint64_t request);
  /// The first answer when it is ready to go out, else nullptr.
  Answer* ready_front();
  /// Takes the first answer off (it is out).
  Answer pop();
  /// Drops every answer; event streams among them are closed.
  void clear();

  /// Sets `answer` from `response`: head and body for the wire.
  static void fill(Answer& answer, Response response);
  /// Sets `answer` as the head of `stream`'s event stream.
  static void fill_stream(Answer& answer, const Response& response,
                          std::shared_ptr<SseStream> stream);

 private:
  std::vector<Answer> answers_;  // a few at most: erasing the first is cheap
  std::uint64_t next_ = 0;
};

}  // namespace mimrest::beast::detail
