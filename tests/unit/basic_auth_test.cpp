#include "mimrest/basic_auth.hpp"

#include <catch2/catch.hpp>

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "await.hpp"
#include "mimrest/crypto.hpp"
#include "mimrest/password_verifier.hpp"

using mimrest::Jid;
using mimrest::parse_basic_authorization;
using mimrest::PasswordVerifier;
using mimrest::VerifyResult;

namespace {

// Accounts keyed by prepared bare JID; records what it was asked.
class FakeVerifier final : public mimrest::SyncPasswordVerifier<> {
 public:
  void add(std::string user, std::string password) {
    accounts_[std::move(user)] = std::move(password);
  }
  VerifyResult verify(const Jid& user, std::string_view password) override {
    std::lock_guard<std::mutex> lock(mutex_);
    ++calls_;
    last_user_ = user.to_string();
    const auto it = accounts_.find(user.to_string());
    return it != accounts_.end() && it->second == password;
  }
  int calls() const { return calls_; }
  const std::string& last_user() const { return last_user_; }

 private:
  std::mutex mutex_;
  std::map<std::string, std::string> accounts_;
  int calls_ = 0;
  std::string last_user_;
};

std::string header_for(std::string_view user_pass) {
  return "Basic " + mimrest::base64_encode(user_pass);
}

/// Basic authentication as the Api performs it: parse the header, then ask
/// the verifier about well-formed credentials only. The user on success.
class BasicAuthenticator {
 public:
  explicit BasicAuthenticator(PasswordVerifier& verifier) : verifier_(verifier) {}
  std::optional<Jid> authenticate(std::optional<std::string_view> header) const {
    if (!header) {
      return std::nullopt;
    }
    auto credentials = parse_basic_authorization(*header);
    if (!credentials) {
      return std::nullopt;
    }
    const VerifyResult verified = mimrest::test::await(verifier_, &PasswordVerifier::async_verify,
                                                       credentials->user, credentials->password);
    REQUIRE(verified);
    if (!*verified) {
      return std::nullopt;
    }
    return credentials->user;
  }

 private:
  PasswordVerifier& verifier_;
};

}  // namespace

TEST_CASE("the example of the API description") {
  const std::string header = "Basic YWxpY2VAbG9jYWxob3N0OnNlY3JldA==";
  CHECK(header == header_for("alice@localhost:secret"));
  const auto credentials = parse_basic_authorization(header);
  REQUIRE(credentials.has_value());
  CHECK(credentials->user.to_string() == "alice@localhost");
  CHECK(credentials->password == "secret");

  FakeVerifier verifier;
  verifier.add("alice@localhost", "secret");
  const BasicAuthenticator auth(verifier);
  const auto user = auth.authenticate(std::string_view(header));
  REQUIRE(user.has_value());
  CHECK(user->to_string() == "alice@localhost");
}

TEST_CASE("the user is prepared before the lookup") {
  const auto credentials = parse_basic_authorization(header_for("Alice@LOCALHOST:secret"));
  REQUIRE(credentials.has_value());
  CHECK(credentials->user.to_string() == "alice@localhost");

  FakeVerifier verifier;
  verifier.add("alice@localhost", "secret");
  const BasicAuthenticator auth(verifier);
  const std::string header = header_for("ALICE@LocalHost:secret");
  const auto user = auth.authenticate(std::string_view(header));
  REQUIRE(user.has_value());
  CHECK(user->to_string() == "alice@localhost");
  CHECK(verifier.last_user() == "alice@localhost");
}

TEST_CASE("the scheme is case-insensitive and spaces around the token are tolerated") {
  for (const std::string scheme : {"Basic", "basic", "BASIC", "bAsIc"}) {
    INFO(scheme);
    const auto credentials =
        parse_basic_authorization(scheme + " " + mimrest::base64_encode("bob@localhost:pw"));
    REQUIRE(credentials.has_value());
    CHECK(credentials->user.to_string() == "bob@localhost");
  }
  const std::string token = mimrest::base64_encode("bob@localhost:pw");
  CHECK(parse_basic_authorization("Basic    " + token).has_value());
  CHECK(parse_basic_authorization("Basic " + token + "  ").has_value());
  CHECK(parse_basic_authorization("  Basic " + token).has_value());
}

