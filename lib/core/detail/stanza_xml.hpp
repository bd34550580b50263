// Reading and writing a stored stanza with pugixml so that its text survives
// the round trip exactly: shared by the backends that rewrite stanzas.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

#include <pugixml.hpp>

namespace mimrest::detail {

/// How a stored message stanza is read: whitespace-only text is kept (the
/// default drops it, so a body of spaces would come back empty).
inline constexpr unsigned kStanzaParseOptions = pugi::parse_default | pugi::parse_ws_pcdata;

/// Collects the serialized document. pugixml writes a carriage return in text
/// as the raw byte, which the next parse reads as a line feed (end-of-line
/// normalisation), so it is written as a character reference instead. Nowhere
/// else can a raw one appear: attribute values escape it, and end-of-line
/// normalisation has already turned those of CDATA sections into line feeds.
struct StanzaStringWriter final : pugi::xml_writer {
  std::string out;
  void write(const void* data, std::size_t size) override {
    const std::string_view text(static_cast<const char*>(data), size);
    std::size_t start = 0;
    for (std::size_t cr = text.find('\r'); cr != std::string_view::npos;
         cr = text.find('\r', start)) {
      out.append(text.substr(start, cr - start));
      out.append("&#13;");
      start = cr + 1;
    }
    out.append(text.substr(start));
  }
};

/// The document as one stanza: no declaration, no added whitespace.
inline std::string serialize_stanza(const pugi::xml_document& document) {
  StanzaStringWriter writer;
  document.save(writer, "", pugi::format_raw | pugi::format_no_declaration);
  return std::move(writer.out);
}

}  // namespace mimrest::detail
