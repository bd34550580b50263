// The request path's two measured shortcuts (commit 7b4958e: syscalls per
// request at one connection 10.7 -> 7.8, as Beast's own hello-world):
//
// 1. An answer the core gives inline, inside the call that hands it the
//    request (a backend that completes at once), is taken over when that call
//    returns instead of being posted to the session's strand: no queueing,
//    and no wake-up of another I/O thread to run it.
// 2. A plain TCP answer the socket takes whole is written at once, with one
//    non-blocking write_some: no asynchronous operation and no completion to
//    queue (which would also wake another I/O thread to run it).
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/buffer.hpp>
#include <boost/system/error_code.hpp>

#include "mimrest/http.hpp"

namespace mimrest::beast::detail {

/// One per session; used on the session's strand, except offer(), which any
/// thread may call.
class FastPath {
 public:
  /// An answer the core gave inline, and the request it answers.
  struct Inline {
    std::uint64_t request;
    Response response;
  };

  /// Runs `call` (which hands a request to the core) and returns the answers
  /// that offer() took meanwhile, in the order the core gave them.
  template <class Call>
  std::vector<Inline> dispatch(Call&& call) {
    {
      Scope scope(this);
      std::forward<Call>(call)();
    }
    return std::exchange(taken_, {});
  }

  /// From a Responder, on any thread: takes `response` (moved from) when the
  /// core gives it inside dispatch() of this FastPath on this very thread;
  /// false otherwise (post it to the strand).
  bool offer(std::uint64_t request, Response& response) {
    if (t_dispatching != this) {
      return false;
    }
    taken_.push_back(Inline{request, std::move(response)});
    return true;
  }

  enum class Written {
    all,      ///< the socket took every byte
    partial,  ///< `head` and `body` hold what is left: write it asynchronously
    none,     ///< nothing (a full socket, or an error the asynchronous write meets again)
  };

  /// Writes `head` then `body` with one write_some on `socket`, which must be
  /// non-blocking. What the socket took is erased from them.
  template <class Socket>
  static Written write_at_once(Socket& socket, std::string& head, std::string& body) {
    std::array<boost::asio::const_buffer, 2> buffers{boost::asio::buffer(head),
                                                     boost::asio::buffer(body)};
    boost::system::error_code ec;
    const std::size_t written = socket.write_some(buffers, ec);
    if (ec) {
      return Written::none;
    }
    if (written == head.size() + body.size()) {
      head.clear();
      body.clear();
      return Written::all;
    }
    const std::size_t from_head = std::min(written, head.size());
    head.erase(0, from_head);
    body.erase(0, written - from_head);
    return Written::partial;
  }

 private:
  /// Marks this FastPath as dispatching on this thread (nested calls into
  /// another session's core call restore the outer one).
  class Scope {
   public:
    explicit Scope(const FastPath* path) : outer_(t_dispatching) { t_dispatching = path; }
    ~Scope() { t_dispatching = outer_; }
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    const FastPath* outer_;
  };

  static inline thread_local const FastPath* t_dispatching = nullptr;
  std::vector<Inline> taken_;
};

}  // namespace mimrest::beast::detail
