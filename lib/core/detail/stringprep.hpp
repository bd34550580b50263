// The three stringprep profiles of XMPP addresses (RFC 3920 appendices A, B
// and RFC 3491), prepared by GNU Libidn. Text that is all ASCII, by far the
// most common, is prepared without Libidn: for ASCII every profile reduces to
// a case fold and a few prohibited characters, and a Libidn call costs about
// as much as the rest of a request's address handling.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/detail/test_export.hpp"

namespace mimrest::detail {

enum class StringprepProfile { nodeprep, nameprep, resourceprep };

/// The prepared text, or nullopt when the profile refuses it (prohibited
/// characters, bidi rules), when it is not valid UTF-8 or holds a NUL byte.
MIMREST_TEST_EXPORT std::optional<std::string> stringprep(std::string_view input,
                                                          StringprepProfile profile);

/// The same, always through Libidn: the reference the ASCII path is tested
/// against.
MIMREST_TEST_EXPORT std::optional<std::string> stringprep_libidn(std::string_view input,
                                                                 StringprepProfile profile);

}  // namespace mimrest::detail
