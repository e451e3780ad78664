#include "core/http/tls.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "core/crypto/openssl_errors.hpp"

namespace ef::http {

namespace {

// Accepts any client certificate during the handshake; the result stays available through
// SSL_get_verify_result for the handler to judge (see tls.hpp).
int accept_and_record(int /*preverify_ok*/, X509_STORE_CTX* /*store*/) {
  return 1;
}

}  // namespace

Result<std::shared_ptr<TlsContext>> TlsContext::create(const TlsSettings& settings) {
  ERR_clear_error();
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr)
    return make_error(Errc::crypto, "cannot create a TLS context: " + crypto::openssl_errors());
  std::shared_ptr<TlsContext> out(new TlsContext(ctx));

  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE);
  // No session resumption: a resumed session would reuse an earlier verification of the client
  // certificate (which may have expired since), and tickets cost a write per connection.
  SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_IGNORE_UNEXPECTED_EOF |
                               SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(ctx, 0);

  if (SSL_CTX_use_certificate_chain_file(ctx, settings.certificate_chain.c_str()) != 1) {
    return make_error(Errc::crypto, "cannot load the TLS certificate chain " +
                                        settings.certificate_chain.string() + ": " +
                                        crypto::openssl_errors());
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, settings.private_key.c_str(), SSL_FILETYPE_PEM) != 1) {
    return make_error(Errc::crypto, "cannot load the TLS private key " +
                                        settings.private_key.string() + ": " +
                                        crypto::openssl_errors());
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    return make_error(Errc::crypto, "the TLS private key " + settings.private_key.string() +
                                        " does not match the certificate " +
                                        settings.certificate_chain.string());
  }
  if (settings.client_ca) {
    const auto& ca = *settings.client_ca;
    if (SSL_CTX_load_verify_locations(ctx, ca.c_str(), nullptr) != 1) {
      return make_error(Errc::crypto, "cannot load the client CA " + ca.string() + ": " +
                                          crypto::openssl_errors());
    }
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(ca.c_str());
    if (names == nullptr) {
      return make_error(Errc::crypto, "no certificates in the client CA file " + ca.string());
    }
    SSL_CTX_set_client_CA_list(ctx, names);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, accept_and_record);
    SSL_CTX_set_verify_depth(ctx, 4);
  }
  return out;
}

TlsContext::~TlsContext() {
  SSL_CTX_free(ctx_);
}

}  // namespace ef::http
