#include "xmpp/sasl.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <stringprep.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <memory>
#include <utility>

#include "mimrest/crypto.hpp"

namespace mimrest::xmpp {
namespace {

const EVP_MD* digest_of(SaslMechanism mechanism) {
  return mechanism == SaslMechanism::scram_sha_1 ? EVP_sha1() : EVP_sha256();
}

std::string hmac(const EVP_MD* md, std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (HMAC(md, key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), out,
           &length) == nullptr) {
    return {};
  }
  return std::string(reinterpret_cast<const char*>(out), length);
}

std::string hash(const EVP_MD* md, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(data.data(), data.size(), out, &length, md, nullptr) != 1) {
    return {};
  }
  return std::string(reinterpret_cast<const char*>(out), length);
}

std::string exclusive_or(std::string a, std::string_view b) {
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) {
    a[i] = static_cast<char>(a[i] ^ b[i]);
  }
  return a;
}

/// "=" and "," of a user name as RFC 5802 section 5.1 escapes them.
std::string escape_username(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  for (const char c : name) {
    if (c == '=') {
      out += "=3D";
    } else if (c == ',') {
      out += "=2C";
    } else {
      out += c;
    }
  }
  return out;
}

/// The attributes of a SCRAM message: "a=value" separated by commas.
struct Attributes {
  std::vector<std::pair<char, std::string_view>> items;
  std::optional<std::string_view> get(char name) const {
    for (const auto& [key, value] : items) {
      if (key == name) {
        return value;
      }
    }
    return std::nullopt;
  }
};

std::optional<Attributes> parse_attributes(std::string_view message) {
  Attributes attributes;
  while (!message.empty()) {
    const std::size_t comma = message.find(',');
    const std::string_view item = message.substr(0, comma);
    if (item.size() < 2 || item[1] != '=' ||
        !((item[0] >= 'a' && item[0] <= 'z') || (item[0] >= 'A' && item[0] <= 'Z'))) {
      return std::nullopt;
    }
    attributes.items.emplace_back(item[0], item.substr(2));
    if (comma == std::string_view::npos) {
      break;
    }
    message.remove_prefix(comma + 1);
    if (message.empty()) {
      return std::nullopt;  // a trailing comma
    }
  }
  return attributes;
}

bool printable_without_comma(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return c >= 0x21 && c <= 0x7E && c != ','; });
}

}  // namespace

std::string_view to_string(SaslMechanism mechanism) noexcept {
  switch (mechanism) {
    case SaslMechanism::scram_sha_256:
      return "SCRAM-SHA-256";
    case SaslMechanism::scram_sha_1:
      return "SCRAM-SHA-1";
    case SaslMechanism::plain:
      return "PLAIN";
  }
  return "";
}

std::optional<SaslMechanism> choose_mechanism(const std::vector<std::string>& offered, bool tls) {
  const auto has = [&](SaslMechanism mechanism) {
    return std::find(offered.begin(), offered.end(), to_string(mechanism)) != offered.end();
  };
  for (const SaslMechanism mechanism : {SaslMechanism::scram_sha_256, SaslMechanism::scram_sha_1}) {
    if (has(mechanism)) {
      return mechanism;
    }
  }
  if (tls && has(SaslMechanism::plain)) {
    return SaslMechanism::plain;
  }
  return std::nullopt;
}

std::optional<std::string> saslprep(std::string_view text) {
  const bool plain_ascii = std::all_of(text.begin(), text.end(), [](char c) {
    return static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) < 0x7F;
  });
  if (plain_ascii) {
    return std::string(text);
  }
  if (text.find('\0') != std::string_view::npos) {
    return std::nullopt;
  }
  char* out = nullptr;
  // Flags 0: unassigned code points are allowed, as for a query (RFC 4013
  // section 2.4 leaves stored strings to the server).
  if (stringprep_profile(std::string(text).c_str(), &out, "SASLprep", Stringprep_profile_flags{}) !=
      STRINGPREP_OK) {
    std::free(out);
    return std::nullopt;
  }
  std::string prepared(out);
  std::free(out);
  return prepared;
}

std::string plain_message(std::string_view username, std::string_view password) {
  std::string message;
  message += '\0';
  message += username;
  message += '\0';
  message += password;
  return message;
}

std::string_view to_string(ScramError error) noexcept {
  switch (error) {
    case ScramError::bad_message:
      return "malformed SCRAM message";
    case ScramError::nonce_mismatch:
      return "the server nonce does not extend the client nonce";
    case ScramError::bad_iterations:
      return "iteration count out of bounds";
    case ScramError::server_error:
      return "the server reported an error";
    case ScramError::bad_signature:
      return "wrong server signature";
    case ScramError::invalid_password:
      return "the password cannot be prepared (SASLprep)";
    case ScramError::wrong_state:
      return "SCRAM step out of order";
  }
  return "SCRAM error";
}

