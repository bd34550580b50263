// XMPP addresses (RFC 7622): parsing, stringprep preparation, comparison.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "mimrest/expected.hpp"
#include "mimrest/export.hpp"

namespace mimrest {

/// Why a string is not a valid JID.
enum class JidError {
  empty_domain,       ///< no domain part ("", "alice@")
  empty_localpart,    ///< "@domain"
  empty_resource,     ///< "alice@domain/"
  localpart_invalid,  ///< nodeprep failed or a forbidden character (" & ' / : < > @)
  domain_invalid,     ///< nameprep failed, not a host name, or no IPv6 address in brackets
  resource_invalid,   ///< resourceprep failed
  part_too_long,      ///< a prepared part is longer than Jid::max_part_bytes
};

/// A short English description of the error, for logs and messages.
MIMREST_EXPORT std::string_view to_string(JidError error) noexcept;

/// A prepared JID: localpart (nodeprep), domain (nameprep, lower case; or an
/// IPv6 address in brackets, RFC 7622) and resource (resourceprep). Two Jids
/// are equal when their prepared forms are. Immutable value type, safe to
/// share between threads.
class MIMREST_EXPORT Jid {
 public:
  /// Each part is limited to this many bytes after preparation (RFC 7622).
  static constexpr std::size_t max_part_bytes = 1023;

  /// Parses and prepares `text` ("local@domain/resource", local and resource
  /// optional). Never throws on bad input.
  static Expected<Jid, JidError> parse(std::string_view text);

  /// Prepares a bare JID from its parts (for example a room node and a service
  /// domain).
  static Expected<Jid, JidError> from_parts(std::string_view local, std::string_view domain,
                                            std::string_view resource = {});

  const std::string& local() const noexcept { return local_; }
  const std::string& domain() const noexcept { return domain_; }
  const std::string& resource() const noexcept { return resource_; }

  bool is_bare() const noexcept { return resource_.empty(); }
  /// The same JID without its resource.
  Jid bare() const;
  /// "local@domain/resource", parts left out when empty.
  std::string to_string() const;
  /// "local@domain" or "domain".
  std::string bare_string() const;

  friend bool operator==(const Jid& a, const Jid& b) noexcept {
    return a.local_ == b.local_ && a.domain_ == b.domain_ && a.resource_ == b.resource_;
  }
  friend bool operator!=(const Jid& a, const Jid& b) noexcept { return !(a == b); }
  friend MIMREST_EXPORT bool operator<(const Jid& a, const Jid& b) noexcept;

 private:
  Jid() = default;
  std::string local_;
  std::string domain_;
  std::string resource_;
};

/// Prepares a localpart alone (nodeprep + the RFC 7622 checks), for room IDs.
MIMREST_EXPORT Expected<std::string, JidError> prepare_localpart(std::string_view local);

}  // namespace mimrest

template <>
struct MIMREST_EXPORT std::hash<mimrest::Jid> {
  std::size_t operator()(const mimrest::Jid& jid) const noexcept;
};
