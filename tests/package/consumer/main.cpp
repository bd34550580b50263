// Links against the installed package and checks a few results, so that a
// broken export (missing headers, libraries or dependencies) fails here.
#include <mimrest/crypto.hpp>
#include <mimrest/jid.hpp>

#include <cstdio>
#include <string>

namespace {

int failures = 0;

void expect(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "FAILED: %s\n", what);
    ++failures;
  }
}

}  // namespace

int main() {
  const auto jid = mimrest::Jid::parse("Alice@LOCALHOST/Phone");
  expect(jid.has_value(), "Jid::parse accepts a valid JID");
  if (jid) {
    expect(jid->to_string() == "alice@localhost/Phone", "JID is prepared");
    expect(jid->bare_string() == "alice@localhost", "bare JID");
  }
  expect(!mimrest::Jid::parse("@localhost").has_value(), "Jid::parse rejects an empty localpart");

  expect(mimrest::base64_encode("alice@localhost:secret") == "YWxpY2VAbG9jYWxob3N0OnNlY3JldA==",
         "base64_encode");
  const auto decoded = mimrest::base64_decode("YWxpY2VAbG9jYWxob3N0OnNlY3JldA==");
  expect(decoded && *decoded == "alice@localhost:secret", "base64_decode");
  expect(mimrest::random_uuid().size() == 36, "random_uuid");

  if (failures == 0) {
    std::puts("package consumer: all checks passed");
  }
  return failures == 0 ? 0 : 1;
}
