// Internal: the bounds of an archive page for the ready-made backends, whose
// archive ids are their rows' unique timestamps in decimal, so that a bound
// by a message is a bound on timestamps.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace mimrest::detail {

/// The timestamp `id` names, or `time` when there is no id or it is not one
/// of ours.
inline std::optional<std::int64_t> bound_of(const std::optional<std::string>& id,
                                            std::optional<std::int64_t> time) {
  // 18 digits cannot overflow an int64; microseconds since 1970 have 16.
  if (!id || id->empty() || id->size() > 18) {
    return time;
  }
  std::int64_t value = 0;
  for (char c : *id) {
    if (c < '0' || c > '9') {
      return time;
    }
    value = value * 10 + (c - '0');
  }
  return value;
}

/// Only rows strictly older than this (microseconds), if bounded: of an
/// ArchiveQuery or a RoomArchiveQuery.
template <class Query>
std::optional<std::int64_t> upper_bound_us(const Query& query) {
  return bound_of(query.before_id, query.before_us);
}

/// Only rows strictly newer than this (microseconds), if bounded.
template <class Query>
std::optional<std::int64_t> lower_bound_us(const Query& query) {
  return bound_of(query.after_id, query.after_us);
}

}  // namespace mimrest::detail
