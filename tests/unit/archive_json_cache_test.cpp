#include "core/api/archive_json_cache.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <thread>
#include <vector>

#include "mimrest/stanza_json.hpp"

using mimrest::ArchivedMessage;
using mimrest::MessageEncoding;
using mimrest::detail::ArchiveJsonCache;

namespace {

ArchivedMessage row(int n, std::int64_t timestamp_us = 1700000000000000) {
  return ArchivedMessage{
      std::to_string(n), timestamp_us + n * 1000,
      "<message xmlns='jabber:client' from='alice@localhost/res' to='bob@localhost' "
      "id='m" +
          std::to_string(n) + "' type='chat'><body>Message number " + std::to_string(n) +
          "</body></message>"};
}

// What the array must be: every row converted afresh.
std::string uncached(const std::vector<ArchivedMessage>& messages, MessageEncoding encoding) {
  std::string out = "[";
  for (const auto& message : messages) {
    mimrest::JsonOptions options;
    options.encoding = encoding;
    options.timestamp = message.timestamp_us / 1000;
    auto json = mimrest::message_to_json(message.stanza_xml, options);
    if (json) {
      out += (out.size() > 1 ? "," : "") + *json;
    }
  }
  return out + "]";
}

}  // namespace

TEST_CASE("a cached array is the array converted afresh, first and later reads alike") {
  ArchiveJsonCache cache(1 << 20);
  std::vector<ArchivedMessage> messages;
  for (int n = 0; n < 20; ++n) {
    messages.push_back(row(n));
  }
  // A row that is not a message stanza is left out, cached or not.
  messages.push_back(ArchivedMessage{"x", 1, "<presence/>"});
  for (const auto encoding : {MessageEncoding::chat, MessageEncoding::room}) {
    const std::string expected = uncached(messages, encoding);
    CHECK(cache.array_json(messages, encoding) == expected);
    CHECK(cache.array_json(messages, encoding) == expected);
  }
  // Overlapping windows: part from the cache, part converted.
  std::vector<ArchivedMessage> window(messages.begin() + 10, messages.end());
  window.push_back(row(99));
  CHECK(cache.array_json(window, MessageEncoding::chat) == uncached(window, MessageEncoding::chat));
  CHECK(cache.array_json({}, MessageEncoding::chat) == "[]");
}

TEST_CASE("the timestamp and the encoding are part of what is cached") {
  ArchiveJsonCache cache(1 << 20);
  const std::vector<ArchivedMessage> first{row(1, 1000000)};
  const std::vector<ArchivedMessage> later{row(1, 5000000)};  // same stanza
  CHECK(cache.array_json(first, MessageEncoding::chat) == uncached(first, MessageEncoding::chat));
  CHECK(cache.array_json(later, MessageEncoding::chat) == uncached(later, MessageEncoding::chat));
  CHECK(cache.array_json(first, MessageEncoding::room) == uncached(first, MessageEncoding::room));
  CHECK(uncached(first, MessageEncoding::chat) != uncached(later, MessageEncoding::chat));
  CHECK(uncached(first, MessageEncoding::chat) != uncached(first, MessageEncoding::room));
}

TEST_CASE("the cache stays within its bytes, dropping the least recently used") {
  constexpr std::size_t limit = 64 * 1024;
  ArchiveJsonCache cache(limit);
  for (int n = 0; n < 2000; ++n) {
    const std::vector<ArchivedMessage> messages{row(n)};
    CHECK(cache.array_json(messages, MessageEncoding::chat) ==
          uncached(messages, MessageEncoding::chat));
    REQUIRE(cache.bytes() <= limit);
  }
  CHECK(cache.bytes() > limit / 2);  // it is used, not only bounded

  // A row larger than a sixteenth of the limit is converted, never kept.
  const std::size_t before = cache.bytes();
  ArchivedMessage large = row(5000);
  large.stanza_xml = "<message xmlns='jabber:client' from='a@localhost' to='b@localhost'><body>" +
                     std::string(limit / 8, 'x') + "</body></message>";
  const std::vector<ArchivedMessage> messages{large};
  CHECK(cache.array_json(messages, MessageEncoding::chat) ==
        uncached(messages, MessageEncoding::chat));
  CHECK(cache.bytes() == before);
}

TEST_CASE("a cache of 0 bytes keeps nothing and still converts") {
  ArchiveJsonCache cache(0);
  const std::vector<ArchivedMessage> messages{row(1), row(2)};
  CHECK(cache.array_json(messages, MessageEncoding::chat) ==
        uncached(messages, MessageEncoding::chat));
  CHECK(cache.bytes() == 0);
}

TEST_CASE("many threads read overlapping windows at once") {
  ArchiveJsonCache cache(16 * 1024);  // small: entries come and go all the time
  std::vector<ArchivedMessage> all;
  for (int n = 0; n < 200; ++n) {
    all.push_back(row(n));
  }
  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 100; ++i) {
        const std::size_t start = static_cast<std::size_t>((t * 37 + i * 11) % 150);
        const std::vector<ArchivedMessage> window(all.begin() + static_cast<long>(start),
                                                  all.begin() + static_cast<long>(start) + 50);
        if (cache.array_json(window, MessageEncoding::chat) !=
            uncached(window, MessageEncoding::chat)) {
          ++mismatches[static_cast<std::size_t>(t)];
        }
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  CHECK(mismatches == std::vector<int>(4, 0));
  CHECK(cache.bytes() <= 16 * 1024);
}
