// TLS material for the https:// listener: PEM files read and checked once at
// start, then installed into the SSL context cpprestsdk creates per connection.
#pragma once

#include <string>

#include <boost/asio/ssl/context.hpp>

#include "mimrest/cpprest/listener.hpp"
#include "mimrest/expected.hpp"

namespace mimrest::cpprest::detail {

/// The PEM text of a certificate chain and its private key, known to load and
/// to match each other.
struct TlsMaterial {
  std::string certificate_chain;
  std::string private_key;
};

/// Reads both files and checks that they load into an SSL context and that the
/// key belongs to the certificate. An error text naming the file otherwise.
Expected<TlsMaterial, std::string> load_tls_material(const TlsFiles& files);

/// Installs checked material into a fresh server context. Never throws (it runs
/// on the listener's accept path); a failure leaves the context without a
/// certificate, so that the handshake fails for that one connection.
void configure_tls_context(boost::asio::ssl::context& context,
                           const TlsMaterial& material) noexcept;

}  // namespace mimrest::cpprest::detail
