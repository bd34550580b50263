#include "mimrest/jid.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <optional>
#include <tuple>

#include "core/detail/stringprep.hpp"

namespace mimrest {
namespace {

// Preparation can shrink a part (characters mapped to nothing), so the raw
// limit is looser than max_part_bytes; it only bounds the work done on
// absurdly long input.
constexpr std::size_t max_raw_part_bytes = 16 * Jid::max_part_bytes;

// RFC 7622 section 3.3.1: characters nodeprep already prohibits; checked again
// so that the rule does not depend on the Libidn tables alone.
bool has_forbidden_local_char(std::string_view local) noexcept {
  for (const char c : local) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7F) {
      return true;
    }
    switch (c) {
      case '"':
      case '&':
      case '\'':
      case '/':
      case ':':
      case '<':
      case '>':
      case '@':
        return true;
      default:
        break;
    }
  }
  return false;
}

// RFC 7622 section 3.2 with RFC 3986 section 3.2.2: a domainpart in
// brackets is an IP-literal, and the only one XMPP allows is an IPv6 address.
bool is_bracketed(std::string_view domain) noexcept {
  return domain.size() >= 2 && domain.front() == '[' && domain.back() == ']';
}

// Whether `address` (without the brackets) is an IPv6 address in text form.
// inet_pton reads a NUL-terminated string, so anything but hex digits, colons
// and dots (the IPv4 tail) is refused before it, a NUL byte included.
bool is_ipv6_address(std::string_view address) {
  if (address.empty() || address.size() >= INET6_ADDRSTRLEN) {
    return false;
  }
  for (const char c : address) {
    const bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    if (!hex && c != ':' && c != '.') {
      return false;
    }
  }
  const std::string text(address);
  in6_addr parsed{};
  return inet_pton(AF_INET6, text.c_str(), &parsed) == 1;
}

// A prepared domain must still look like a host name: non-empty dot-separated
// labels of letters, digits, '-' and '_' (non-ASCII is left to nameprep, which
// has already rejected what IDNA prohibits).
bool is_valid_host(std::string_view domain) noexcept {
  std::size_t label_length = 0;
  for (const char c : domain) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '.') {
      if (label_length == 0) {
        return false;
      }
      label_length = 0;
      continue;
    }
    const bool allowed =
        u >= 0x80 || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!allowed) {
      return false;
    }
    ++label_length;
  }
  return label_length > 0;
}

Expected<std::string, JidError> prepare_local(std::string_view local) {
  if (local.empty()) {
    return unexpected(JidError::empty_localpart);
  }
  if (local.size() > max_raw_part_bytes) {
    return unexpected(JidError::part_too_long);
  }
  auto prepared = detail::stringprep(local, detail::StringprepProfile::nodeprep);
  if (!prepared || has_forbidden_local_char(*prepared)) {
    return unexpected(JidError::localpart_invalid);
  }
  if (prepared->empty()) {
    return unexpected(JidError::empty_localpart);
  }
  if (prepared->size() > Jid::max_part_bytes) {
    return unexpected(JidError::part_too_long);
  }
  return std::move(*prepared);
}

Expected<std::string, JidError> prepare_domain(std::string_view domain) {
  // RFC 7622 section 3.2: a final label separator is stripped.
  if (!domain.empty() && domain.back() == '.') {
    domain.remove_suffix(1);
  }
  if (domain.empty()) {
    return unexpected(JidError::empty_domain);
  }
  if (domain.size() > max_raw_part_bytes) {
    return unexpected(JidError::part_too_long);
  }
  if (is_bracketed(domain)) {
    // Held to the same limit as any other part (an IPv6 address is far
    // shorter anyway).
    if (domain.size() > Jid::max_part_bytes) {
      return unexpected(JidError::part_too_long);
    }
    if (!is_ipv6_address(domain.substr(1, domain.size() - 2))) {
      return unexpected(JidError::domain_invalid);
    }
    // Hex digits in lower case, so that one address has one prepared form
    // whatever the case it was written in.
    std::string literal(domain);
    for (char& c : literal) {
      if (c >= 'A' && c <= 'F') {
        c = static_cast<char>(c - 'A' + 'a');
      }
    }
    return literal;
  }
  auto prepared = detail::stringprep(domain, detail::StringprepProfile::nameprep);
  if (!prepared) {
    return unexpected(JidError::domain_invalid);
  }
  // Nameprep may map the last character to a dot (full-width full stop).
  if (!prepared->empty() && prepared->back() == '.') {
    prepared->pop_back();
  }
  if (prepared->empty()) {
    return unexpected(JidError::empty_domain);
  }
  if (!is_valid_host(*prepared)) {
    return unexpected(JidError::domain_invalid);
  }
  if (prepared->size() > Jid::max_part_bytes) {
    return unexpected(JidError::part_too_long);
  }
  return std::move(*prepared);
}

