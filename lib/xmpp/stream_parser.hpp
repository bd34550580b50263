// Incremental parser of an XMPP stream (RFC 6120 section 4) on expat: bytes
// go in as they arrive, in chunks of any size; out come the stream header,
// each complete top-level element as a Stanza, the end of the stream, or an
// error.
//
// The peer's bytes are untrusted. The parser refuses what RFC 6120 section
// 11.1 forbids on a stream (DOCTYPE and so entity declarations, processing
// instructions, comments), never expands an entity, keeps expat's
// billion-laughs protection, reads UTF-8 only (invalid sequences are errors),
// caps a top-level element's size (from its start tag to its end tag, checked
// while its bytes arrive: no more than the cap plus one byte of it is ever
// buffered) and its depth, and allows whitespace between elements
// (keepalives).
#pragma once

#include <cstddef>
#include <deque>
#include <memory>
#include <string>
#include <string_view>

#include "core/detail/test_export.hpp"
#include "xmpp/stanza.hpp"

namespace mimrest::xmpp {

/// Attributes of the peer's <stream:stream> start tag.
struct MIMREST_TEST_EXPORT StreamHeader {
  std::string id;
  std::string from;
  std::string to;
  std::string version;
  std::string lang;  ///< xml:lang
};

/// Why a stream cannot be read on. Each maps to the stream error condition a
/// receiver sends (RFC 6120 section 4.9.3).
enum class StreamError {
  not_well_formed,    ///< not XML, not UTF-8, text between elements (not-well-formed)
  restricted_xml,     ///< DOCTYPE, entity declaration, processing instruction, comment
  invalid_namespace,  ///< the root is no stream:stream, or its content is not jabber:client
  too_large,          ///< a top-level element beyond max_stanza_bytes (policy-violation)
  too_deep,           ///< elements nested beyond max_depth (policy-violation)
};

MIMREST_TEST_EXPORT std::string_view to_string(StreamError error) noexcept;
/// The RFC 6120 stream error condition for `error` ("not-well-formed", ...).
MIMREST_TEST_EXPORT std::string_view stream_error_condition(StreamError error) noexcept;

struct MIMREST_TEST_EXPORT StreamEvent {
  enum class Kind {
    need_more,  ///< every byte given so far is parsed: append() more
    header,     ///< `header` holds the stream header
    element,    ///< `element` holds a complete top-level element
    end,        ///< </stream:stream>; nothing more is read from this stream
    error,      ///< `error` says why; the stream is unusable from here on
  };
  Kind kind = Kind::need_more;
  StreamHeader header;
  Stanza element;
  StreamError error = StreamError::not_well_formed;
  std::string detail;  ///< for errors: expat's message or what was refused
  /// For elements: its size on the wire, start tag to end tag (at most
  /// StreamLimits::max_stanza_bytes).
  std::size_t bytes = 0;
};

struct MIMREST_TEST_EXPORT StreamLimits {
  /// Bytes of one top-level element, from the '<' of its start tag to the
  /// '>' of its end tag. The stream header is held to it too.
  std::size_t max_stanza_bytes = 1 << 20;
  /// Nesting of elements inside the stream (a top-level element is depth 1).
  std::size_t max_depth = 64;
};

/// Not synchronised: one thread at a time (the client's strand).
class MIMREST_TEST_EXPORT StreamParser {
 public:
  /// `content_namespace` is the default namespace the stream header must
  /// declare (jabber:client for a client-to-server stream).
  explicit StreamParser(StreamLimits limits = {}, std::string_view content_namespace = ns::client);
  ~StreamParser();
  StreamParser(const StreamParser&) = delete;
  StreamParser& operator=(const StreamParser&) = delete;

  /// Queues bytes to parse; next() parses them.
  void append(std::string_view bytes);

  /// Parses up to the next event. Kind::need_more when the queued bytes are
  /// used up. After an error or the end, always that same event's kind again
  /// (error, or need_more after end).
  StreamEvent next();

  /// Starts a new stream (after STARTTLS and after SASL success, RFC 6120
  /// sections 5.4.3.3 and 6.4.6): a fresh document from the next byte
  /// appended. Bytes queued and not yet parsed are DISCARDED: a peer may send
  /// nothing between the element that ends a stream's first part and the new
  /// header, and bytes sent in clear before a TLS handshake must never be read
  /// as if they came through it.
  void restart();

  /// Bytes queued and not yet parsed.
  std::size_t buffered_bytes() const noexcept;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mimrest::xmpp
