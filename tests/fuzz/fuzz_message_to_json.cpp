// libFuzzer target: message_to_json and is_groupchat must never crash, hang
// or throw, and whatever they accept must come out as one valid JSON object
// (valid UTF-8) whose shape follows the encoding they were asked for.
#include <mimrest/stanza_json.hpp>

#include <rapidjson/document.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // The first byte picks the options, the rest is the stanza.
  if (size == 0) {
    return 0;
  }
  const std::uint8_t selector = data[0];
  const std::string_view xml(reinterpret_cast<const char*>(data + 1), size - 1);

  mimrest::JsonOptions options;
  options.timestamp = static_cast<std::int64_t>(selector) * 1000003;
  options.encoding = static_cast<mimrest::MessageEncoding>(selector % 3);
  options.sse = (selector & 4) != 0;

  const bool groupchat = mimrest::is_groupchat(xml);
  const auto json = mimrest::message_to_json(xml, options);
  if (!json) {
    // A stanza that does not convert is never a groupchat message.
    if (groupchat) {
      std::abort();
    }
    return 0;
  }

  rapidjson::Document document;
  document.Parse<rapidjson::kParseValidateEncodingFlag>(json->data(), json->size());
  if (document.HasParseError() || !document.IsObject() || !document.HasMember("timestamp") ||
      document["timestamp"].GetInt64() != options.timestamp) {
    std::abort();
  }
  const bool room = options.encoding == mimrest::MessageEncoding::room ||
                    (options.encoding == mimrest::MessageEncoding::automatic && groupchat);
  if (room != document.HasMember("type")) {
    std::abort();
  }
  return 0;
}
