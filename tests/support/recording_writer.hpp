// What the unit tests use as an SSE transport: a recorder of the bytes an
// SseStream produces.
#pragma once

#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mimrest/sse.hpp"

namespace mimrest::test {

/// Serves an SseStream as a transport would: takes its bytes whenever it
/// wakes, and keeps them.
class RecordingWriter {
 public:
  /// Starts `stream` with this recorder as its transport; the stream must
  /// outlive the recorder's use and the recorder the stream.
  void attach(SseStream& stream) {
    SseStream::Transport transport;
    transport.wake = [this, &stream] {
      std::lock_guard lock(mutex_);
      bytes_ += stream.take();
    };
    stream.start(std::move(transport));
  }
  /// Everything written so far.
  std::string text() const {
    std::lock_guard lock(mutex_);
    return bytes_;
  }

 private:
  mutable std::mutex mutex_;
  std::string bytes_;
};

}  // namespace mimrest::test
