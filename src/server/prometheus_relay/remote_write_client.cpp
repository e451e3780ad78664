#include "server/prometheus_relay/remote_write_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <charconv>

#include "core/telemetry/remote_write.hpp"

namespace ef::prometheus_relay {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

Result<HttpUrl> parse_http_url(std::string_view url) {
  constexpr std::string_view scheme = "http://";
  if (!url.starts_with(scheme)) {
    return make_error(Errc::invalid_argument,
                      "remote-write URL '" + std::string(url) + "' must start with http://");
  }
  url.remove_prefix(scheme.size());
  const auto slash = url.find('/');
  const std::string_view authority = url.substr(0, slash);
  HttpUrl out;
  out.target = slash == std::string_view::npos ? "/" : std::string(url.substr(slash));
  const auto colon = authority.rfind(':');
  out.host = std::string(authority.substr(0, colon));
  out.port = colon == std::string_view::npos ? "80" : std::string(authority.substr(colon + 1));
  unsigned port = 0;
  const auto [end, ec] = std::from_chars(out.port.data(), out.port.data() + out.port.size(), port);
  if (out.host.empty() || ec != std::errc() || end != out.port.data() + out.port.size() ||
      port == 0 || port > 65535) {
    return make_error(Errc::invalid_argument,
                      "remote-write URL '" + std::string(url) + "' has no valid host and port");
  }
  return out;
}

struct RemoteWriteClient::Connection {
  asio::io_context context;
  beast::tcp_stream stream{context};
  beast::flat_buffer buffer;
  bool open = false;
};

RemoteWriteClient::RemoteWriteClient(HttpUrl url, std::chrono::milliseconds timeout)
    : url_(std::move(url)), timeout_(timeout), connection_(std::make_unique<Connection>()) {}

RemoteWriteClient::~RemoteWriteClient() = default;

namespace {

bhttp::request<bhttp::string_body> make_request(const HttpUrl& url, std::string_view body) {
  bhttp::request<bhttp::string_body> req{bhttp::verb::post, url.target, 11};
  req.set(bhttp::field::host, url.host + ":" + url.port);
  req.set(bhttp::field::user_agent, "edgefleet-server");
  req.set(bhttp::field::content_type, std::string(telemetry::kRemoteWriteContentType));
  req.set(bhttp::field::content_encoding, "snappy");
  req.set("X-Prometheus-Remote-Write-Version", std::string(telemetry::kRemoteWriteVersion));
  req.keep_alive(true);
  req.body() = std::string(body);
  req.prepare_payload();
  return req;
}

}  // namespace

// A kept-alive connection the receiver closed meanwhile fails on first use: try once more on a
// new connection before calling it a failure.
Result<PostResult> RemoteWriteClient::post(std::string_view snappy_body) {
  const bool reused = connection_->open;
  auto result = exchange(snappy_body);
  if (!result && reused) result = exchange(snappy_body);
  return result;
}

// One exchange on the io_context owned by this client: connect when needed, write, read, all
// under one deadline (tcp_stream's expiry cancels whatever is pending).
Result<PostResult> RemoteWriteClient::exchange(std::string_view snappy_body) {
  auto& c = *connection_;
  beast::error_code failure;
  PostResult out;
  bhttp::response<bhttp::string_body> res;
  auto req = make_request(url_, snappy_body);
  c.context.restart();
  c.stream.expires_after(timeout_);
  auto after_write = [&](beast::error_code ec, std::size_t) {
    if (ec) return void(failure = ec);
    bhttp::async_read(c.stream, c.buffer, res,
                      [&](beast::error_code read_ec, std::size_t) { failure = read_ec; });
  };
  if (c.open) {
    bhttp::async_write(c.stream, req, after_write);
  } else {
    asio::ip::tcp::resolver resolver(c.context);
    auto endpoints = resolver.resolve(url_.host, url_.port, failure);
    if (!failure) {
      c.stream.async_connect(endpoints, [&](beast::error_code ec, const auto&) {
        if (ec) return void(failure = ec);
        c.open = true;
        bhttp::async_write(c.stream, req, after_write);
      });
    }
  }
  c.context.run();
  if (failure) {
    c.stream.close();
    c.open = false;
    c.buffer.clear();
    const auto code = failure == beast::error::timeout ? Errc::timeout : Errc::network;
    return make_error(code,
                      "remote write to " + url_.host + ":" + url_.port + ": " + failure.message());
  }
  out.status = res.result_int();
  out.body = res.body().substr(0, 4096);
  if (!res.keep_alive()) {
    c.stream.close();
    c.open = false;
  }
  return out;
}

}  // namespace ef::prometheus_relay
