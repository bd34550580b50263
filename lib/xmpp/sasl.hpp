// The client side of the SASL mechanisms the XMPP client uses: SCRAM-SHA-256
// and SCRAM-SHA-1 (RFC 5802, RFC 7677; no channel binding) and PLAIN
// (RFC 4616), all on OpenSSL.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/detail/test_export.hpp"
#include "mimrest/expected.hpp"

namespace mimrest::xmpp {

enum class SaslMechanism { scram_sha_256, scram_sha_1, plain };

/// "SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN".
MIMREST_TEST_EXPORT std::string_view to_string(SaslMechanism mechanism) noexcept;

/// The best offered mechanism: SCRAM-SHA-256, then SCRAM-SHA-1, then PLAIN
/// only when `tls` (the stream is encrypted; PLAIN sends the password).
MIMREST_TEST_EXPORT std::optional<SaslMechanism> choose_mechanism(
    const std::vector<std::string>& offered, bool tls);

/// SASLprep (RFC 4013) of a user name or password for authentication: ASCII
/// without control characters as it is, anything else through GNU Libidn's
/// profile; nullopt when the profile refuses the text.
MIMREST_TEST_EXPORT std::optional<std::string> saslprep(std::string_view text);

/// The PLAIN message: no authorization identity, the user name, the password.
MIMREST_TEST_EXPORT std::string plain_message(std::string_view username, std::string_view password);

/// Why a SCRAM exchange cannot go on.
enum class ScramError {
  bad_message,       ///< the server's message does not parse
  nonce_mismatch,    ///< the server nonce does not start with the client's
  bad_iterations,    ///< i outside [1, ScramClient::max_iterations]
  server_error,      ///< the server-final message is e=...
  bad_signature,     ///< the server signature does not match: not the server that knows the key
  invalid_password,  ///< SASLprep refused the password
  wrong_state,       ///< a step out of order
};

MIMREST_TEST_EXPORT std::string_view to_string(ScramError error) noexcept;

/// One SCRAM exchange: client-first -> server-first -> client-final ->
/// server-final. Not synchronised.
class MIMREST_TEST_EXPORT ScramClient {
 public:
  /// More iterations than this are refused: the server would make the client
  /// spend seconds of CPU (a denial of service); real servers use 4096 to
  /// some 100000.
  static constexpr unsigned long max_iterations = 1000000;

  /// `nonce`: printable ASCII without ',' (base64 of random bytes does); for
  /// tests, make() draws one from random_bytes().
  ScramClient(SaslMechanism mechanism, std::string_view username, std::string password,
              std::string nonce);
  static ScramClient make(SaslMechanism mechanism, std::string_view username, std::string password);

  /// "n,,n=<user>,r=<nonce>", the user name SASLprep'd and escaped.
  std::string client_first() const;
  /// The client-final message for the server-first message.
  Expected<std::string, ScramError> client_final(std::string_view server_first);
  /// Checks the server-final message ("v=<signature>").
  Expected<void, ScramError> verify_server_final(std::string_view server_final);
  /// The error text of an "e=..." server-final message, after server_error.
  const std::string& server_error_text() const noexcept { return server_error_; }

 private:
  SaslMechanism mechanism_;
  std::string username_;  ///< escaped for the message
  std::string password_;
  std::string nonce_;
  std::string client_first_bare_;
  std::string server_signature_;  ///< expected, once client_final has run
  std::string server_error_;
};

}  // namespace mimrest::xmpp
