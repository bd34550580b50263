// XMPP date and time profiles (XEP-0082): the `stamp` of a delayed delivery
// (XEP-0203) and the `start`/`end` of an archive query (XEP-0313), to and
// from microseconds since the epoch.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/detail/test_export.hpp"

namespace mimrest::xmpp {

/// "CCYY-MM-DDThh:mm:ss[.sss...](Z|(+|-)hh:mm)" as microseconds since the
/// epoch (UTC); digits of a fraction past the sixth are dropped. nullopt for
/// anything else.
MIMREST_TEST_EXPORT std::optional<std::int64_t> parse_datetime_us(std::string_view text);

/// "CCYY-MM-DDThh:mm:ss.ffffffZ" (UTC, microseconds).
MIMREST_TEST_EXPORT std::string format_datetime_us(std::int64_t us);

}  // namespace mimrest::xmpp
