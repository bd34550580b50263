// The parser keeps one expat parser per stream (a restart makes a new one)
// and suspends it after each event, so that the caller handles events one at
// a time and can restart the stream in between. Expat reports qualified names
// as "namespace-URI \x01 local-name" (a separator no URI can hold, since it is
// no XML character); the elements are rebuilt without prefixes, with an xmlns
// attribute wherever the namespace changes.
#include "xmpp/stream_parser.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <optional>
#include <utility>
#include <vector>

// The billion-laughs settings are declared only with XML_DTD, which Debian's
// (and expat's default) build has; the declarations are all it changes.
#ifndef XML_DTD
#define XML_DTD
#endif
#include <expat.h>

namespace mimrest::xmpp {
namespace {

constexpr char separator = '\x01';
/// Most bytes handed to expat at once (it keeps what it is given until the
/// tokens in it are complete).
constexpr std::size_t max_slice = 64 * 1024;

struct QName {
  std::string_view uri;  ///< empty: no namespace
  std::string_view local;
};

QName split(const XML_Char* name) {
  const std::string_view text(name);
  const std::size_t at = text.find(separator);
  if (at == std::string_view::npos) {
    return {{}, text};
  }
  return {text.substr(0, at), text.substr(at + 1)};
}

bool is_whitespace(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; });
}

}  // namespace

std::string_view to_string(StreamError error) noexcept {
  switch (error) {
    case StreamError::not_well_formed:
      return "not well-formed";
    case StreamError::restricted_xml:
      return "restricted XML";
    case StreamError::invalid_namespace:
      return "invalid namespace";
    case StreamError::too_large:
      return "element too large";
    case StreamError::too_deep:
      return "elements nested too deep";
  }
  return "stream error";
}

std::string_view stream_error_condition(StreamError error) noexcept {
  switch (error) {
    case StreamError::not_well_formed:
      return "not-well-formed";
    case StreamError::restricted_xml:
      return "restricted-xml";
    case StreamError::invalid_namespace:
      return "invalid-namespace";
    case StreamError::too_large:
    case StreamError::too_deep:
      return "policy-violation";
  }
  return "undefined-condition";
}

class StreamParser::Impl {
 public:
  Impl(StreamLimits limits, std::string_view content_namespace)
      : limits_(limits), content_namespace_(content_namespace) {
    if (limits_.max_stanza_bytes == 0) {
      limits_.max_stanza_bytes = 1;
    }
    create();
  }
  ~Impl() { destroy(); }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  void append(std::string_view bytes) {
    if (ended_ || failed_) {
      return;
    }
    if (pending_pos_ > 0 && pending_pos_ >= pending_.size() / 2) {
      pending_.erase(0, pending_pos_);
      pending_pos_ = 0;
    }
    pending_.append(bytes.data(), bytes.size());
  }

  std::size_t buffered() const noexcept { return pending_.size() - pending_pos_; }

  void restart() {
    destroy();
    pending_.clear();
    pending_pos_ = 0;
    events_.clear();
    fed_ = 0;
    boundary_ = 0;
    element_start_ = 0;
    in_element_ = false;
    depth_ = 0;
    suspended_ = false;
    ended_ = false;
    failed_ = false;
    failure_ = StreamEvent{};
    default_namespace_.reset();
    create();
  }

