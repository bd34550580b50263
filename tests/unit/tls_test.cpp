#include "mimrest/tls.hpp"

#include <catch2/catch.hpp>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>

#include <stdlib.h>  // mkdtemp

using mimrest::install_tls_material;
using mimrest::load_tls_material;
using mimrest::TlsFiles;
using mimrest::TlsMaterial;

namespace {

/// A folder of its own under the temporary folder, removed at the end.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "mimrest-tls-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      throw std::runtime_error("mkdtemp failed");
    }
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

/// Two self-signed certificates for localhost with their keys, made once
/// with the openssl program: first.pem/first.key and second.pem/second.key.
const TempDir& keys() {
  static const TempDir dir;
  static const bool made = [] {
    for (const std::string name : {"first", "second"}) {
      const std::string command =
          "openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost -days 1 -keyout '" +
          dir.file(name + ".key") + "' -out '" + dir.file(name + ".pem") + "' >/dev/null 2>&1";
      if (std::system(command.c_str()) != 0) {
        return false;
      }
    }
    return true;
  }();
  REQUIRE(made);
  return dir;
}

TlsFiles first_files() {
  return {keys().file("first.pem"), keys().file("first.key")};
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

struct ContextFree {
  void operator()(SSL_CTX* context) const { SSL_CTX_free(context); }
};
using Context = std::unique_ptr<SSL_CTX, ContextFree>;

Context server_context() {
  Context context(SSL_CTX_new(TLS_server_method()));
  REQUIRE(context);
  return context;
}

struct SslFree {
  void operator()(SSL* ssl) const { SSL_free(ssl); }
};

/// Whether a client completes a TLS handshake with a server on `context`,
/// over a pair of memory BIOs.
bool handshake_succeeds(SSL_CTX* server) {
  Context client_context(SSL_CTX_new(TLS_client_method()));
  REQUIRE(client_context);
  SSL_CTX_set_verify(client_context.get(), SSL_VERIFY_NONE, nullptr);
  std::unique_ptr<SSL, SslFree> client(SSL_new(client_context.get()));
  std::unique_ptr<SSL, SslFree> server_end(SSL_new(server));
  REQUIRE(client);
  REQUIRE(server_end);
  BIO* client_bio = nullptr;
  BIO* server_bio = nullptr;
  REQUIRE(BIO_new_bio_pair(&client_bio, 0, &server_bio, 0) == 1);
  SSL_set_bio(client.get(), client_bio, client_bio);  // each SSL owns its end
  SSL_set_bio(server_end.get(), server_bio, server_bio);
  SSL_set_connect_state(client.get());
  SSL_set_accept_state(server_end.get());
  bool client_done = false;
  bool server_done = false;
  for (int round = 0; round < 100 && !(client_done && server_done); ++round) {
    if (!client_done) {
      const int result = SSL_do_handshake(client.get());
      if (result == 1) {
        client_done = true;
      } else if (SSL_get_error(client.get(), result) != SSL_ERROR_WANT_READ) {
        break;
      }
    }
    if (!server_done) {
      const int result = SSL_do_handshake(server_end.get());
      if (result == 1) {
        server_done = true;
      } else if (SSL_get_error(server_end.get(), result) != SSL_ERROR_WANT_READ) {
        break;
      }
    }
  }
  ERR_clear_error();
  return client_done && server_done;
}

}  // namespace

TEST_CASE("load_tls_material reads a matching certificate and key") {
  const auto material = load_tls_material(first_files());
  REQUIRE(material);
  CHECK(material->certificate_chain == read_file(keys().file("first.pem")));
  CHECK(material->private_key == read_file(keys().file("first.key")));
  CHECK(contains(material->certificate_chain, "-----BEGIN CERTIFICATE-----"));
}

TEST_CASE("a certificate file may carry a chain after the certificate") {
  TempDir dir;
  write_file(dir.file("chain.pem"),
             read_file(keys().file("first.pem")) + read_file(keys().file("second.pem")));
  const auto material = load_tls_material({dir.file("chain.pem"), keys().file("first.key")});
  REQUIRE(material);
  Context context = server_context();
  CHECK(install_tls_material(context.get(), *material));
}

TEST_CASE("a missing file is named in the error") {
  TempDir dir;
  const auto no_certificate = load_tls_material({dir.file("absent.pem"), keys().file("first.key")});
  REQUIRE_FALSE(no_certificate);
  CHECK(contains(no_certificate.error(), "certificate"));
  CHECK(contains(no_certificate.error(), dir.file("absent.pem")));

  const auto no_key = load_tls_material({keys().file("first.pem"), dir.file("absent.key")});
  REQUIRE_FALSE(no_key);
  CHECK(contains(no_key.error(), "private key"));
  CHECK(contains(no_key.error(), dir.file("absent.key")));

  const auto a_folder = load_tls_material({dir.file(""), keys().file("first.key")});
  CHECK_FALSE(a_folder);
}

