// TLS material for an https:// server, as every adapter needs it: PEM files
// read and checked once at start, then installed into each OpenSSL server
// context the transport creates (boost::asio::ssl::context::native_handle()).
#pragma once

#include <string>

#include "mimrest/expected.hpp"
#include "mimrest/export.hpp"

struct ssl_ctx_st;  // OpenSSL's SSL_CTX

namespace mimrest {

struct MIMREST_EXPORT TlsFiles {
  std::string certificate;  ///< PEM file: the certificate, then its chain
  std::string private_key;  ///< PEM file
};

/// The PEM text of a certificate chain and its private key, known to load and
/// to match each other.
struct MIMREST_EXPORT TlsMaterial {
  std::string certificate_chain;
  std::string private_key;
};

/// Reads both files and checks that they load and that the key belongs to
/// the certificate; an error text naming the file otherwise.
MIMREST_EXPORT Expected<TlsMaterial, std::string> load_tls_material(const TlsFiles& files);

/// Installs checked material into a server context (TLS 1.2 at least). Never
/// throws; false on failure, which leaves the context without a certificate
/// so that only that context's handshakes fail.
MIMREST_EXPORT bool install_tls_material(ssl_ctx_st* context, const TlsMaterial& material) noexcept;

}  // namespace mimrest
