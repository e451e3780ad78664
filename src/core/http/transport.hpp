// Internal to the http library: the byte streams a connection runs on (TCP, Unix socket, TLS).
//
// Every operation is a coroutine on the connection's executor. cancel() aborts whatever is pending
// (a deadline fired); the pending operation then returns Errc::timeout. read_some returns 0 when
// the peer closed the stream cleanly.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <cstddef>
#include <memory>
#include <string_view>
#include "core/http/awaitable.hpp"

#include "core/common/result.hpp"
#include "core/http/message.hpp"
#include "core/http/tls.hpp"

namespace ef::http::detail {

class Transport {
 public:
  virtual ~Transport() = default;

  // Runs the TLS handshake where there is one and fills in the peer description.
  virtual boost::asio::awaitable<Status> start(Peer& peer) = 0;
  // Waits until a read would not block (or the peer closed), without holding a buffer.
  virtual boost::asio::awaitable<Status> wait_readable() = 0;
  virtual boost::asio::awaitable<Result<std::size_t>> read_some(char* data, std::size_t size) = 0;
  virtual boost::asio::awaitable<Status> write_all(std::string_view data) = 0;
  // Says goodbye (TLS close_notify) without waiting for the answer.
  virtual void shutdown() = 0;
  virtual void cancel() = 0;
  virtual void close() = 0;
};

std::unique_ptr<Transport> make_tcp_transport(boost::asio::ip::tcp::socket socket);
std::unique_ptr<Transport> make_unix_transport(boost::asio::local::stream_protocol::socket socket);
std::unique_ptr<Transport> make_tls_transport(boost::asio::ip::tcp::socket socket,
                                              std::shared_ptr<TlsContext> context);

// Turns an Asio error from a pending operation into an Error (operation_aborted -> timeout).
Error asio_error(std::string_view what, const boost::system::error_code& ec);

}  // namespace ef::http::detail
