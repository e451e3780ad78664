// TCP and Unix-domain socket transports: the socket itself, no buffering of our own.
#include <sys/socket.h>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "core/http/transport.hpp"

namespace ef::http::detail {

namespace asio = boost::asio;

Error asio_error(std::string_view what, const boost::system::error_code& ec) {
  if (ec == asio::error::operation_aborted) {
    return make_error(Errc::timeout, std::string(what) + ": deadline passed");
  }
  return make_error(Errc::network, std::string(what) + ": " + ec.message());
}

namespace {

template <class Socket>
class SocketTransport : public Transport {
 public:
  explicit SocketTransport(Socket socket) : socket_(std::move(socket)) {}

  asio::awaitable<Status> start(Peer& peer) override {
    describe(peer);
    co_return Status{};
  }

  asio::awaitable<Status> wait_readable() override {
    boost::system::error_code ec;
    co_await socket_.async_wait(Socket::wait_read, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return asio_error("waiting for a request", ec);
    co_return Status{};
  }

  asio::awaitable<Result<std::size_t>> read_some(char* data, std::size_t size) override {
    boost::system::error_code ec;
    const std::size_t n = co_await socket_.async_read_some(
        asio::buffer(data, size), asio::redirect_error(asio::use_awaitable, ec));
    if (ec == asio::error::eof) co_return std::size_t{0};
    if (ec) co_return asio_error("reading", ec);
    co_return n;
  }

  asio::awaitable<Status> write_all(std::string_view data) override {
    boost::system::error_code ec;
    co_await asio::async_write(socket_, asio::buffer(data.data(), data.size()),
                               asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return asio_error("writing", ec);
    co_return Status{};
  }

  void shutdown() override {
    boost::system::error_code ignored;
    socket_.shutdown(Socket::shutdown_send, ignored);
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
  void describe(Peer& peer);
  Socket socket_;
};

template <>
void SocketTransport<asio::ip::tcp::socket>::describe(Peer& peer) {
  boost::system::error_code ec;
  const auto remote = socket_.remote_endpoint(ec);
  if (!ec) peer.address = remote.address().to_string() + ":" + std::to_string(remote.port());
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);
}

template <>
void SocketTransport<asio::local::stream_protocol::socket>::describe(Peer& peer) {
  peer.address = "unix";
  struct ucred cred {};
  socklen_t length = sizeof cred;
  if (::getsockopt(socket_.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred, &length) == 0) {
    peer.unix_credentials = UnixCredentials{cred.pid, cred.uid, cred.gid};
  }
}

}  // namespace

std::unique_ptr<Transport> make_tcp_transport(asio::ip::tcp::socket socket) {
  return std::make_unique<SocketTransport<asio::ip::tcp::socket>>(std::move(socket));
}

std::unique_ptr<Transport> make_unix_transport(asio::local::stream_protocol::socket socket) {
  return std::make_unique<SocketTransport<asio::local::stream_protocol::socket>>(std::move(socket));
}

}  // namespace ef::http::detail