  StreamEvent next() {
    if (!events_.empty()) {
      return pop();
    }
    if (failed_) {
      return failure_;
    }
    if (ended_) {
      return {};
    }
    for (;;) {
      XML_Status status;
      if (suspended_) {
        status = XML_ResumeParser(parser_);
      } else {
        const std::size_t available = pending_.size() - pending_pos_;
        if (available == 0) {
          return {};
        }
        // Never more than one byte past the cap beyond the start of the
        // current element (or the end of the last one): an oversized element
        // is caught with at most max_stanza_bytes + 1 of its bytes buffered.
        const std::uint64_t used = fed_ - base();
        const std::uint64_t room =
            limits_.max_stanza_bytes + 1 - std::min<std::uint64_t>(used, limits_.max_stanza_bytes);
        const std::size_t slice =
            static_cast<std::size_t>(std::min<std::uint64_t>({available, room, max_slice}));
        void* buffer = XML_GetBuffer(parser_, static_cast<int>(slice));
        if (buffer == nullptr) {
          fail(StreamError::not_well_formed, "out of memory");
          return pop();
        }
        std::memcpy(buffer, pending_.data() + pending_pos_, slice);
        pending_pos_ += slice;
        fed_ += slice;
        status = XML_ParseBuffer(parser_, static_cast<int>(slice), XML_FALSE);
      }
      suspended_ = status == XML_STATUS_SUSPENDED;
      if (status == XML_STATUS_ERROR && !failed_) {
        const XML_Error code = XML_GetErrorCode(parser_);
        const StreamError error =
            code == XML_ERROR_UNDEFINED_ENTITY || code == XML_ERROR_AMPLIFICATION_LIMIT_BREACH
                ? StreamError::restricted_xml
                : StreamError::not_well_formed;
        fail(error, XML_ErrorString(code));
      }
      if (!failed_ && !suspended_ && !ended_ && fed_ - base() > limits_.max_stanza_bytes) {
        fail(StreamError::too_large,
             "more than " + std::to_string(limits_.max_stanza_bytes) + " bytes in one element");
      }
      if (!events_.empty()) {
        return pop();
      }
      if (failed_) {
        return failure_;
      }
    }
  }

 private:
  void create() {
    parser_ = XML_ParserCreateNS("UTF-8", separator);
    if (parser_ == nullptr) {
      fail(StreamError::not_well_formed, "out of memory");
      return;
    }
    XML_SetUserData(parser_, this);
    XML_SetElementHandler(parser_, &Impl::on_start, &Impl::on_end);
    XML_SetCharacterDataHandler(parser_, &Impl::on_text);
    XML_SetStartNamespaceDeclHandler(parser_, &Impl::on_namespace);
    XML_SetStartDoctypeDeclHandler(parser_, &Impl::on_doctype);
    XML_SetEntityDeclHandler(parser_, &Impl::on_entity);
    XML_SetProcessingInstructionHandler(parser_, &Impl::on_processing_instruction);
    XML_SetCommentHandler(parser_, &Impl::on_comment);
    XML_SetParamEntityParsing(parser_, XML_PARAM_ENTITY_PARSING_NEVER);
    // Entities cannot be declared here at all (DOCTYPE is refused), so this
    // is a second line: no expansion may amplify the input more than tenfold.
    XML_SetBillionLaughsAttackProtectionMaximumAmplification(parser_, 10.0F);
    XML_SetBillionLaughsAttackProtectionActivationThreshold(parser_, 64 * 1024);
#if defined(MIMREST_EXPAT_HAS_REPARSE_DEFERRAL)
    // Expat would otherwise wait for more bytes before it parses a token
    // that ended a short chunk: a stream must report each element as soon as
    // its last byte arrives (lib/CMakeLists.txt checks that this exists).
    XML_SetReparseDeferralEnabled(parser_, XML_FALSE);
#endif
  }

  void destroy() {
    if (parser_ != nullptr) {
      XML_ParserFree(parser_);
      parser_ = nullptr;
    }
  }

  StreamEvent pop() {
    StreamEvent event = std::move(events_.front());
    events_.pop_front();
    return event;
  }

  std::uint64_t base() const noexcept {
    return in_element_ ? element_start_ : boundary_;
  }

  std::uint64_t event_start() const {
    return static_cast<std::uint64_t>(XML_GetCurrentByteIndex(parser_));
  }
  std::uint64_t event_end() const {
    return event_start() + static_cast<std::uint64_t>(XML_GetCurrentByteCount(parser_));
  }

  void fail(StreamError error, std::string detail) {
    if (failed_) {
      return;
    }
    failed_ = true;
    failure_ = StreamEvent{};
    failure_.kind = StreamEvent::Kind::error;
    failure_.error = error;
    failure_.detail = std::move(detail);
    events_.clear();
    events_.push_back(failure_);
    element_.reset();
    if (parser_ != nullptr) {
      XML_StopParser(parser_, XML_FALSE);
    }
  }

