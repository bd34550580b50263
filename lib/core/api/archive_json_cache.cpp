#include "core/api/archive_json_cache.hpp"

#include <functional>
#include <optional>

#include "core/detail/json_writer.hpp"

namespace mimrest::detail {
namespace {

// What an entry costs beyond its two texts: list and hash nodes, the shared
// string's control block.
constexpr std::size_t entry_overhead_bytes = 192;

std::size_t hash_of(std::string_view stanza_xml, std::int64_t timestamp_ms,
                    MessageEncoding encoding) noexcept {
  std::size_t hash = std::hash<std::string_view>{}(stanza_xml);
  hash ^=
      std::hash<std::int64_t>{}(timestamp_ms) + 0x9e3779b97f4a7c15ULL + (hash << 6) + (hash >> 2);
  return hash ^ static_cast<std::size_t>(encoding);
}

std::shared_ptr<const std::string> convert(std::string_view stanza_xml, std::int64_t timestamp_ms,
                                           MessageEncoding encoding) {
  JsonOptions options;
  options.encoding = encoding;
  options.timestamp = timestamp_ms;
  auto json = message_to_json(stanza_xml, options);
  if (!json) {
    return nullptr;  // a row the host stored that is not a message stanza
  }
  return std::make_shared<const std::string>(std::move(*json));
}

}  // namespace

std::string ArchiveJsonCache::array_json(const std::vector<ArchivedMessage>& messages,
                                         MessageEncoding encoding) {
  std::vector<Key> keys;
  keys.reserve(messages.size());
  for (const auto& message : messages) {
    const std::int64_t timestamp_ms = message.timestamp_us / 1000;
    const std::size_t hash =
        max_bytes_ > 0 ? hash_of(message.stanza_xml, timestamp_ms, encoding) : 0;
    keys.push_back(Key{message.stanza_xml, timestamp_ms, encoding, hash});
  }

  std::vector<std::optional<Json>> rows(messages.size());
  if (max_bytes_ > 0) {
    std::lock_guard<std::mutex> lock(mutex_);
    for (std::size_t i = 0; i < keys.size(); ++i) {
      if (const auto found = index_.find(keys[i]); found != index_.end()) {
        rows[i] = found->second->json;
        order_.splice(order_.end(), order_, found->second);
      }
    }
  }
  // Conversions run outside the lock.
  std::vector<std::size_t> converted;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (!rows[i]) {
      rows[i] = convert(keys[i].stanza_xml, keys[i].timestamp_ms, encoding);
      converted.push_back(i);
    }
  }
  if (max_bytes_ > 0 && !converted.empty()) {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const std::size_t i : converted) {
      insert(keys[i], *rows[i]);
    }
  }

  JsonWriter writer;
  writer.begin_array();
  for (const auto& row : rows) {
    if (*row) {
      writer.raw(**row);
    }
  }
  writer.end_array();
  return writer.take();
}

void ArchiveJsonCache::insert(const Key& key, const Json& json) {
  const std::size_t bytes =
      key.stanza_xml.size() + (json ? json->size() : 0) + entry_overhead_bytes;
  if (bytes > max_bytes_ / 16 || index_.count(key) != 0) {
    return;  // too large to keep, or another request stored it meanwhile
  }
  order_.push_back(Entry{std::string(key.stanza_xml), key, json, bytes});
  Entry& entry = order_.back();
  entry.key.stanza_xml = entry.stanza_xml;
  index_.emplace(entry.key, std::prev(order_.end()));
  bytes_ += bytes;
  while (bytes_ > max_bytes_ && !order_.empty()) {
    const Entry& oldest = order_.front();
    bytes_ -= oldest.bytes;
    index_.erase(oldest.key);
    order_.pop_front();
  }
}

std::size_t ArchiveJsonCache::bytes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return bytes_;
}

}  // namespace mimrest::detail
