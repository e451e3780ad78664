// TLS on the raw socket: OpenSSL reads and writes the non-blocking file descriptor itself and the
// coroutine waits for readiness with Asio. No buffers of our own; OpenSSL releases its record
// buffers while idle (SSL_MODE_RELEASE_BUFFERS, set on the context).
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cerrno>
#include <ctime>

#include "core/common/hex.hpp"
#include "core/crypto/openssl_errors.hpp"
#include "core/http/transport.hpp"

namespace ef::http::detail {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

std::chrono::system_clock::time_point to_time_point(const ASN1_TIME* time) {
  struct tm parts {};
  if (time == nullptr || ASN1_TIME_to_tm(time, &parts) != 1) return {};
  return std::chrono::system_clock::from_time_t(timegm(&parts));
}

ClientCertificate describe_certificate(SSL* ssl, X509* cert) {
  ClientCertificate out;
  const long verify = SSL_get_verify_result(ssl);
  out.verified = verify == X509_V_OK;
  if (!out.verified) out.verify_error = X509_verify_cert_error_string(verify);

  X509_NAME* subject = X509_get_subject_name(cert);
  const int index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (index >= 0) {
    ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index));
    unsigned char* utf8 = nullptr;
    const int length = ASN1_STRING_to_UTF8(&utf8, data);
    if (length >= 0) {
      out.subject_cn.assign(reinterpret_cast<char*>(utf8), static_cast<std::size_t>(length));
      OPENSSL_free(utf8);
    }
  }
  if (BIGNUM* serial = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr)) {
    if (char* hex = BN_bn2hex(serial)) {
      out.serial_hex = hex;
      OPENSSL_free(hex);
    }
    BN_free(serial);
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_length = 0;
  if (X509_digest(cert, EVP_sha256(), digest, &digest_length) == 1) {
    out.sha256_hex = to_hex(std::string_view(reinterpret_cast<char*>(digest), digest_length));
  }
  out.not_before = to_time_point(X509_get0_notBefore(cert));
  out.not_after = to_time_point(X509_get0_notAfter(cert));
  return out;
}

class TlsTransport : public Transport {
 public:
  TlsTransport(tcp::socket socket, std::shared_ptr<TlsContext> context)
      : socket_(std::move(socket)), context_(std::move(context)) {}
  ~TlsTransport() override {
    if (ssl_ != nullptr) SSL_free(ssl_);
  }

  asio::awaitable<Status> start(Peer& peer) override {
    boost::system::error_code ec;
    const auto remote = socket_.remote_endpoint(ec);
    if (!ec) peer.address = remote.address().to_string() + ":" + std::to_string(remote.port());
    socket_.set_option(tcp::no_delay(true), ec);
    socket_.non_blocking(true, ec);
    if (ec) co_return make_error(Errc::network, "cannot make the socket non-blocking");
    ssl_ = SSL_new(context_->native());
    if (ssl_ == nullptr || SSL_set_fd(ssl_, socket_.native_handle()) != 1) {
      co_return make_error(
          Errc::crypto,
          "cannot set up TLS: " + crypto::openssl_errors("connection closed during TLS"));
    }
    SSL_set_accept_state(ssl_);
    auto done =
        co_await drive("TLS handshake", [this](std::size_t*) { return SSL_do_handshake(ssl_); });
    if (!done) co_return std::move(done).error();
    peer.tls = true;
    if (X509* cert = SSL_get0_peer_certificate(ssl_)) {
      peer.client_certificate = describe_certificate(ssl_, cert);
    }
    co_return Status{};
  }

  asio::awaitable<Status> wait_readable() override {
    if (SSL_has_pending(ssl_) == 1) co_return Status{};
    boost::system::error_code ec;
    co_await socket_.async_wait(tcp::socket::wait_read,
                                asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return asio_error("waiting for a request", ec);
    co_return Status{};
  }

  asio::awaitable<Result<std::size_t>> read_some(char* data, std::size_t size) override {
    auto n = co_await drive("TLS read", [this, data, size](std::size_t* n) {
      return SSL_read_ex(ssl_, data, size, n);
    });
    if (!n && n.error().code == Errc::closed) co_return std::size_t{0};  // close_notify / EOF
    co_return n;
  }

  asio::awaitable<Status> write_all(std::string_view data) override {
    while (!data.empty()) {
      auto n = co_await drive("TLS write", [this, data](std::size_t* n) {
        return SSL_write_ex(ssl_, data.data(), data.size(), n);
      });
      if (!n) co_return std::move(n).error();
      data.remove_prefix(*n);
    }
    co_return Status{};
  }

  void shutdown() override {
    if (ssl_ != nullptr) {
      ERR_clear_error();
      SSL_shutdown(ssl_);  // sends close_notify if the socket takes it; never waits
      ERR_clear_error();
    }
  }
  void cancel() override {
    boost::system::error_code ignored;
    socket_.cancel(ignored);
  }
  void close() override {
    boost::system::error_code ignored;
    socket_.close(ignored);
  }

 private:
  // Calls op until it succeeds, waiting for the socket as OpenSSL asks. A clean end of stream
  // comes back as Errc::closed so read_some can turn it into 0.
  template <class Op>
  asio::awaitable<Result<std::size_t>> drive(const char* what, Op op) {
    for (;;) {
      std::size_t n = 0;
      ERR_clear_error();
      errno = 0;
      const int rc = op(&n);
      if (rc == 1) co_return n;
      const int error = SSL_get_error(ssl_, rc);
      boost::system::error_code ec;
      if (error == SSL_ERROR_WANT_READ) {
        co_await socket_.async_wait(tcp::socket::wait_read,
                                    asio::redirect_error(asio::use_awaitable, ec));
      } else if (error == SSL_ERROR_WANT_WRITE) {
        co_await socket_.async_wait(tcp::socket::wait_write,
                                    asio::redirect_error(asio::use_awaitable, ec));
      } else if (error == SSL_ERROR_ZERO_RETURN ||
                 (error == SSL_ERROR_SYSCALL && ERR_peek_error() == 0 && errno == 0)) {
        co_return make_error(Errc::closed, std::string(what) + ": peer closed the connection");
      } else {
        co_return make_error(Errc::network,
                             std::string(what) + " failed: " +
                                 crypto::openssl_errors("connection closed during TLS"));
      }
      if (ec) co_return asio_error(what, ec);
    }
  }

  tcp::socket socket_;
  std::shared_ptr<TlsContext> context_;
  SSL* ssl_ = nullptr;
};

}  // namespace

std::unique_ptr<Transport> make_tls_transport(tcp::socket socket,
                                              std::shared_ptr<TlsContext> context) {
  return std::make_unique<TlsTransport>(std::move(socket), std::move(context));
}

}  // namespace ef::http::detail