Expected<std::string, JidError> prepare_resource(std::string_view resource) {
  if (resource.empty()) {
    return unexpected(JidError::empty_resource);
  }
  if (resource.size() > max_raw_part_bytes) {
    return unexpected(JidError::part_too_long);
  }
  auto prepared = detail::stringprep(resource, detail::StringprepProfile::resourceprep);
  if (!prepared) {
    return unexpected(JidError::resource_invalid);
  }
  if (prepared->empty()) {
    return unexpected(JidError::empty_resource);
  }
  if (prepared->size() > Jid::max_part_bytes) {
    return unexpected(JidError::part_too_long);
  }
  return std::move(*prepared);
}

}  // namespace

std::string_view to_string(JidError error) noexcept {
  switch (error) {
    case JidError::empty_domain:
      return "empty domain";
    case JidError::empty_localpart:
      return "empty localpart";
    case JidError::empty_resource:
      return "empty resource";
    case JidError::localpart_invalid:
      return "invalid localpart";
    case JidError::domain_invalid:
      return "invalid domain";
    case JidError::resource_invalid:
      return "invalid resource";
    case JidError::part_too_long:
      return "JID part too long";
  }
  return "invalid JID";
}

Expected<Jid, JidError> Jid::parse(std::string_view text) {
  std::string_view bare = text;
  std::optional<std::string_view> resource;
  // The first '/' starts the resource, which may itself hold '/' and '@'.
  if (const auto slash = text.find('/'); slash != std::string_view::npos) {
    bare = text.substr(0, slash);
    resource = text.substr(slash + 1);
  }
  std::optional<std::string_view> local;
  std::string_view domain = bare;
  if (const auto at = bare.find('@'); at != std::string_view::npos) {
    local = bare.substr(0, at);
    domain = bare.substr(at + 1);
  }
  if (domain.empty()) {
    return unexpected(JidError::empty_domain);
  }
  if (local && local->empty()) {
    return unexpected(JidError::empty_localpart);
  }
  if (resource && resource->empty()) {
    return unexpected(JidError::empty_resource);
  }
  return from_parts(local.value_or(std::string_view{}), domain,
                    resource.value_or(std::string_view{}));
}

Expected<Jid, JidError> Jid::from_parts(std::string_view local, std::string_view domain,
                                        std::string_view resource) {
  Jid jid;
  if (!local.empty()) {
    auto prepared = prepare_local(local);
    if (!prepared) {
      return unexpected(prepared.error());
    }
    jid.local_ = std::move(*prepared);
  }
  auto prepared_domain = prepare_domain(domain);
  if (!prepared_domain) {
    return unexpected(prepared_domain.error());
  }
  jid.domain_ = std::move(*prepared_domain);
  if (!resource.empty()) {
    auto prepared = prepare_resource(resource);
    if (!prepared) {
      return unexpected(prepared.error());
    }
    jid.resource_ = std::move(*prepared);
  }
  return jid;
}

Expected<std::string, JidError> prepare_localpart(std::string_view local) {
  return prepare_local(local);
}

Jid Jid::bare() const {
  Jid copy;
  copy.local_ = local_;
  copy.domain_ = domain_;
  return copy;
}

std::string Jid::bare_string() const {
  if (local_.empty()) {
    return domain_;
  }
  std::string out;
  out.reserve(local_.size() + 1 + domain_.size());
  out.append(local_).append(1, '@').append(domain_);
  return out;
}

std::string Jid::to_string() const {
  std::string out = bare_string();
  if (!resource_.empty()) {
    out.append(1, '/').append(resource_);
  }
  return out;
}

bool operator<(const Jid& a, const Jid& b) noexcept {
  return std::tie(a.domain_, a.local_, a.resource_) < std::tie(b.domain_, b.local_, b.resource_);
}

}  // namespace mimrest

std::size_t std::hash<mimrest::Jid>::operator()(const mimrest::Jid& jid) const noexcept {
  const std::hash<std::string> h;
  std::size_t seed = h(jid.domain());
  // Boost-style combination; the separators cannot collide because each part
  // is hashed separately.
  for (const std::string* part : {&jid.local(), &jid.resource()}) {
    seed ^= h(*part) + 0x9e3779b97f4a7c15ULL + (seed << 6) + (seed >> 2);
  }
  return seed;
}
