// One HTTP/1.1 keep-alive connection over TLS to an edgefleet-server, as an operator (no client
// certificate) or as a simulated device (its own key and certificate: mutual TLS); what the
// server benchmarks (bench/server, bench/scale) open for every simulated device and operator.
// Coroutines on one io_context, one request in flight at a time; open() takes OpenSSL's own
// references to the device's key and certificate. Every failure (refused, reset, TLS, bad HTTP)
// is thrown as boost::system_error.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <utility>  // first: Boost 1.74's awaitable.hpp needs std::exchange

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

namespace ef::bench {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using Response = http::response<http::string_body>;

// A device's identity: its id, and its key and certificate as OpenSSL objects.
struct Identity {
  std::string id;
  std::shared_ptr<X509> certificate;
  std::shared_ptr<EVP_PKEY> key;
};

class Connection {
 public:
  Connection(asio::io_context& io, asio::ssl::context& tls) : stream_(io, tls) {}

  asio::awaitable<void> open(const asio::ip::tcp::endpoint& server, const Identity* device) {
    if (device != nullptr) {
      SSL_use_certificate(stream_.native_handle(), device->certificate.get());
      SSL_use_PrivateKey(stream_.native_handle(), device->key.get());
    }
    co_await beast::get_lowest_layer(stream_).async_connect(server, asio::use_awaitable);
    co_await stream_.async_handshake(asio::ssl::stream_base::client, asio::use_awaitable);
  }

  asio::awaitable<Response> send(http::verb verb, const std::string& target,
                                 const std::string& body, const std::string& token = {},
                                 const std::string& etag = {},
                                 const std::string& content_type = "application/json") {
    http::request<http::string_body> request{verb, target, 11};
    request.set(http::field::host, "127.0.0.1");
    request.set(http::field::content_type, content_type);
    if (!token.empty()) request.set(http::field::authorization, "Bearer " + token);
    if (!etag.empty()) request.set(http::field::if_none_match, etag);
    request.body() = body;
    request.prepare_payload();
    co_await http::async_write(stream_, request, asio::use_awaitable);
    Response response;
    co_await http::async_read(stream_, buffer_, response, asio::use_awaitable);
    co_return response;
  }

  void close() {
    beast::error_code ignored;
    beast::get_lowest_layer(stream_).socket().close(ignored);
  }

 private:
  beast::ssl_stream<beast::tcp_stream> stream_;
  beast::flat_buffer buffer_;
};

inline asio::ip::tcp::endpoint local(int port) {
  return {asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)};
}

}  // namespace ef::bench
