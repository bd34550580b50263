// mimrest-convert [--timestamp N] [--sse] [FILE ...]
//
// Converts XML message stanzas to the JSON the client REST API shows, one
// line per input. Exit codes: 0 all converted, 2 bad arguments or any input
// that could not be read or converted (the others are still printed).
#include <mimrest/stanza_json.hpp>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr int kExitFailure = 2;

constexpr const char* kUsage =
    "Usage: mimrest-convert [--timestamp N] [--sse] [FILE ...]\n"
    "\n"
    "Converts XML <message> stanzas to the JSON of the MongooseIM client REST API.\n"
    "Reads one stanza per FILE, or all of standard input when no FILE is given\n"
    "(\"-\" also means standard input), and prints the JSON of each on one line.\n"
    "type=\"groupchat\" uses the room encoding, anything else the chat encoding.\n"
    "\n"
    "Options:\n"
    "  --timestamp N  the \"timestamp\" to write (an integer; default: now in ms)\n"
    "  --sse          the server-sent events shape: room messages also get \"room\"\n"
    "  --help         show this help and exit\n"
    "  --             end of options\n"
    "\n"
    "Exit status: 0 when every input was converted; 2 on bad arguments, or when\n"
    "an input cannot be read, is not well-formed XML, has a DOCTYPE or is not a\n"
    "<message>. Inputs that convert are printed even when others fail.\n";

struct Arguments {
  std::optional<std::int64_t> timestamp;
  bool sse = false;
  bool help = false;
  std::vector<std::string> files;
};

std::optional<std::int64_t> parse_integer(std::string_view text) {
  std::int64_t value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end) {
    return std::nullopt;
  }
  return value;
}

// Returns the arguments, or writes the problem to `error`.
std::optional<Arguments> parse_arguments(int argc, char** argv, std::string& error) {
  Arguments arguments;
  bool options_done = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (options_done || arg == "-" || arg.empty() || arg[0] != '-') {
      arguments.files.emplace_back(arg);
    } else if (arg == "--") {
      options_done = true;
    } else if (arg == "--help" || arg == "-h") {
      arguments.help = true;
    } else if (arg == "--sse") {
      arguments.sse = true;
    } else if (arg == "--timestamp" || arg.rfind("--timestamp=", 0) == 0) {
      std::string_view value;
      if (arg == "--timestamp") {
        if (i + 1 >= argc) {
          error = "--timestamp needs a value";
          return std::nullopt;
        }
        value = argv[++i];
      } else {
        value = arg.substr(std::strlen("--timestamp="));
      }
      arguments.timestamp = parse_integer(value);
      if (!arguments.timestamp) {
        error = "--timestamp must be an integer: '" + std::string(value) + "'";
        return std::nullopt;
      }
    } else {
      error = "unknown option '" + std::string(arg) + "'";
      return std::nullopt;
    }
  }
  return arguments;
}

// Reads all of `stream`; false (with errno set) on a read error.
bool read_all(std::FILE* stream, std::string& out) {
  char chunk[65536];
  for (;;) {
    const std::size_t n = std::fread(chunk, 1, sizeof chunk, stream);
    out.append(chunk, n);
    if (n < sizeof chunk) {
      return !std::ferror(stream);
    }
  }
}

// Reads one input ("-" is standard input); on failure writes why to `error`.
std::optional<std::string> read_input(const std::string& name, std::string& error) {
  std::string content;
  if (name == "-") {
    if (!read_all(stdin, content)) {
      error = std::strerror(errno);
      return std::nullopt;
    }
    return content;
  }
  std::FILE* file = std::fopen(name.c_str(), "rb");
  if (file == nullptr) {
    error = std::strerror(errno);
    return std::nullopt;
  }
  const bool ok = read_all(file, content);
  const int read_errno = errno;
  std::fclose(file);
  if (!ok) {
    error = std::strerror(read_errno);
    return std::nullopt;
  }
  return content;
}

std::int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

int run(int argc, char** argv) {
  std::string error;
  const auto arguments = parse_arguments(argc, argv, error);
  if (!arguments) {
    std::fprintf(stderr, "mimrest-convert: %s\nTry 'mimrest-convert --help'.\n", error.c_str());
    return kExitFailure;
  }
  if (arguments->help) {
    std::fputs(kUsage, stdout);
    return std::fflush(stdout) == 0 ? 0 : kExitFailure;
  }

  mimrest::JsonOptions options;
  options.timestamp = arguments->timestamp ? *arguments->timestamp : now_ms();
  options.sse = arguments->sse;

  std::vector<std::string> inputs = arguments->files;
  if (inputs.empty()) {
    inputs.emplace_back("-");
  }
  int status = 0;
  for (const std::string& name : inputs) {
    const char* shown = name == "-" ? "<stdin>" : name.c_str();
    const auto content = read_input(name, error);
    if (!content) {
      std::fprintf(stderr, "mimrest-convert: %s: cannot read: %s\n", shown, error.c_str());
      status = kExitFailure;
      continue;
    }
    const auto json = mimrest::message_to_json(*content, options);
    if (!json) {
      const std::string_view reason = mimrest::to_string(json.error());
      std::fprintf(stderr, "mimrest-convert: %s: %.*s\n", shown, static_cast<int>(reason.size()),
                   reason.data());
      status = kExitFailure;
      continue;
    }
    std::fwrite(json->data(), 1, json->size(), stdout);
    std::fputc('\n', stdout);
  }
  if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
    std::fprintf(stderr, "mimrest-convert: cannot write the output\n");
    return kExitFailure;
  }
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mimrest-convert: %s\n", e.what());
  }
  return kExitFailure;
}
