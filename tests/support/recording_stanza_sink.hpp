// A StanzaSink for the unit tests that keeps every stanza a backend delivers
// to a session.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "mimrest/backend/sessions.hpp"

namespace mimrest::test {

/// Keeps every delivered stanza (the shared RoutedStanza itself, so tests can
/// see its sequence and whether sinks got the same object); safe to deliver
/// to from any thread.
class RecordingStanzaSink final : public StanzaSink {
 public:
  void deliver(const RoutedStanzaPtr& stanza) override {
    std::lock_guard lock(mutex_);
    delivered_.push_back(stanza);
  }
  /// The XML of everything delivered so far.
  std::vector<std::string> stanzas() const {
    std::lock_guard lock(mutex_);
    std::vector<std::string> xml;
    xml.reserve(delivered_.size());
    for (const auto& stanza : delivered_) {
      xml.push_back(stanza->xml());
    }
    return xml;
  }
  /// The sequences of everything delivered so far, in delivery order.
  std::vector<std::uint64_t> sequences() const {
    std::lock_guard lock(mutex_);
    std::vector<std::uint64_t> result;
    result.reserve(delivered_.size());
    for (const auto& stanza : delivered_) {
      result.push_back(stanza->sequence());
    }
    return result;
  }
  /// Everything delivered so far, as delivered.
  std::vector<RoutedStanzaPtr> routed() const {
    std::lock_guard lock(mutex_);
    return delivered_;
  }
  /// The XML of everything delivered since the last take() or take_routed().
  std::vector<std::string> take() {
    std::vector<std::string> xml;
    for (const auto& stanza : take_routed()) {
      xml.push_back(stanza->xml());
    }
    return xml;
  }
  /// Everything delivered since the last take() or take_routed().
  std::vector<RoutedStanzaPtr> take_routed() {
    std::lock_guard lock(mutex_);
    return std::exchange(delivered_, {});
  }

 private:
  mutable std::mutex mutex_;
  std::vector<RoutedStanzaPtr> delivered_;
};

}  // namespace mimrest::test