ScramClient::ScramClient(SaslMechanism mechanism, std::string_view username, std::string password,
                         std::string nonce)
    : mechanism_(mechanism),
      username_(escape_username(saslprep(username).value_or(std::string(username)))),
      password_(std::move(password)),
      nonce_(std::move(nonce)) {
  client_first_bare_ = "n=" + username_ + ",r=" + nonce_;
}

ScramClient ScramClient::make(SaslMechanism mechanism, std::string_view username,
                              std::string password) {
  // 18 random bytes: 24 base64 characters, none of them a comma.
  return ScramClient(mechanism, username, std::move(password), base64_encode(random_bytes(18)));
}

std::string ScramClient::client_first() const {
  return "n,," + client_first_bare_;
}

Expected<std::string, ScramError> ScramClient::client_final(std::string_view server_first) {
  if (!server_signature_.empty()) {
    return unexpected(ScramError::wrong_state);
  }
  const std::optional<Attributes> attributes = parse_attributes(server_first);
  if (!attributes || attributes->items.size() < 3 || attributes->items[0].first != 'r' ||
      attributes->items[1].first != 's' || attributes->items[2].first != 'i') {
    // A leading m= (a mandatory extension) is not understood, so refused too.
    return unexpected(ScramError::bad_message);
  }
  const std::string_view server_nonce = attributes->items[0].second;
  if (server_nonce.size() <= nonce_.size() || server_nonce.substr(0, nonce_.size()) != nonce_ ||
      !printable_without_comma(server_nonce)) {
    return unexpected(ScramError::nonce_mismatch);
  }
  const std::optional<std::string> salt = base64_decode(attributes->items[1].second);
  if (!salt || salt->empty()) {
    return unexpected(ScramError::bad_message);
  }
  const std::string_view count = attributes->items[2].second;
  if (count.empty() || count.size() > 9 ||
      !std::all_of(count.begin(), count.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return unexpected(ScramError::bad_iterations);
  }
  const unsigned long iterations = std::stoul(std::string(count));
  if (iterations < 1 || iterations > max_iterations) {
    return unexpected(ScramError::bad_iterations);
  }
  const std::optional<std::string> password = saslprep(password_);
  if (!password || password->size() > static_cast<std::size_t>(INT_MAX) ||
      salt->size() > static_cast<std::size_t>(INT_MAX)) {
    return unexpected(ScramError::invalid_password);
  }

  const EVP_MD* md = digest_of(mechanism_);
  std::string salted(static_cast<std::size_t>(EVP_MD_size(md)), '\0');
  if (PKCS5_PBKDF2_HMAC(password->data(), static_cast<int>(password->size()),
                        reinterpret_cast<const unsigned char*>(salt->data()),
                        static_cast<int>(salt->size()), static_cast<int>(iterations), md,
                        static_cast<int>(salted.size()),
                        reinterpret_cast<unsigned char*>(salted.data())) != 1) {
    return unexpected(ScramError::invalid_password);
  }
  const std::string client_key = hmac(md, salted, "Client Key");
  const std::string stored_key = hash(md, client_key);
  // c=biws: base64 of the GS2 header "n,," (no channel binding).
  const std::string without_proof = "c=biws,r=" + std::string(server_nonce);
  const std::string auth_message =
      client_first_bare_ + "," + std::string(server_first) + "," + without_proof;
  const std::string client_signature = hmac(md, stored_key, auth_message);
  const std::string proof = exclusive_or(client_key, client_signature);
  const std::string server_key = hmac(md, salted, "Server Key");
  server_signature_ = hmac(md, server_key, auth_message);
  if (client_key.empty() || stored_key.empty() || server_signature_.empty()) {
    server_signature_.clear();
    return unexpected(ScramError::invalid_password);
  }
  return without_proof + ",p=" + base64_encode(proof);
}

Expected<void, ScramError> ScramClient::verify_server_final(std::string_view server_final) {
  if (server_signature_.empty()) {
    return unexpected(ScramError::wrong_state);
  }
  const std::optional<Attributes> attributes = parse_attributes(server_final);
  if (!attributes || attributes->items.empty()) {
    return unexpected(ScramError::bad_message);
  }
  if (const auto error = attributes->get('e'); error && attributes->items[0].first == 'e') {
    server_error_ = std::string(*error);
    return unexpected(ScramError::server_error);
  }
  if (attributes->items[0].first != 'v') {
    return unexpected(ScramError::bad_message);
  }
  const std::optional<std::string> signature = base64_decode(attributes->items[0].second);
  if (!signature) {
    return unexpected(ScramError::bad_message);
  }
  if (!constant_time_equal(*signature, server_signature_)) {
    return unexpected(ScramError::bad_signature);
  }
  return {};
}

}  // namespace mimrest::xmpp
