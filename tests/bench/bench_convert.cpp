// Throughput of message_to_json against a floor: a bare pugixml parse of the
// same stanza plus a RapidJSON write of the same fields found by direct
// lookups, with none of the converter's checks. Single thread, timed in
// thread CPU time (POSIX clock_gettime).
//
// mimrest-bench-convert [--rounds R] [--iterations N]
#include <mimrest/stanza_json.hpp>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <pugixml.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace {

// A typical archived chat message with a thread and Smack properties.
constexpr std::string_view kStanza =
    "<message xmlns='jabber:client' type='chat' from='bob@localhost/phone' "
    "to='alice@localhost' id='8b1e2a1c-6a9d-4e55-9f0e'>"
    "<body>Are we still on for lunch tomorrow?</body>"
    "<thread parent='7edac73ab41e45c4aafa7b2d7b749080'>e0ffe42b28561960c6b12b944a092794b9683a38"
    "</thread>"
    "<properties xmlns='http://www.jivesoftware.com/xmlns/xmpp/properties'>"
    "<property><name>client_msg_id</name><value type='string'>c-19284</value></property>"
    "<property><name>priority</name><value type='integer'>2</value></property>"
    "</properties>"
    "</message>";

constexpr std::int64_t kTimestamp = 1531329049949;

// The floor: what any converter has to do at least.
struct Floor {
  std::unique_ptr<char[]> buffer{new char[kStanza.size() + 1]};

  std::string convert() {
    std::memcpy(buffer.get(), kStanza.data(), kStanza.size());
    pugi::xml_document document;
    document.load_buffer_inplace(buffer.get(), kStanza.size(), pugi::parse_default,
                                 pugi::encoding_utf8);
    const pugi::xml_node message = document.first_child();
    rapidjson::StringBuffer out;
    rapidjson::Writer<rapidjson::StringBuffer> writer(out);
    writer.StartObject();
    writer.Key("from");
    writer.String(message.attribute("from").value());
    writer.Key("to");
    writer.String(message.attribute("to").value());
    writer.Key("id");
    writer.String(message.attribute("id").value());
    writer.Key("body");
    writer.String(message.child("body").child_value());
    writer.Key("timestamp");
    writer.Int64(kTimestamp);
    const pugi::xml_node thread = message.child("thread");
    writer.Key("thread");
    writer.String(thread.child_value());
    writer.Key("parent");
    writer.String(thread.attribute("parent").value());
    writer.Key("properties");
    writer.StartObject();
    for (const pugi::xml_node property : message.child("properties").children("property")) {
      writer.Key(property.child("name").child_value());
      writer.String(property.child("value").child_value());
    }
    writer.EndObject();
    writer.EndObject();
    return std::string(out.GetString(), out.GetSize());
  }
};

std::string convert_library() {
  mimrest::JsonOptions options;
  options.timestamp = kTimestamp;
  auto json = mimrest::message_to_json(kStanza, options);
  return json ? std::move(*json) : std::string();
}

// CPU time of this thread: on a shared machine, wall time would also count
// the time other processes hold the core.
double thread_seconds() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9;
}

template <class F>
double stanzas_per_second(long iterations, F&& convert, std::size_t& sink) {
  const double start = thread_seconds();
  for (long i = 0; i < iterations; ++i) {
    sink += convert().size();
  }
  return static_cast<double>(iterations) / (thread_seconds() - start);
}

bool same_json(const std::string& a, const std::string& b) {
  rapidjson::Document x;
  rapidjson::Document y;
  x.Parse(a.c_str());
  y.Parse(b.c_str());
  return !x.HasParseError() && !y.HasParseError() && x == y;
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

}  // namespace

int main(int argc, char** argv) {
  int rounds = 300;
  long iterations = 2000;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--rounds") == 0) {
      rounds = std::max(1, std::atoi(argv[i + 1]));
    } else if (std::strcmp(argv[i], "--iterations") == 0) {
      iterations = std::max(1L, std::atol(argv[i + 1]));
    }
  }

  Floor floor;
  const std::string expected = floor.convert();
  const std::string actual = convert_library();
  if (!same_json(expected, actual)) {
    std::fprintf(stderr, "outputs differ:\n  floor:   %s\n  library: %s\n", expected.c_str(),
                 actual.c_str());
    return 1;
  }
  std::printf("stanza: %zu bytes, JSON: %zu bytes, %d rounds of %ld conversions\n", kStanza.size(),
              actual.size(), rounds, iterations);

  std::size_t sink = 0;
  std::vector<double> floor_rates;
  std::vector<double> library_rates;
  std::vector<double> ratios;
  auto run_floor = [&] {
    return stanzas_per_second(
        iterations, [&] { return floor.convert(); }, sink);
  };
  auto run_library = [&] { return stanzas_per_second(iterations, convert_library, sink); };
  // Warm up, then run short rounds in pairs, alternating which goes first, so
  // that a busy machine slows both sides of a pair alike: the median of the
  // paired ratios is the robust figure, the best rates the unloaded speed.
  run_floor();
  run_library();
  for (int round = 0; round < rounds; ++round) {
    double floor_rate = 0;
    double library_rate = 0;
    if (round % 2 == 0) {
      floor_rate = run_floor();
      library_rate = run_library();
    } else {
      library_rate = run_library();
      floor_rate = run_floor();
    }
    floor_rates.push_back(floor_rate);
    library_rates.push_back(library_rate);
    ratios.push_back(library_rate / floor_rate);
  }

  const double floor_best = *std::max_element(floor_rates.begin(), floor_rates.end());
  const double library_best = *std::max_element(library_rates.begin(), library_rates.end());
  std::printf("(a) floor (pugixml + Writer): best %.3f M/s, median %.3f M/s\n", floor_best / 1e6,
              median(floor_rates) / 1e6);
  std::printf("(b) message_to_json:          best %.3f M/s, median %.3f M/s\n", library_best / 1e6,
              median(library_rates) / 1e6);
  std::printf("ratio (b)/(a): of the best rates %.3f, median of paired rounds %.3f\n",
              library_best / floor_best, median(ratios));
  std::printf("(checksum %zu)\n", sink);
  return 0;
}