TEST_CASE("the password is split at the first colon and may hold any UTF-8") {
  const auto colons = parse_basic_authorization(header_for("bob@localhost:a:b::c:"));
  REQUIRE(colons.has_value());
  CHECK(colons->user.to_string() == "bob@localhost");
  CHECK(colons->password == "a:b::c:");

  const std::string unicode = "p\xC3\xA4ss w\xC3\xB6rd \xE2\x82\xAC \xF0\x9F\x94\x91";
  const auto credentials = parse_basic_authorization(header_for("bob@localhost:" + unicode));
  REQUIRE(credentials.has_value());
  CHECK(credentials->password == unicode);

  FakeVerifier verifier;
  verifier.add("bob@localhost", unicode);
  verifier.add("carol@localhost", "x:y:z");
  const BasicAuthenticator auth(verifier);
  const std::string h1 = header_for("bob@localhost:" + unicode);
  const std::string h2 = header_for("carol@localhost:x:y:z");
  CHECK(auth.authenticate(std::string_view(h1)).has_value());
  CHECK(auth.authenticate(std::string_view(h2)).has_value());
}

TEST_CASE("every malformed or wrong header answers nullopt") {
  FakeVerifier verifier;
  verifier.add("alice@localhost", "secret");
  const BasicAuthenticator auth(verifier);
  const std::string good = mimrest::base64_encode("alice@localhost:secret");

  CHECK_FALSE(auth.authenticate(std::nullopt).has_value());

  const std::string cases[] = {
      "",
      "Bearer x",
      "Bearer " + good,
      "Basic",
      "Basic ",
      "Basic" + good,                                           // no space
      "Basic\t" + good,                                         // tab is not a separator
      "Basics " + good,                                         // other scheme
      "Basic " + good + " extra",                               // trailing garbage
      "Basic " + good + "," + good,                             // two tokens
      "Basic YWxpY2VAbG9jYWxob3N0OnNlY3JldA",                   // missing padding
      "Basic YWxpY2VAbG9jYWxob3N0OnNlY3JldA=",                  // short padding
      "Basic YWxpY2VAbG9jYWxob3N0OnNlY3JldA==\n",               // newline
      "Basic YWxpY2VAbG9j YWxob3N0OnNlY3JldA==",                // space inside
      "Basic !!!!",                                             // bad base64
      "Basic YWxpY2VAbG9jYWxob3N0OnNlY3JldA-_",                 // URL-safe alphabet
      header_for("alice@localhost"),                            // no colon
      header_for(":secret"),                                    // empty user
      header_for("alice@localhost:"),                           // empty password
      header_for("alice@localhost/phone:secret"),               // JID with a resource
      header_for("localhost:secret"),                           // no localpart
      header_for("@localhost:secret"),                          // empty localpart
      header_for("al ice@localhost:secret"),                    // invalid JID
      header_for("alice@:secret"),                              // empty domain
      header_for(std::string("al\0ice@localhost:secret", 23)),  // NUL
      header_for("al\xFFice@localhost:secret"),                 // invalid UTF-8
      header_for("bob@localhost:secret"),                       // unknown user
      header_for("alice@otherhost:secret"),                     // unknown domain
      header_for("alice@localhost:Secret"),                     // wrong password
      header_for("alice@localhost:secret "),                    // wrong password
  };
  for (const std::string& header : cases) {
    INFO("header [" << header << "]");
    CHECK_FALSE(auth.authenticate(std::string_view(header)).has_value());
  }
  // The well-formed ones among them did reach the verifier; nothing else did.
  CHECK(verifier.calls() == 4);

  const std::string ok = "Basic " + good;
  CHECK(auth.authenticate(std::string_view(ok)).has_value());
}

TEST_CASE("parse failures of parse_basic_authorization itself") {
  CHECK_FALSE(parse_basic_authorization("Basic").has_value());
  CHECK_FALSE(parse_basic_authorization(header_for("nocolon")).has_value());
  CHECK_FALSE(parse_basic_authorization(header_for("alice@localhost/r:pw")).has_value());
  CHECK_FALSE(parse_basic_authorization(header_for("alice@localhost:")).has_value());
}
