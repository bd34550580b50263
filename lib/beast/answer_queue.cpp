// The answers of one HTTP session in request order.
#include "beast/answer_queue.hpp"

#include <utility>

#include "beast/wire.hpp"

namespace mimrest::beast::detail {

Answer& AnswerQueue::push(std::optional<ServingGate::Ticket> ticket) {
  Answer& answer = answers_.emplace_back();
  answer.request = next_++;
  answer.ticket = std::move(ticket);
  return answer;
}

void AnswerQueue::push_interim(std::string_view head) {
  Answer& answer = answers_.emplace_back();
  answer.request = next_++;
  answer.ready = true;
  answer.head = std::string(head);
}

Answer* AnswerQueue::find(std::uint64_t request) {
  for (auto& answer : answers_) {
    if (answer.request == request) {
      return &answer;
    }
  }
  return nullptr;
}

Answer* AnswerQueue::ready_front() {
  if (answers_.empty() || !answers_.front().ready) {
    return nullptr;
  }
  return &answers_.front();
}

Answer AnswerQueue::pop() {
  Answer answer = std::move(answers_.front());
  answers_.erase(answers_.begin());
  return answer;
}

void AnswerQueue::clear() {
  std::vector<Answer> answers;
  answers.swap(answers_);
  for (auto& answer : answers) {
    if (answer.stream) {
      answer.stream->close();
    }
  }
}

void AnswerQueue::fill(Answer& answer, Response response) {
  HeadOptions head;
  head.content_length = response.body.size();
  head.close = answer.close || !answer.keep_alive;
  head.keep_alive_10 = !head.close && answer.version < 11;
  answer.close = head.close;
  answer.head = response_head(response, head);
  if (!answer.head_only) {
    answer.body = std::move(response.body);
  }
  answer.ready = true;
}

void AnswerQueue::fill_stream(Answer& answer, const Response& response,
                              std::shared_ptr<SseStream> stream) {
  HeadOptions head;
  head.framing = answer.version >= 11 ? Framing::chunked : Framing::close;
  answer.head = response_head(response, head);
  answer.stream = std::move(stream);
  answer.ready = true;
}

}  // namespace mimrest::beast::detail
