// An HTTP/1.1 server on Boost.Asio with C++20 coroutines and Beast's parser.
//
// Contract:
// - Every request is bounded: header bytes, body bytes (per route), and time. The deadlines are
//   idle (waiting for the next request on a keep-alive connection), header (first byte to the end
//   of the head: a slow-loris client is cut off here), body, and write. A client that breaks a
//   limit gets a JSON error (400 malformed, 408 too slow, 413 body too large, 431 header too
//   large) where the connection still allows one, and the connection is closed.
// - Keep-alive as HTTP/1.1 says; "Connection: close" and HTTP/1.0 without keep-alive close.
// - An idle connection holds no read buffer: it waits for readability with a zero-byte wait and
//   allocates its buffer only when a request starts, so 10,000 idle clients cost little more than
//   their sockets (and, for TLS, OpenSSL's own state; buffers are released while idle).
// - Listeners: TCP, Unix-domain socket (peer credentials exposed), TLS 1.2+/mTLS driven directly on
//   the socket by OpenSSL (see tls.hpp).
// - Threading: the server and its handlers run on the io_context it is given. Run that context on
//   one thread; handlers must not block for long (SQLite calls of a few milliseconds are fine).
//   stop() may be called from another thread: it posts to the context.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "core/common/result.hpp"
#include "core/http/router.hpp"
#include "core/http/tls.hpp"

namespace ef::http {

struct Limits {
  std::size_t max_header_bytes = 16 * 1024;
  std::size_t max_body_bytes = 1024 * 1024;
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(75)};
  std::chrono::milliseconds header_timeout{std::chrono::seconds(10)};
  std::chrono::milliseconds body_timeout{std::chrono::seconds(30)};
  std::chrono::milliseconds write_timeout{std::chrono::seconds(30)};
  std::filesystem::path upload_dir = std::filesystem::temp_directory_path();  // body_to_file routes
};

// Called once per answered request (for metrics and access logs).
struct RequestRecord {
  std::string_view route;  // the route's name; "" when no route matched
  Verb method;
  unsigned status;
  std::chrono::steady_clock::duration duration;  // from the first byte to the end of the response
};
using RequestObserver = std::function<void(const RequestRecord&)>;

class Server {
 public:
  Server(boost::asio::io_context& context, Router router, Limits limits = {});
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Listens on host:port (port 0 picks a free one) and returns the bound port.
  Result<std::uint16_t> listen_tcp(const std::string& host, std::uint16_t port);
  // Listens on a Unix-domain socket at path (replacing a stale socket file) with the given mode.
  Status listen_unix(const std::filesystem::path& path, unsigned mode = 0660);
  // Listens with TLS; see TlsContext for client certificates.
  Result<std::uint16_t> listen_tls(const std::string& host, std::uint16_t port,
                                   std::shared_ptr<TlsContext> tls);

  void set_observer(RequestObserver observer);

  // Closes the listeners and every open connection. Safe from any thread.
  void stop();

  // Connections currently open (for /metrics and tests).
  std::size_t connection_count() const;

  struct State;  // internal; shared with the connections, which may outlive the Server object

 private:
  std::shared_ptr<State> state_;
};

}  // namespace ef::http
