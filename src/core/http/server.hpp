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
// - The first request is bounded like the rest: the TLS handshake and the first byte of the first
//   request must arrive within one header timeout of the accept (as nginx's client_header_timeout),
//   so a client that connects and sends nothing is cut off like a slow head; the idle timeout
//   applies only between requests.
// - Connections are bounded in number, in total and per source address (Limits, ConnectionBudget
//   in connection_budget.hpp). A connection over a bound is accepted and closed at once, before
//   any byte is read or written: no TLS handshake, so it costs no crypto. It gets no 503: a reply
//   written before the client's request arrives is lost to the reset that request then causes,
//   unless the server lingers on the socket, which is the resource being protected. Clients see
//   the connection closed (TLS: the handshake fails) and retry with their backoff.
// - accept() failing (out of descriptors: EMFILE, ENFILE; out of memory) never ends a listener
//   and never spins: it is counted, the listener waits 50 ms and accepts again.
// - Refusals and header-timeout cut-offs are counted (refused()).
// - Listeners: TCP, Unix-domain socket (peer credentials exposed), TLS 1.2+/mTLS driven directly on
//   the socket by OpenSSL (see tls.hpp).
// - Threading: the server and its handlers run on the io_context it is given. Run that context on
//   one thread; handlers must not block for long (SQLite calls of a few milliseconds are fine).
//   stop() may be called from another thread: it posts to the context. To serve on several
//   threads, give each its own io_context and Server, all listening on one port with
//   PortSharing::shared (SO_REUSEPORT: the kernel spreads new connections over them).
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
#include "core/http/connection_budget.hpp"
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

  // Open connections at most, over every listener of the Server (Unix sockets included). 0:
  // automatic, the open-file soft limit when the Server is made less a tenth kept for the store,
  // uploads and files (ConnectionBudget::create says why). --max-connections.
  std::size_t max_connections = 0;
  // Open connections at most from one source (an IPv4 address or an IPv6 /64), TCP and TLS
  // listeners only; 0: no bound. Generous by default: a plant's devices may all sit behind one
  // NAT address. --max-connections-per-source.
  std::size_t max_connections_per_source = ConnectionBudget::kDefaultMaxPerSource;
  // Bounds shared with other Servers (one Server per thread on one port with SO_REUSEPORT, or the
  // HTTPS and metrics listeners of one process): when set, its bounds apply and the two fields
  // above are ignored. When null, each Server makes its own budget from them, and its bounds are
  // then per Server instance, not per process.
  std::shared_ptr<ConnectionBudget> connection_budget;
};

// Called once per answered request (for metrics and access logs).
struct RequestRecord {
  std::string_view route;  // the route's name; "" when no route matched
  Verb method;
  unsigned status;
  std::chrono::steady_clock::duration duration;  // from the first byte to the end of the response
};
using RequestObserver = std::function<void(const RequestRecord&)>;

// shared: several listeners (one per thread) on one port. Take the port with reserve_tcp_port()
// first: a shared listener alone would also share a port that another process already serves.
enum class PortSharing { exclusive, shared };

// Checks that host:port is free now (port 0: picks a free one) and returns the port, for
// listeners that then share it.
Result<std::uint16_t> reserve_tcp_port(const std::string& host, std::uint16_t port);

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
                                   std::shared_ptr<TlsContext> tls,
                                   PortSharing sharing = PortSharing::exclusive);

  void set_observer(RequestObserver observer);

  // Closes the listeners and every open connection. Safe from any thread.
  void stop();

  // Connections currently open on this Server (for /metrics and tests).
  std::size_t connection_count() const;

  // Connections this Server refused or cut early for reason, since it was made (for
  // edgefleet_server_connections_refused_total{reason="<to_string(reason)>"}). A monotonic count.
  // Safe from any thread.
  std::uint64_t refused(Refusal reason) const;

  // The budget this Server's connections count against: Limits::connection_budget or its own.
  const std::shared_ptr<ConnectionBudget>& connection_budget() const;

  struct State;  // internal; shared with the connections, which may outlive the Server object

 private:
  std::shared_ptr<State> state_;
};

}  // namespace ef::http