  void emit(StreamEvent event) {
    events_.push_back(std::move(event));
    XML_StopParser(parser_, XML_TRUE);
  }

  /// Moves the text collected so far into the current element.
  void flush_text() {
    if (!text_.empty() && !nodes_.empty()) {
      nodes_.back().append_child(pugi::node_pcdata).set_value(text_.c_str());
    }
    text_.clear();
  }

  void start_stream(const QName& name, const XML_Char** attributes) {
    if (name.uri != ns::stream || name.local != "stream") {
      fail(StreamError::invalid_namespace, "the root element is not stream:stream");
      return;
    }
    if (!default_namespace_ || *default_namespace_ != content_namespace_) {
      fail(StreamError::invalid_namespace,
           "the stream's default namespace is not " + content_namespace_);
      return;
    }
    StreamEvent event;
    event.kind = StreamEvent::Kind::header;
    for (const XML_Char** attribute = attributes; *attribute != nullptr; attribute += 2) {
      const QName key = split(attribute[0]);
      const char* value = attribute[1];
      if (key.uri == ns::xml && key.local == "lang") {
        event.header.lang = value;
      } else if (!key.uri.empty()) {
        continue;
      } else if (key.local == "id") {
        event.header.id = value;
      } else if (key.local == "from") {
        event.header.from = value;
      } else if (key.local == "to") {
        event.header.to = value;
      } else if (key.local == "version") {
        event.header.version = value;
      }
    }
    boundary_ = event_end();
    emit(std::move(event));
  }

  void start_element(const QName& name, const XML_Char** attributes) {
    pugi::xml_node node;
    if (depth_ == 1) {
      in_element_ = true;
      element_start_ = event_start();
      element_ = std::make_unique<pugi::xml_document>();
      namespaces_.clear();
      node = element_->append_child(std::string(name.local).c_str());
    } else {
      flush_text();
      node = nodes_.back().append_child(std::string(name.local).c_str());
    }
    const std::string_view parent_namespace =
        namespaces_.empty() ? std::string_view(content_namespace_) : namespaces_.back();
    if (name.uri != parent_namespace) {
      node.append_attribute("xmlns").set_value(std::string(name.uri).c_str());
    }
    namespaces_.emplace_back(name.uri);
    nodes_.push_back(node);
    std::vector<std::string> declared;  // namespaces given a prefix on this element
    for (const XML_Char** attribute = attributes; *attribute != nullptr; attribute += 2) {
      const QName key = split(attribute[0]);
      std::string qualified;
      if (key.uri.empty()) {
        qualified = std::string(key.local);
      } else if (key.uri == ns::xml) {
        qualified = "xml:" + std::string(key.local);
      } else {
        // Another namespace: a prefix of its own, declared right here.
        const auto known = std::find(declared.begin(), declared.end(), key.uri);
        const std::size_t index = static_cast<std::size_t>(known - declared.begin());
        const std::string prefix = "ns" + std::to_string(index);
        if (known == declared.end()) {
          declared.emplace_back(key.uri);
          node.append_attribute(("xmlns:" + prefix).c_str()).set_value(declared.back().c_str());
        }
        qualified = prefix + ":" + std::string(key.local);
      }
      node.append_attribute(qualified.c_str()).set_value(attribute[1]);
    }
  }

  void end_element() {
    flush_text();
    nodes_.pop_back();
    namespaces_.pop_back();
    if (depth_ != 1) {
      return;
    }
    const std::uint64_t end = event_end();
    if (end - element_start_ > limits_.max_stanza_bytes) {
      fail(StreamError::too_large,
           "more than " + std::to_string(limits_.max_stanza_bytes) + " bytes in one element");
      return;
    }
    in_element_ = false;
    boundary_ = end;
    StreamEvent event;
    event.kind = StreamEvent::Kind::element;
    event.element = Stanza(std::move(element_));
    event.bytes = static_cast<std::size_t>(end - element_start_);
    emit(std::move(event));
  }

  static Impl& self(void* data) {
    return *static_cast<Impl*>(data);
  }

