// Internal: the one way the core writes JSON text (RapidJSON's Writer behind
// a small chaining interface), so every response body is escaped alike.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "core/detail/utf8.hpp"

namespace mimrest::detail {

class JsonWriter {
 public:
  JsonWriter() : writer_(buffer_) {}

  JsonWriter& begin_object() {
    writer_.StartObject();
    return *this;
  }
  JsonWriter& end_object() {
    writer_.EndObject();
    return *this;
  }
  JsonWriter& begin_array() {
    writer_.StartArray();
    return *this;
  }
  JsonWriter& end_array() {
    writer_.EndArray();
    return *this;
  }
  JsonWriter& key(std::string_view name) {
    writer_.Key(name.data(), static_cast<rapidjson::SizeType>(name.size()));
    return *this;
  }
  JsonWriter& string(std::string_view text) {
    writer_.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
    return *this;
  }
  JsonWriter& boolean(bool value) {
    writer_.Bool(value);
    return *this;
  }
  JsonWriter& integer(std::int64_t value) {
    writer_.Int64(value);
    return *this;
  }
  /// A complete JSON value written elsewhere (a converted message).
  JsonWriter& raw(std::string_view json) {
    writer_.RawValue(json.data(), json.size(), rapidjson::kObjectType);
    return *this;
  }
  /// `name` then the string `text`.
  JsonWriter& member(std::string_view name, std::string_view text) {
    return key(name).string(text);
  }

  std::string take() const { return std::string(buffer_.GetString(), buffer_.GetSize()); }

 private:
  rapidjson::StringBuffer buffer_;
  rapidjson::Writer<rapidjson::StringBuffer> writer_;
};

/// `text` as a JSON string literal. An error message may echo what a client
/// sent (a path parameter, percent-decoded to any bytes), so bytes that are
/// not valid UTF-8 are replaced by U+FFFD: the body is always valid JSON.
inline std::string json_string(std::string_view text) {
  if (is_valid_utf8(text)) {
    return JsonWriter().string(text).take();
  }
  std::string valid;
  valid.reserve(text.size() + 8);
  append_utf8_replacing_invalid(valid, text);
  return JsonWriter().string(valid).take();
}

}  // namespace mimrest::detail
