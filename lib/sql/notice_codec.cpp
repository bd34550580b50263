#include "sql/notice_codec.hpp"

#include <limits>
#include <utility>

namespace mimrest::sql::detail::notice {

namespace {

constexpr std::string_view kMagic = "m1 ";

void put_number(std::string& out, std::uint64_t value) {
  char digits[20];
  std::size_t n = 0;
  do {
    digits[n++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0);
  while (n > 0) {
    out.push_back(digits[--n]);
  }
}

void put_string(std::string& out, std::string_view text) {
  put_number(out, text.size());
  out.push_back(':');
  out.append(text);
}

std::size_t digits(std::uint64_t value) {
  std::size_t n = 1;
  while (value >= 10) {
    value /= 10;
    ++n;
  }
  return n;
}

/// "m1 <kind> <node> " (the count follows).
std::string prefix(Kind kind, std::string_view node) {
  std::string out(kMagic);
  out.push_back(static_cast<char>(kind));
  out.push_back(' ');
  put_string(out, node);
  out.push_back(' ');
  return out;
}

/// Packs encoded parts (each starting with a space) into payloads of `kind`.
void pack(Kind kind, std::string_view node, const std::vector<std::string>& parts,
          std::size_t limit, std::vector<Frame>& frames) {
  const std::string head = prefix(kind, node);
  std::size_t first = 0;
  std::size_t size = 0;
  auto flush = [&](std::size_t end) {
    if (end == first) {
      return;
    }
    Frame frame;
    frame.payload.reserve(head.size() + digits(end - first) + size);
    frame.payload = head;
    put_number(frame.payload, end - first);
    for (std::size_t i = first; i < end; ++i) {
      frame.payload += parts[i];
    }
    frame.oversized = frame.payload.size() > limit;
    frames.push_back(std::move(frame));
    first = end;
    size = 0;
  };
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const std::size_t count = i - first + 1;
    if (i > first && head.size() + digits(count) + size + parts[i].size() > limit) {
      flush(i);
    }
    size += parts[i].size();
  }
  flush(parts.size());
}

class Reader {
 public:
  explicit Reader(std::string_view text) : text_(text) {}

  bool done() const { return pos_ == text_.size(); }

  bool literal(std::string_view expected) {
    if (text_.substr(pos_, expected.size()) != expected) {
      return false;
    }
    pos_ += expected.size();
    return true;
  }

  bool space() { return literal(" "); }

  std::optional<std::uint64_t> number() {
    const std::size_t start = pos_;
    std::uint64_t value = 0;
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
      const auto digit = static_cast<std::uint64_t>(text_[pos_] - '0');
      if (value > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) {
        return std::nullopt;
      }
      value = value * 10 + digit;
      ++pos_;
    }
    const std::size_t length = pos_ - start;
    if (length == 0 || (length > 1 && text_[start] == '0')) {
      return std::nullopt;  // none, or a leading zero: not what encode() writes
    }
    return value;
  }

  std::optional<std::string> string() {
    auto length = number();
    if (!length || !literal(":") || *length > text_.size() - pos_) {
      return std::nullopt;
    }
    std::string out(text_.substr(pos_, static_cast<std::size_t>(*length)));
    pos_ += static_cast<std::size_t>(*length);
    return out;
  }

 private:
  std::string_view text_;
  std::size_t pos_ = 0;
};

std::optional<Item> read_item(Reader& in) {
  Item item;
  auto sequence = in.number();
  if (!sequence || !in.space()) {
    return std::nullopt;
  }
  item.sequence = *sequence;
  auto stanza = in.string();
  if (!stanza || !in.space()) {
    return std::nullopt;
  }
  item.stanza = std::move(*stanza);
  auto count = in.number();
  if (!count) {
    return std::nullopt;
  }
  for (std::uint64_t i = 0; i < *count; ++i) {
    if (!in.space()) {
      return std::nullopt;
    }
    auto user = in.string();
    if (!user || !in.space()) {
      return std::nullopt;
    }
    auto prev = in.number();
    if (!prev) {
      return std::nullopt;
    }
    item.recipients.push_back(Recipient{std::move(*user), *prev});
  }
  return item;
}

}  // namespace

std::vector<Frame> encode(std::string_view node, const std::vector<Item>& items,
                          const std::vector<std::string>& logouts, std::size_t limit) {
  std::vector<Frame> frames;
  std::vector<std::string> parts;
  parts.reserve(items.size());
  for (const Item& item : items) {
    std::string part;
    part.reserve(item.stanza.size() + 32 + 32 * item.recipients.size());
    part.push_back(' ');
    put_number(part, item.sequence);
    part.push_back(' ');
    put_string(part, item.stanza);
    part.push_back(' ');
    put_number(part, item.recipients.size());
    for (const Recipient& recipient : item.recipients) {
      part.push_back(' ');
      put_string(part, recipient.user);
      part.push_back(' ');
      put_number(part, recipient.prev);
    }
    parts.push_back(std::move(part));
  }
  pack(Kind::deliveries, node, parts, limit, frames);
  parts.clear();
  for (const std::string& user : logouts) {
    std::string part(" ");
    put_string(part, user);
    parts.push_back(std::move(part));
  }
  pack(Kind::logout, node, parts, limit, frames);
  return frames;
}

std::string encode_spilled(std::string_view node, std::int64_t id) {
  std::string out = prefix(Kind::spilled, node);
  put_number(out, static_cast<std::uint64_t>(id < 0 ? 0 : id));
  return out;
}

std::optional<Message> decode(std::string_view payload) {
  Reader in(payload);
  if (!in.literal(kMagic) || payload.size() < kMagic.size() + 2) {
    return std::nullopt;
  }
  Message message;
  const char kind = payload[kMagic.size()];
  if (kind != 'd' && kind != 'i' && kind != 's') {
    return std::nullopt;
  }
  message.kind = static_cast<Kind>(kind);
  in.literal(std::string_view(&payload[kMagic.size()], 1));
  if (!in.space()) {
    return std::nullopt;
  }
  auto node = in.string();
  if (!node || !in.space()) {
    return std::nullopt;
  }
  message.node = std::move(*node);
  auto count = in.number();
  if (!count) {
    return std::nullopt;
  }
  switch (message.kind) {
    case Kind::deliveries:
      for (std::uint64_t i = 0; i < *count; ++i) {
        if (!in.space()) {
          return std::nullopt;
        }
        auto item = read_item(in);
        if (!item) {
          return std::nullopt;
        }
        message.items.push_back(std::move(*item));
      }
      break;
    case Kind::logout:
      for (std::uint64_t i = 0; i < *count; ++i) {
        if (!in.space()) {
          return std::nullopt;
        }
        auto user = in.string();
        if (!user) {
          return std::nullopt;
        }
        message.users.push_back(std::move(*user));
      }
      break;
    case Kind::spilled:
      if (*count > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        return std::nullopt;
      }
      message.spilled_id = static_cast<std::int64_t>(*count);
      break;
  }
  if (!in.done()) {
    return std::nullopt;
  }
  return message;
}

}  // namespace mimrest::sql::detail::notice