  static void on_start(void* data, const XML_Char* name, const XML_Char** attributes) {
    Impl& impl = self(data);
    if (impl.failed_) {
      return;
    }
    const QName qname = split(name);
    if (impl.depth_ == 0) {
      impl.depth_ = 1;
      impl.start_stream(qname, attributes);
      return;
    }
    if (impl.depth_ > impl.limits_.max_depth) {
      impl.fail(StreamError::too_deep,
                "elements nested deeper than " + std::to_string(impl.limits_.max_depth));
      return;
    }
    impl.start_element(qname, attributes);
    ++impl.depth_;
  }

  static void on_end(void* data, const XML_Char* /*name*/) {
    Impl& impl = self(data);
    if (impl.failed_) {
      return;
    }
    --impl.depth_;
    if (impl.depth_ == 0) {
      impl.ended_ = true;
      StreamEvent event;
      event.kind = StreamEvent::Kind::end;
      impl.emit(std::move(event));
      return;
    }
    impl.end_element();
  }

  static void on_text(void* data, const XML_Char* text, int length) {
    Impl& impl = self(data);
    if (impl.failed_) {
      return;
    }
    const std::string_view chunk(text, static_cast<std::size_t>(length));
    if (impl.depth_ > 1) {
      impl.text_.append(chunk);
      return;
    }
    if (!is_whitespace(chunk)) {
      impl.fail(StreamError::not_well_formed, "text between top-level elements");
      return;
    }
    impl.boundary_ = impl.event_end();
  }

  static void on_namespace(void* data, const XML_Char* prefix, const XML_Char* uri) {
    Impl& impl = self(data);
    if (impl.depth_ == 0 && prefix == nullptr) {
      impl.default_namespace_ = uri == nullptr ? std::string() : std::string(uri);
    }
  }

  static void on_doctype(void* data, const XML_Char*, const XML_Char*, const XML_Char*, int) {
    self(data).fail(StreamError::restricted_xml, "a document type declaration");
  }
  static void on_entity(void* data, const XML_Char*, int, const XML_Char*, int, const XML_Char*,
                        const XML_Char*, const XML_Char*, const XML_Char*) {
    self(data).fail(StreamError::restricted_xml, "an entity declaration");
  }
  static void on_processing_instruction(void* data, const XML_Char*, const XML_Char*) {
    self(data).fail(StreamError::restricted_xml, "a processing instruction");
  }
  static void on_comment(void* data, const XML_Char*) {
    self(data).fail(StreamError::restricted_xml, "a comment");
  }

  StreamLimits limits_;
  std::string content_namespace_;
  XML_Parser parser_ = nullptr;

  std::string pending_;  ///< bytes appended, parsed from pending_pos_ on
  std::size_t pending_pos_ = 0;
  std::deque<StreamEvent> events_;

  std::uint64_t fed_ = 0;       ///< bytes given to this expat parser
  std::uint64_t boundary_ = 0;  ///< end of the last header, element or whitespace
  std::uint64_t element_start_ = 0;
  bool in_element_ = false;
  std::size_t depth_ = 0;  ///< open elements, the stream's included
  bool suspended_ = false;
  bool ended_ = false;
  bool failed_ = false;
  StreamEvent failure_;
  std::optional<std::string> default_namespace_;

  std::unique_ptr<pugi::xml_document> element_;  ///< the top-level element being read
  std::vector<pugi::xml_node> nodes_;            ///< its open elements
  std::vector<std::string> namespaces_;          ///< their namespaces
  std::string text_;                             ///< text not yet added to nodes_.back()
};

StreamParser::StreamParser(StreamLimits limits, std::string_view content_namespace)
    : impl_(std::make_unique<Impl>(limits, content_namespace)) {}

StreamParser::~StreamParser() = default;

void StreamParser::append(std::string_view bytes) {
  impl_->append(bytes);
}

StreamEvent StreamParser::next() {
  return impl_->next();
}

void StreamParser::restart() {
  impl_->restart();
}

std::size_t StreamParser::buffered_bytes() const noexcept {
  return impl_->buffered();
}

}  // namespace mimrest::xmpp
