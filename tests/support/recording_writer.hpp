// Recording sinks shared by the unit tests: one for stanzas a backend
// delivers to a session, one for the bytes an SseStream writes.
#pragma once

#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mimrest/backend/sessions.hpp"
#include "mimrest/sse.hpp"

namespace mimrest::test {

/// A StanzaSink that keeps every delivered stanza; safe to deliver to from
/// any thread.
class RecordingSink final : public StanzaSink {
 public:
  void deliver(std::string_view stanza_xml) override {
    std::lock_guard lock(mutex_);
    stanzas_.emplace_back(stanza_xml);
  }
  /// Everything delivered so far.
  std::vector<std::string> stanzas() const {
    std::lock_guard lock(mutex_);
    return stanzas_;
  }
  /// Everything delivered since the last take().
  std::vector<std::string> take() {
    std::lock_guard lock(mutex_);
    return std::exchange(stanzas_, {});
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> stanzas_;
};

/// Collects what an SseStream writes, as an adapter would send it.
class RecordingWriter {
 public:
  /// A writer appending to this recorder; the recorder must outlive it.
  SseStream::Writer writer() {
    return [this](std::string_view data) {
      std::lock_guard lock(mutex_);
      bytes_ += data;
    };
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
