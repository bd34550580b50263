#include "mimrest/tls.hpp"

#include <fstream>
#include <memory>
#include <vector>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

namespace mimrest {
namespace {

// PEM files are small; anything far larger is not a certificate or key.
constexpr std::streamoff max_pem_bytes = 1 << 20;

Expected<std::string, std::string> read_pem_file(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return unexpected(std::string("cannot read TLS ") + what + " file '" + path + "'");
  }
  std::string text;
  char chunk[4096];
  while (in.read(chunk, sizeof chunk) || in.gcount() > 0) {
    text.append(chunk, static_cast<std::size_t>(in.gcount()));
    if (static_cast<std::streamoff>(text.size()) > max_pem_bytes) {
      return unexpected(std::string("TLS ") + what + " file '" + path + "' is too large");
    }
  }
  if (in.bad()) {
    return unexpected(std::string("cannot read TLS ") + what + " file '" + path + "'");
  }
  return text;
}

std::string openssl_reason() {
  const unsigned long code = ERR_peek_last_error();
  char text[256] = "unknown error";
  if (code != 0) {
    ERR_error_string_n(code, text, sizeof text);
  }
  ERR_clear_error();
  return text;
}

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct X509Free {
  void operator()(X509* x509) const { X509_free(x509); }
};
struct KeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct ContextFree {
  void operator()(SSL_CTX* context) const { SSL_CTX_free(context); }
};

std::unique_ptr<BIO, BioFree> memory_bio(const std::string& text) {
  return std::unique_ptr<BIO, BioFree>(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

enum class Failed { none, certificate, key, mismatch };

/// The material, parsed and checked, before anything touches a context.
struct Parsed {
  std::unique_ptr<X509, X509Free> leaf;
  std::vector<std::unique_ptr<X509, X509Free>> chain;
  std::unique_ptr<EVP_PKEY, KeyFree> key;
};

Failed parse(const TlsMaterial& material, Parsed& parsed) {
  auto chain = memory_bio(material.certificate_chain);
  if (!chain) {
    return Failed::certificate;
  }
  parsed.leaf.reset(PEM_read_bio_X509_AUX(chain.get(), nullptr, nullptr, nullptr));
  if (!parsed.leaf) {
    return Failed::certificate;
  }
  while (X509* extra = PEM_read_bio_X509(chain.get(), nullptr, nullptr, nullptr)) {
    parsed.chain.emplace_back(extra);
  }
  ERR_clear_error();  // the loop ends on "no start line"
  auto key_bio = memory_bio(material.private_key);
  if (key_bio) {
    parsed.key.reset(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  }
  if (!parsed.key) {
    return Failed::key;
  }
  if (X509_check_private_key(parsed.leaf.get(), parsed.key.get()) != 1) {
    return Failed::mismatch;
  }
  return Failed::none;
}

/// Checks everything first, so that a failure leaves the context as it was.
Failed install(SSL_CTX* context, const TlsMaterial& material) {
  Parsed parsed;
  if (Failed failed = parse(material, parsed); failed != Failed::none) {
    return failed;
  }
  SSL_CTX_set_options(context, SSL_OP_NO_SSLv2 | SSL_OP_NO_SSLv3 | SSL_OP_SINGLE_DH_USE);
  // TLS 1.2 is the oldest version still considered safe.
  SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION);
  if (SSL_CTX_use_certificate(context, parsed.leaf.get()) != 1 ||
      SSL_CTX_use_PrivateKey(context, parsed.key.get()) != 1) {
    return Failed::certificate;
  }
  SSL_CTX_clear_chain_certs(context);
  for (auto& extra : parsed.chain) {
    // add0 takes ownership on success.
    if (SSL_CTX_add0_chain_cert(context, extra.get()) != 1) {
      return Failed::certificate;
    }
    extra.release();
  }
  return Failed::none;
}

}  // namespace

Expected<TlsMaterial, std::string> load_tls_material(const TlsFiles& files) {
  auto certificate = read_pem_file(files.certificate, "certificate");
  if (!certificate) {
    return unexpected(certificate.error());
  }
  auto key = read_pem_file(files.private_key, "private key");
  if (!key) {
    return unexpected(key.error());
  }
  TlsMaterial material{std::move(*certificate), std::move(*key)};
  std::unique_ptr<SSL_CTX, ContextFree> probe(SSL_CTX_new(TLS_server_method()));
  if (!probe) {
    return unexpected("cannot create a TLS context: " + openssl_reason());
  }
  switch (install(probe.get(), material)) {
    case Failed::certificate:
      return unexpected("TLS certificate file '" + files.certificate +
                        "' is not a valid PEM certificate chain: " + openssl_reason());
    case Failed::key:
      return unexpected("TLS private key file '" + files.private_key +
                        "' is not a valid PEM private key: " + openssl_reason());
    case Failed::mismatch:
      ERR_clear_error();
      return unexpected("TLS private key file '" + files.private_key +
                        "' does not match the certificate '" + files.certificate + "'");
    case Failed::none:
      break;
  }
  return material;
}

bool install_tls_material(ssl_ctx_st* context, const TlsMaterial& material) noexcept {
  const bool installed = context != nullptr && install(context, material) == Failed::none;
  ERR_clear_error();
  return installed;
}

}  // namespace mimrest