TEST_CASE("a certificate file that is not PEM is refused") {
  TempDir dir;
  write_file(dir.file("garbage.pem"), "this is not a certificate\n");
  write_file(dir.file("empty.pem"), "");
  for (const std::string name : {"garbage.pem", "empty.pem"}) {
    INFO(name);
    const auto material = load_tls_material({dir.file(name), keys().file("first.key")});
    REQUIRE_FALSE(material);
    CHECK(contains(material.error(), "not a valid PEM certificate"));
    CHECK(contains(material.error(), dir.file(name)));
  }
  // A key where the certificate should be is not a certificate either.
  const auto swapped = load_tls_material({keys().file("first.key"), keys().file("first.pem")});
  REQUIRE_FALSE(swapped);
  CHECK(contains(swapped.error(), "not a valid PEM certificate"));
}

TEST_CASE("a key file that is not PEM is refused") {
  TempDir dir;
  write_file(dir.file("garbage.key"), "-----BEGIN PRIVATE KEY-----\nnot base64\n");
  write_file(dir.file("empty.key"), "");
  for (const std::string name : {"garbage.key", "empty.key"}) {
    INFO(name);
    const auto material = load_tls_material({keys().file("first.pem"), dir.file(name)});
    REQUIRE_FALSE(material);
    CHECK(contains(material.error(), "not a valid PEM private key"));
    CHECK(contains(material.error(), dir.file(name)));
  }
}

TEST_CASE("a key that does not belong to the certificate is refused") {
  const auto material = load_tls_material({keys().file("first.pem"), keys().file("second.key")});
  REQUIRE_FALSE(material);
  INFO(material.error());
  CHECK(contains(material.error(), keys().file("second.key")));
  CHECK(contains(material.error(), "does not match the certificate"));
  CHECK(contains(material.error(), keys().file("first.pem")));
}

TEST_CASE("errors leave no OpenSSL error behind") {
  TempDir dir;
  write_file(dir.file("garbage.pem"), "garbage");
  ERR_clear_error();
  CHECK_FALSE(load_tls_material({dir.file("garbage.pem"), keys().file("first.key")}));
  CHECK_FALSE(load_tls_material({keys().file("first.pem"), keys().file("second.key")}));
  CHECK(ERR_peek_error() == 0);
}

TEST_CASE("install_tls_material sets up a server context that completes handshakes") {
  const auto material = load_tls_material(first_files());
  REQUIRE(material);
  Context context = server_context();
  REQUIRE(install_tls_material(context.get(), *material));
  CHECK(SSL_CTX_get0_certificate(context.get()) != nullptr);
  CHECK(SSL_CTX_check_private_key(context.get()) == 1);
  CHECK(SSL_CTX_get_min_proto_version(context.get()) == TLS1_2_VERSION);
  CHECK(handshake_succeeds(context.get()));
  CHECK(ERR_peek_error() == 0);

  // The same material serves any number of contexts.
  Context another = server_context();
  CHECK(install_tls_material(another.get(), *material));
  CHECK(handshake_succeeds(another.get()));
}

TEST_CASE("install_tls_material answers false for unusable material") {
  const auto first = load_tls_material(first_files());
  const auto second = load_tls_material({keys().file("second.pem"), keys().file("second.key")});
  REQUIRE(first);
  REQUIRE(second);

  CHECK_FALSE(install_tls_material(nullptr, *first));

  Context mismatched = server_context();
  CHECK_FALSE(install_tls_material(mismatched.get(),
                                   TlsMaterial{first->certificate_chain, second->private_key}));
  CHECK_FALSE(handshake_succeeds(mismatched.get()));
  // A failure leaves the context as it was: without a certificate here...
  CHECK(SSL_CTX_get0_certificate(mismatched.get()) == nullptr);
  // ...and with its working pair there.
  Context working = server_context();
  REQUIRE(install_tls_material(working.get(), *first));
  CHECK_FALSE(install_tls_material(working.get(),
                                   TlsMaterial{second->certificate_chain, first->private_key}));
  CHECK(handshake_succeeds(working.get()));

  Context garbage = server_context();
  CHECK_FALSE(install_tls_material(garbage.get(), TlsMaterial{"garbage", "garbage"}));
  CHECK_FALSE(handshake_succeeds(garbage.get()));

  Context no_key = server_context();
  CHECK_FALSE(install_tls_material(no_key.get(), TlsMaterial{first->certificate_chain, ""}));
  CHECK_FALSE(handshake_succeeds(no_key.get()));
  CHECK(ERR_peek_error() == 0);
}
