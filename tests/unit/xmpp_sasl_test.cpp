#include "xmpp/sasl.hpp"

#include <catch2/catch.hpp>

#include <string>

#include "mimrest/crypto.hpp"

using mimrest::xmpp::choose_mechanism;
using mimrest::xmpp::plain_message;
using mimrest::xmpp::SaslMechanism;
using mimrest::xmpp::saslprep;
using mimrest::xmpp::ScramClient;
using mimrest::xmpp::ScramError;

TEST_CASE("SCRAM-SHA-1: the exchange of RFC 5802 section 5") {
  ScramClient scram(SaslMechanism::scram_sha_1, "user", "pencil", "fyko+d2lbbFgONRv9qkxdawL");
  CHECK(scram.client_first() == "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL");
  const auto final_message =
      scram.client_final("r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096");
  REQUIRE(final_message);
  CHECK(*final_message ==
        "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=");
  CHECK(scram.verify_server_final("v=rmF9pqV8S7suAoZWja4dJRkFsKQ="));
}

TEST_CASE("SCRAM-SHA-256: the exchange of RFC 7677 section 3") {
  ScramClient scram(SaslMechanism::scram_sha_256, "user", "pencil", "rOprNGfwEbeRWgbNEkqO");
  CHECK(scram.client_first() == "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
  const auto final_message = scram.client_final(
      "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096");
  REQUIRE(final_message);
  CHECK(*final_message ==
        "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
        "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
  CHECK(scram.verify_server_final("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="));
}

TEST_CASE("SCRAM refuses a wrong server signature and reports a server error") {
  ScramClient scram(SaslMechanism::scram_sha_256, "user", "pencil", "rOprNGfwEbeRWgbNEkqO");
  REQUIRE(scram.client_final(
      "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"));
  // The signature a server that does not know the key would send.
  const auto wrong = scram.verify_server_final("v=" + mimrest::base64_encode(std::string(32, 'x')));
  REQUIRE_FALSE(wrong);
  CHECK(wrong.error() == ScramError::bad_signature);
  CHECK(scram.verify_server_final("v=####").error() == ScramError::bad_message);
  const auto error = scram.verify_server_final("e=invalid-proof");
  REQUIRE_FALSE(error);
  CHECK(error.error() == ScramError::server_error);
  CHECK(scram.server_error_text() == "invalid-proof");
}

TEST_CASE("SCRAM checks the server-first message") {
  const auto final_for = [](const std::string& server_first) {
    ScramClient scram(SaslMechanism::scram_sha_1, "user", "pencil", "abc");
    return scram.client_final(server_first);
  };
  CHECK(final_for("r=abcdef,s=QSXCR+Q6sek8bf92,i=4096"));
  CHECK(final_for("r=xyzdef,s=QSXCR+Q6sek8bf92,i=4096").error() == ScramError::nonce_mismatch);
  CHECK(final_for("r=abc,s=QSXCR+Q6sek8bf92,i=4096").error() == ScramError::nonce_mismatch);
  CHECK(final_for("r=abcdef,s=QSXCR+Q6sek8bf92,i=0").error() == ScramError::bad_iterations);
  CHECK(final_for("r=abcdef,s=QSXCR+Q6sek8bf92,i=1000001").error() == ScramError::bad_iterations);
  CHECK(final_for("r=abcdef,s=QSXCR+Q6sek8bf92,i=99999999999").error() ==
        ScramError::bad_iterations);
  CHECK(final_for("r=abcdef,s=QSXCR+Q6sek8bf92,i=-1").error() == ScramError::bad_iterations);
  CHECK(final_for("r=abcdef,s=QSXCR+Q6sek8bf92,i=1"));
  CHECK(final_for("m=ext,r=abcdef,s=QSXCR+Q6sek8bf92,i=4096").error() == ScramError::bad_message);
  CHECK(final_for("r=abcdef,s=not base64,i=4096").error() == ScramError::bad_message);
  CHECK(final_for("r=abcdef,i=4096").error() == ScramError::bad_message);
  CHECK(final_for("").error() == ScramError::bad_message);
  CHECK(final_for("r=abcdef,s=QSXCR+Q6sek8bf92,i=4096,").error() == ScramError::bad_message);
}

TEST_CASE("SCRAM steps out of order are refused") {
  ScramClient scram(SaslMechanism::scram_sha_1, "user", "pencil", "abc");
  CHECK(scram.verify_server_final("v=rmF9pqV8S7suAoZWja4dJRkFsKQ=").error() ==
        ScramError::wrong_state);
  REQUIRE(scram.client_final("r=abcdef,s=QSXCR+Q6sek8bf92,i=1"));
  CHECK(scram.client_final("r=abcdef,s=QSXCR+Q6sek8bf92,i=1").error() == ScramError::wrong_state);
}

TEST_CASE("SCRAM escapes '=' and ',' in the user name") {
  ScramClient scram(SaslMechanism::scram_sha_256, "a=b,c", "pw", "n0nce");
  CHECK(scram.client_first() == "n,,n=a=3Db=2Cc,r=n0nce");
}

TEST_CASE("SCRAM nonces are fresh and printable") {
  const auto first = ScramClient::make(SaslMechanism::scram_sha_256, "u", "p").client_first();
  const auto second = ScramClient::make(SaslMechanism::scram_sha_256, "u", "p").client_first();
  CHECK(first != second);
  CHECK(first.rfind("n,,n=u,r=", 0) == 0);
  CHECK(first.size() == std::string("n,,n=u,r=").size() + 24);
}

TEST_CASE("SASLprep keeps ASCII and maps or refuses the rest (RFC 4013 section 3)") {
  CHECK(saslprep("user") == "user");
  CHECK(saslprep("I\xC2\xADX") == "IX");    // soft hyphen mapped to nothing
  CHECK(saslprep("\xC2\xAA") == "a");       // NFKC
  CHECK(saslprep("\xE2\x85\xA8") == "IX");  // U+2168 ROMAN NUMERAL NINE
  CHECK(saslprep("a\xC2\xA0"
                 "b") == "a b");                   // non-ASCII space to space
  CHECK_FALSE(saslprep(std::string("a\x07", 2)));  // control character
  CHECK_FALSE(
      saslprep("\xD8\xA7"
               "1"));  // RandALCat first but not last (bidi)
  CHECK_FALSE(saslprep(std::string("a\0b", 3)));
}

TEST_CASE("The best mechanism: SCRAM-SHA-256, SCRAM-SHA-1, then PLAIN over TLS only") {
  CHECK(choose_mechanism({"PLAIN", "SCRAM-SHA-1", "SCRAM-SHA-256"}, false) ==
        SaslMechanism::scram_sha_256);
  CHECK(choose_mechanism({"PLAIN", "SCRAM-SHA-1"}, false) == SaslMechanism::scram_sha_1);
  CHECK(choose_mechanism({"PLAIN"}, true) == SaslMechanism::plain);
  CHECK_FALSE(choose_mechanism({"PLAIN"}, false));
  CHECK_FALSE(choose_mechanism({"DIGEST-MD5", "X-OAUTH2"}, true));
  CHECK(choose_mechanism({"SCRAM-SHA-1-PLUS", "SCRAM-SHA-1"}, true) == SaslMechanism::scram_sha_1);
}

TEST_CASE("The PLAIN message has no authorization identity") {
  CHECK(plain_message("alice", "secret") == std::string("\0alice\0secret", 13));
}
