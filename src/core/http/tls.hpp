// TLS server settings for Server::listen_tls, on OpenSSL 3 directly.
//
// Connections drive OpenSSL on the socket themselves (SSL_set_fd, non-blocking, waiting for the
// socket with Asio) with SSL_MODE_RELEASE_BUFFERS, instead of asio::ssl::stream, which keeps four
// 17 KB buffers per connection: an idle mTLS connection then holds about 25 KB instead of 75 KB
// (measured; see docs/DESIGN.md "Storage and scale").
//
// With a client CA, the server asks every client for a certificate but completes the handshake
// whatever it sends; the verification result reaches handlers as Peer::client_certificate, so a
// handler can refuse with a clear HTTP error ("certificate has expired") and endpoints that do not
// need a client certificate (operator API, health) work on the same port.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>

#include "core/common/result.hpp"

struct ssl_ctx_st;

namespace ef::http {

struct TlsSettings {
  std::filesystem::path certificate_chain;  // PEM: the server certificate, then intermediates
  std::filesystem::path private_key;        // PEM
  std::optional<std::filesystem::path> client_ca;  // PEM bundle that client certificates chain to
};

class TlsContext {
 public:
  // Loads the certificate, key and client CA; refuses a key that does not match the certificate.
  static Result<std::shared_ptr<TlsContext>> create(const TlsSettings& settings);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  ssl_ctx_st* native() const { return ctx_; }

 private:
  explicit TlsContext(ssl_ctx_st* ctx) : ctx_(ctx) {}
  ssl_ctx_st* ctx_;
};

}  // namespace ef::http
