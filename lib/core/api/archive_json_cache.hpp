// Internal: the JSON of archived messages, remembered between requests.
// Converting a row costs an XML parse; clients read the same recent history
// again and again. The conversion is a pure function of the stanza, its
// timestamp and the encoding, so a cached row is exactly what converting it
// again would give.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/detail/test_export.hpp"
#include "mimrest/backend/archive.hpp"
#include "mimrest/stanza_json.hpp"

namespace mimrest::detail {

class MIMREST_TEST_EXPORT ArchiveJsonCache {
 public:
  /// Holds at most `max_bytes` (stanza and JSON of each row, plus
  /// bookkeeping); 0 turns it off. A row larger than a sixteenth of that is
  /// converted every time rather than pushing out everything else.
  explicit ArchiveJsonCache(std::size_t max_bytes) : max_bytes_(max_bytes) {}

  /// The JSON array of `messages` in `encoding`; rows that are not message
  /// stanzas are left out. Safe to call from many threads at once.
  std::string array_json(const std::vector<ArchivedMessage>& messages, MessageEncoding encoding);

  /// Bytes held now, by the same count as the limit.
  std::size_t bytes() const;

 private:
  // A row's converted JSON; null for a row that is not a message stanza.
  using Json = std::shared_ptr<const std::string>;

  struct Key {
    std::string_view stanza_xml;
    std::int64_t timestamp_ms;
    MessageEncoding encoding;
    std::size_t hash;  // computed before the lock is taken
  };
  struct KeyHash {
    std::size_t operator()(const Key& key) const noexcept { return key.hash; }
  };
  struct KeyEqual {
    bool operator()(const Key& a, const Key& b) const noexcept {
      return a.timestamp_ms == b.timestamp_ms && a.encoding == b.encoding &&
             a.stanza_xml == b.stanza_xml;
    }
  };
  struct Entry {
    std::string stanza_xml;  // the key's text points into it
    Key key;
    Json json;
    std::size_t bytes;
  };
  using Order = std::list<Entry>;  // least recently used first

  void insert(const Key& key, const Json& json);

  const std::size_t max_bytes_;
  mutable std::mutex mutex_;
  Order order_;
  std::unordered_map<Key, Order::iterator, KeyHash, KeyEqual> index_;
  std::size_t bytes_ = 0;
};

}  // namespace mimrest::detail
