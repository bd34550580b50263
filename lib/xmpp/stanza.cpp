#include "xmpp/stanza.hpp"

#include <utility>

#include "core/detail/stanza_xml.hpp"

namespace mimrest::xmpp {
namespace {

bool equals(const pugi::char_t* text, std::string_view view) {
  return text != nullptr && std::string_view(text) == view;
}

std::string to_string(std::string_view view) {
  return std::string(view);
}

}  // namespace

std::string_view namespace_of(pugi::xml_node node) {
  for (; node && node.type() == pugi::node_element; node = node.parent()) {
    const pugi::xml_attribute xmlns = node.attribute("xmlns");
    if (xmlns) {
      return xmlns.value();
    }
  }
  return ns::client;
}

pugi::xml_node child_element(pugi::xml_node parent, std::string_view name, std::string_view xmlns) {
  for (pugi::xml_node child = parent.first_child(); child; child = child.next_sibling()) {
    if (child.type() == pugi::node_element && equals(child.name(), name) &&
        namespace_of(child) == xmlns) {
      return child;
    }
  }
  return {};
}

pugi::xml_node append_element(pugi::xml_node parent, std::string_view name,
                              std::string_view xmlns) {
  pugi::xml_node child = parent.append_child(to_string(name).c_str());
  if (child && !xmlns.empty() && namespace_of(parent) != xmlns) {
    child.append_attribute("xmlns").set_value(to_string(xmlns).c_str());
  }
  return child;
}

std::string text_of(pugi::xml_node node) {
  std::string text;
  for (pugi::xml_node child = node.first_child(); child; child = child.next_sibling()) {
    if (child.type() == pugi::node_pcdata || child.type() == pugi::node_cdata) {
      text += child.value();
    }
  }
  return text;
}

std::string error_condition(pugi::xml_node error, std::string_view conditions_xmlns) {
  for (pugi::xml_node child = error.first_child(); child; child = child.next_sibling()) {
    if (child.type() == pugi::node_element && !equals(child.name(), "text") &&
        namespace_of(child) == conditions_xmlns) {
      return child.name();
    }
  }
  return {};
}

Stanza::Stanza() = default;

Stanza::Stanza(std::string_view name) : document_(std::make_unique<pugi::xml_document>()) {
  document_->append_child(to_string(name).c_str());
}

Stanza::Stanza(std::unique_ptr<pugi::xml_document> document) : document_(std::move(document)) {}

Stanza::Stanza(Stanza&&) noexcept = default;
Stanza& Stanza::operator=(Stanza&&) noexcept = default;
Stanza::~Stanza() = default;

Stanza::Stanza(const Stanza& other) {
  if (other.document_) {
    document_ = std::make_unique<pugi::xml_document>();
    document_->reset(*other.document_);
  }
}

Stanza& Stanza::operator=(const Stanza& other) {
  if (this != &other) {
    Stanza copy(other);
    *this = std::move(copy);
  }
  return *this;
}

bool Stanza::empty() const noexcept {
  return !document_ || !document_->document_element();
}

pugi::xml_node Stanza::root() const {
  return document_ ? document_->document_element() : pugi::xml_node();
}

pugi::xml_document& Stanza::document() {
  if (!document_) {
    document_ = std::make_unique<pugi::xml_document>();
  }
  return *document_;
}

std::string_view Stanza::name() const {
  return root().name();
}

std::string_view Stanza::xmlns() const {
  return namespace_of(root());
}

bool Stanza::is(std::string_view name, std::string_view xmlns) const {
  return !empty() && this->name() == name && this->xmlns() == xmlns;
}

std::string_view Stanza::attribute(std::string_view name) const {
  return root().attribute(to_string(name).c_str()).value();
}

bool Stanza::has_attribute(std::string_view name) const {
  return static_cast<bool>(root().attribute(to_string(name).c_str()));
}

void Stanza::set_attribute(std::string_view name, std::string_view value) {
  pugi::xml_node node = root();
  if (!node) {
    return;
  }
  const std::string key = to_string(name);
  pugi::xml_attribute attribute = node.attribute(key.c_str());
  if (!attribute) {
    attribute = node.append_attribute(key.c_str());
  }
  attribute.set_value(to_string(value).c_str());
}

pugi::xml_node Stanza::child(std::string_view name, std::string_view xmlns) const {
  return child_element(root(), name, xmlns);
}

pugi::xml_node Stanza::append_child(std::string_view name, std::string_view xmlns) {
  return append_element(root(), name, xmlns);
}

std::string Stanza::text() const {
  return text_of(root());
}

std::string Stanza::xml() const {
  if (empty()) {
    return {};
  }
  return mimrest::detail::serialize_stanza(*document_);
}

}  // namespace mimrest::xmpp
