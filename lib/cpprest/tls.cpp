#include "tls.hpp"

#include <fstream>

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace mimrest::cpprest::detail {
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

std::string openssl_reason(const boost::system::error_code& error) {
  std::string reason = error.message();
  ERR_clear_error();
  return reason;
}

bool install(boost::asio::ssl::context& context, const TlsMaterial& material, const TlsFiles* files,
             std::string* error) {
  namespace ssl = boost::asio::ssl;
  boost::system::error_code ec;
  context.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                          ssl::context::no_sslv3 | ssl::context::single_dh_use,
                      ec);
  // TLS 1.2 is the oldest version still considered safe.
  SSL_CTX_set_min_proto_version(context.native_handle(), TLS1_2_VERSION);
  context.use_certificate_chain(
      boost::asio::buffer(material.certificate_chain.data(), material.certificate_chain.size()),
      ec);
  if (ec) {
    if (error != nullptr) {
      *error = "TLS certificate file '" + (files ? files->certificate : std::string()) +
               "' is not a valid PEM certificate chain: " + openssl_reason(ec);
    }
    return false;
  }
  context.use_private_key(
      boost::asio::buffer(material.private_key.data(), material.private_key.size()),
      ssl::context::pem, ec);
  if (ec) {
    if (error != nullptr) {
      *error = "TLS private key file '" + (files ? files->private_key : std::string()) +
               "' is not a valid PEM private key: " + openssl_reason(ec);
    }
    return false;
  }
  if (SSL_CTX_check_private_key(context.native_handle()) != 1) {
    ERR_clear_error();
    if (error != nullptr) {
      *error = "TLS private key file '" + (files ? files->private_key : std::string()) +
               "' does not match the certificate '" + (files ? files->certificate : std::string()) +
               "'";
    }
    return false;
  }
  return true;
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
  try {
    boost::asio::ssl::context probe(boost::asio::ssl::context::tls_server);
    std::string error;
    if (!install(probe, material, &files, &error)) {
      return unexpected(error);
    }
  } catch (const std::exception& e) {
    return unexpected(std::string("cannot create a TLS context: ") + e.what());
  }
  return material;
}

void configure_tls_context(boost::asio::ssl::context& context,
                           const TlsMaterial& material) noexcept {
  try {
    install(context, material, nullptr, nullptr);
  } catch (...) {
    // Leave the context without a certificate: this connection's handshake fails.
  }
}

}  // namespace mimrest::cpprest::detail

namespace mimrest::cpprest {

Expected<void, std::string> check_tls_files(const TlsFiles& files) {
  auto material = detail::load_tls_material(files);
  if (!material) {
    return unexpected(material.error());
  }
  return {};
}

}  // namespace mimrest::cpprest
