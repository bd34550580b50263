// One XMPP element (a stanza, or any other top-level element of a stream such
// as <stream:features/>) held as a pugixml document, the element being the
// document element.
//
// Namespaces are written the way a stream carries them: an element has an
// `xmlns` attribute only where its namespace differs from its parent's, and
// the parent of the top-level element is the stream, whose default namespace
// is jabber:client. So a received <message/> has no xmlns, a MAM
// <result xmlns='urn:xmpp:mam:2'> keeps its own, and the <message
// xmlns='jabber:client'> forwarded inside it keeps one too. Elements carry no
// prefixes; `xml:lang` stays `xml:lang`, and an attribute in any other
// namespace gets a prefix declared on its element.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <pugixml.hpp>

#include "core/detail/test_export.hpp"

namespace mimrest::xmpp {

/// Namespaces the client core uses.
namespace ns {
inline constexpr std::string_view client = "jabber:client";
inline constexpr std::string_view stream = "http://etherx.jabber.org/streams";
inline constexpr std::string_view streams = "urn:ietf:params:xml:ns:xmpp-streams";
inline constexpr std::string_view stanzas = "urn:ietf:params:xml:ns:xmpp-stanzas";
inline constexpr std::string_view tls = "urn:ietf:params:xml:ns:xmpp-tls";
inline constexpr std::string_view sasl = "urn:ietf:params:xml:ns:xmpp-sasl";
inline constexpr std::string_view bind = "urn:ietf:params:xml:ns:xmpp-bind";
inline constexpr std::string_view session = "urn:ietf:params:xml:ns:xmpp-session";
inline constexpr std::string_view ping = "urn:xmpp:ping";
inline constexpr std::string_view xml = "http://www.w3.org/XML/1998/namespace";
}  // namespace ns

/// An element and its subtree. Movable and copyable (a copy is deep); a
/// moved-from or default-constructed Stanza is empty. Not synchronised: one
/// thread at a time.
class MIMREST_TEST_EXPORT Stanza {
 public:
  /// An empty stanza (no element).
  Stanza();
  /// A new element `name` in the parent's namespace (jabber:client at the
  /// top), to be filled with root() and the pugixml API:
  ///
  ///   Stanza iq("iq");
  ///   iq.set_attribute("type", "get");
  ///   iq.append_child("query", "jabber:iq:roster");
  explicit Stanza(std::string_view name);
  /// Takes over a document whose document element is the stanza.
  explicit Stanza(std::unique_ptr<pugi::xml_document> document);

  Stanza(Stanza&&) noexcept;
  Stanza& operator=(Stanza&&) noexcept;
  Stanza(const Stanza& other);
  Stanza& operator=(const Stanza& other);
  ~Stanza();

  bool empty() const noexcept;
  explicit operator bool() const noexcept { return !empty(); }

  /// The element (a null node when empty). Nodes stay valid while the
  /// Stanza lives, also when it is moved.
  pugi::xml_node root() const;
  pugi::xml_document& document();

  /// The element's (local) name: "message", "iq", "features", ...
  std::string_view name() const;
  /// The element's namespace: its xmlns, or jabber:client.
  std::string_view xmlns() const;
  /// Whether the element is `name` in namespace `xmlns`.
  bool is(std::string_view name, std::string_view xmlns) const;

  /// An attribute's value; empty when it is missing.
  std::string_view attribute(std::string_view name) const;
  bool has_attribute(std::string_view name) const;
  /// Sets (or adds) an attribute.
  void set_attribute(std::string_view name, std::string_view value);

  /// The first child element `name` in namespace `xmlns` (a null node if none).
  pugi::xml_node child(std::string_view name, std::string_view xmlns) const;
  /// Appends a child element; an xmlns attribute is added when `xmlns`
  /// differs from the element's namespace.
  pugi::xml_node append_child(std::string_view name, std::string_view xmlns = {});
  /// The element's own text (its text children, concatenated).
  std::string text() const;

  /// Compact serialization: no declaration, no added whitespace, text kept
  /// exactly (a carriage return is written as a character reference).
  std::string xml() const;

 private:
  std::unique_ptr<pugi::xml_document> document_;
};

/// The namespace of `node`: its own xmlns, else its nearest ancestor's, else
/// jabber:client (the stream's default).
MIMREST_TEST_EXPORT std::string_view namespace_of(pugi::xml_node node);

/// The first child element of `parent` named `name` in namespace `xmlns`.
MIMREST_TEST_EXPORT pugi::xml_node child_element(pugi::xml_node parent, std::string_view name,
                                                 std::string_view xmlns);

/// Appends an element to `parent`, with an xmlns attribute when `xmlns` is
/// not empty and differs from the parent's namespace.
MIMREST_TEST_EXPORT pugi::xml_node append_element(pugi::xml_node parent, std::string_view name,
                                                  std::string_view xmlns = {});

/// The text children of `node`, concatenated.
MIMREST_TEST_EXPORT std::string text_of(pugi::xml_node node);

/// The defined condition of an <error/> (stanza error) or <stream:error/>:
/// the name of its first child element in the namespace of the conditions,
/// or empty.
MIMREST_TEST_EXPORT std::string error_condition(pugi::xml_node error,
                                                std::string_view conditions_xmlns);

}  // namespace mimrest::xmpp
