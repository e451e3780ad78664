#include "core/http/server.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/file_posix.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/file_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <mutex>
#include <unordered_set>

#include "core/http/request_target.hpp"
#include "core/http/transport.hpp"

namespace ef::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::size_t kReadChunk = 4096;
constexpr std::size_t kFileChunk = 64 * 1024;

std::string_view sv(beast::string_view s) {
  return {s.data(), s.size()};
}

}  // namespace

struct Server::State : std::enable_shared_from_this<State> {
  State(asio::io_context& c, Router r, Limits l)
      : context(c),
        router(std::move(r)),
        limits(std::move(l)),
        budget(limits.connection_budget
                   ? limits.connection_budget
                   : ConnectionBudget::create(limits.max_connections,
                                              limits.max_connections_per_source)) {}

  void note(Refusal reason) {
    refusals[static_cast<std::size_t>(reason)].fetch_add(1, std::memory_order_relaxed);
  }

  asio::io_context& context;
  const Router router;
  const Limits limits;
  const std::shared_ptr<ConnectionBudget> budget;
  std::array<std::atomic<std::uint64_t>, kRefusals.size()> refusals{};
  RequestObserver observer;
  std::vector<std::unique_ptr<tcp::acceptor>> tcp_acceptors;
  std::vector<std::pair<std::unique_ptr<tcp::acceptor>, std::shared_ptr<TlsContext>>> tls_acceptors;
  std::vector<std::unique_ptr<asio::local::stream_protocol::acceptor>> unix_acceptors;
  std::vector<std::filesystem::path> unix_paths;
  std::unordered_set<struct Connection*> connections;
  bool stopped = false;
  mutable std::mutex count_mutex;  // guards only the count read by connection_count()
  std::size_t count = 0;
};

// A temporary upload file, removed when the exchange ends (or earlier, by remove()).
struct UploadFile {
  std::filesystem::path path;
  void remove() {
    if (!path.empty()) ::unlink(path.c_str());
    path.clear();
  }
  ~UploadFile() { remove(); }
};

// One request and what serve_one's steps learn about it.
struct Exchange {
  Clock::time_point start;
  Request request;
  bool keep_alive = false;
  bool has_body = false;
  bool expects_continue = false;
  std::uint64_t declared_body = 0;   // left to drain if the body is refused (chunked: unknown)
  std::uint64_t body_in_flight = 0;  // the same, unless the client waits for 100 Continue
  std::string_view route_name;
  UploadFile upload;
};

// One client connection. Lives as long as its coroutine (which holds a shared_ptr).
struct Connection : std::enable_shared_from_this<Connection> {
  Connection(std::shared_ptr<Server::State> s, std::unique_ptr<detail::Transport> t,
             ConnectionBudget::Ticket place)
      : server(std::move(s)),
        transport(std::move(t)),
        ticket(std::move(place)),
        timer(server->context) {
    server->connections.insert(this);
    std::lock_guard lock(server->count_mutex);
    ++server->count;
  }
  ~Connection() {
    server->connections.erase(this);
    std::lock_guard lock(server->count_mutex);
    --server->count;
  }

  // Starts a deadline: when it passes, the pending transport operation is cancelled.
  void arm(std::chrono::milliseconds after) {
    timer.expires_after(after);
    timer.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
      if (ec) return;
      if (auto self = weak.lock()) self->transport->cancel();
    });
  }
  void disarm() { timer.cancel(); }

  asio::awaitable<void> run();
  asio::awaitable<bool> serve_one();
  asio::awaitable<bool> read_head(bhttp::request_parser<bhttp::empty_body>& head,
                                  Clock::time_point start);
  Exchange begin_exchange(const bhttp::request_parser<bhttp::empty_body>& head,
                          Clock::time_point start);
  asio::awaitable<bool> refuse_unrouted(Exchange& ex, const Router::Match& match);
  asio::awaitable<bool> refuse_before_body(Exchange& ex, Response refusal);
  asio::awaitable<bool> read_body(const Router::Route& route,
                                  bhttp::request_parser<bhttp::empty_body>& head, Exchange& ex);
  asio::awaitable<std::optional<Response>> read_body_to_file(
      bhttp::request_parser<bhttp::empty_body>& head, std::size_t max_body, Exchange& ex);
  template <class Parser>
  asio::awaitable<std::optional<Response>> feed_body(Parser& parser, std::size_t max_body);
  asio::awaitable<bool> answer(const Router::Route& route, Exchange& ex);
  asio::awaitable<Status> read_more();
  asio::awaitable<void> drain_unread();
  asio::awaitable<void> respond(Response response, const Request* request, bool keep_alive,
                                std::string_view route_name, Verb method, Clock::time_point start);

  std::shared_ptr<Server::State> server;
  std::unique_ptr<detail::Transport> transport;
  ConnectionBudget::Ticket ticket;  // this connection's place in the budget, until it is destroyed
  asio::steady_timer timer;
  std::shared_ptr<Peer> peer = std::make_shared<Peer>();
  std::string buffer;  // bytes read but not yet parsed; empty (and unallocated) while idle
  bool closing = false;
  std::uint64_t unread_body = 0;  // bytes the client may still be sending after a refusal
};

asio::awaitable<Status> Connection::read_more() {
  const std::size_t old = buffer.size();
  buffer.resize(old + kReadChunk);
  auto n = co_await transport->read_some(buffer.data() + old, kReadChunk);
  buffer.resize(old + (n ? *n : 0));
  if (!n) co_return std::move(n).error();
  if (*n == 0) co_return make_error(Errc::closed, "the client closed the connection");
  co_return Status{};
}

// Counts a connection cut at the header timeout (not one closed by stop()).
void count_header_timeout(Server::State& server, const Error& error) {
  if (error.code == Errc::timeout && !server.stopped) server.note(Refusal::header_timeout);
}

asio::awaitable<void> Connection::run() {
  const auto accepted = Clock::now();
  const auto header_timeout = server->limits.header_timeout;
  arm(header_timeout);
  auto started = co_await transport->start(*peer);
  disarm();
  if (!started) {
    count_header_timeout(*server, started.error());
    transport->close();
    co_return;
  }
  // The handshake and the first byte of the first request share one header timeout; later
  // requests may be awaited for the idle timeout.
  bool first = true;
  while (!closing && !server->stopped) {
    if (buffer.empty()) {
      std::string().swap(buffer);  // hold no buffer while idle
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          header_timeout - (Clock::now() - accepted));
      arm(first ? std::max(left, std::chrono::milliseconds(1)) : server->limits.idle_timeout);
      auto ready = co_await transport->wait_readable();
      disarm();
      if (!ready) {
        if (first) count_header_timeout(*server, ready.error());
        break;
      }
    }
    first = false;
    if (!co_await serve_one()) break;
  }
  if (unread_body > 0) co_await drain_unread();
  transport->shutdown();
  transport->close();
}

// Reads and drops what the client is still sending after a refusal, for a short while and up to a
// cap: closing a socket with unread input makes TCP send a reset, which can destroy the answer
// still on its way to the client.
asio::awaitable<void> Connection::drain_unread() {
  constexpr std::uint64_t kMaxDrainBytes = 1 << 20;
  constexpr std::chrono::seconds kMaxDrainTime{2};
  std::uint64_t left = std::min(unread_body, kMaxDrainBytes);
  arm(kMaxDrainTime);
  for (;;) {
    left -= std::min<std::uint64_t>(left, buffer.size());
    buffer.clear();
    if (left == 0 || !co_await read_more()) break;
  }
  disarm();
}

// An error answer after which the connection closes.
Response closing_error(unsigned status, std::string_view code, std::string message) {
  Response r = Response::error(status, code, message);
  r.close = true;
  return r;
}

// Reads the request head into `head`. Returns false when the exchange is over: the client went
// (or sent nothing in time), or the head was refused and that answer is sent.
asio::awaitable<bool> Connection::read_head(bhttp::request_parser<bhttp::empty_body>& head,
                                            Clock::time_point start) {
  const auto& limits = server->limits;
  arm(limits.header_timeout);
  bool got_any = !buffer.empty();
  std::optional<Response> refusal;
  for (;;) {
    if (!buffer.empty()) {
      beast::error_code ec;
      const std::size_t used = head.put(asio::buffer(buffer.data(), buffer.size()), ec);
      buffer.erase(0, used);
      if (!ec && head.is_header_done()) break;
      if (ec && ec != bhttp::error::need_more) {
        refusal = ec == bhttp::error::header_limit
                      ? closing_error(431, "header_too_large",
                                      "the request head is larger than " +
                                          std::to_string(limits.max_header_bytes) + " bytes")
                      : closing_error(400, "malformed_request",
                                      "malformed HTTP request: " + ec.message());
        break;
      }
    }
    auto more = co_await read_more();
    if (!more) {
      disarm();
      count_header_timeout(*server, more.error());
      // A client that sent part of a head and stalled is told why; one that sent nothing is not.
      if (more.error().code == Errc::timeout && got_any) {
        co_await respond(closing_error(408, "request_timeout",
                                       "the request head did not arrive within " +
                                           std::to_string(limits.header_timeout.count()) + " ms"),
                         nullptr, false, "", Verb::unknown, start);
      }
      co_return false;
    }
    got_any = true;
  }
  disarm();
  if (refusal) {
    co_await respond(std::move(*refusal), nullptr, false, "", Verb::unknown, start);
    co_return false;
  }
  co_return true;
}

Exchange Connection::begin_exchange(const bhttp::request_parser<bhttp::empty_body>& head,
                                    Clock::time_point start) {
  const auto& message = head.get();
  Exchange ex;
  ex.start = start;
  ex.keep_alive = head.keep_alive();
  ex.request.method = message.method();
  ex.request.target = std::string(sv(message.target()));
  ex.request.headers = message.base();
  ex.request.peer = peer;
  ex.has_body = head.chunked() || (head.content_length() && *head.content_length() > 0);
  // What is left to drain if the body is refused; a chunked body's size is unknown. A client that
  // asked for 100 Continue sends nothing before it, so a refusal before the body drains nothing.
  ex.declared_body = head.chunked() ? std::numeric_limits<std::uint64_t>::max()
                                    : head.content_length().value_or(0);
  ex.expects_continue =
      beast::iequals(message[bhttp::field::expect], "100-continue") && message.version() >= 11;
  ex.body_in_flight = ex.expects_continue ? 0 : ex.declared_body;
  return ex;
}

// Answers a request no route takes: 404, or 405 with the methods the path allows.
asio::awaitable<bool> Connection::refuse_unrouted(Exchange& ex, const Router::Match& match) {
  const auto& path = ex.request.path;
  Response r = match.allowed.empty()
                   ? Response::error(404, "not_found", "no such endpoint: " + path)
                   : Response::error(405, "method_not_allowed",
                                     std::string(sv(bhttp::to_string(ex.request.method))) +
                                         " is not allowed on " + path);
  if (!match.allowed.empty()) {
    std::string allow;
    for (Verb v : match.allowed)
      allow += (allow.empty() ? "" : ", ") + std::string(sv(bhttp::to_string(v)));
    r.set("Allow", allow);
  }
  co_return co_await refuse_before_body(ex, std::move(r));
}

// Sends a refusal given before the body was read. A body on its way closes the connection (after
// draining it), so its bytes are never taken for the next request.
asio::awaitable<bool> Connection::refuse_before_body(Exchange& ex, Response refusal) {
  refusal.close = refusal.close || ex.has_body;
  if (refusal.close) unread_body = ex.body_in_flight;
  const bool keep = ex.keep_alive && !refusal.close;
  co_await respond(std::move(refusal), &ex.request, keep, ex.route_name, ex.request.method,
                   ex.start);
  co_return keep;
}

// Feeds buffered and newly read bytes to a body parser until the body is complete; returns the
// refusal when it is too large, malformed or late.
template <class Parser>
asio::awaitable<std::optional<Response>> Connection::feed_body(Parser& parser,
                                                               std::size_t max_body) {
  parser.body_limit(max_body);
  for (;;) {
    if (!buffer.empty()) {
      beast::error_code ec;
      const std::size_t used = parser.put(asio::buffer(buffer.data(), buffer.size()), ec);
      buffer.erase(0, used);
      if (ec == bhttp::error::need_more) ec = {};
      if (ec == bhttp::error::body_limit) {
        co_return closing_error(
            413, "body_too_large",
            "the request body is larger than " + std::to_string(max_body) + " bytes");
      }
      if (ec) {
        co_return closing_error(400, "malformed_body", "malformed request body: " + ec.message());
      }
      if (parser.is_done()) co_return std::nullopt;
      if (used > 0 && !buffer.empty()) continue;
    }
    auto more = co_await read_more();
    if (!more) {
      if (more.error().code == Errc::timeout) {
        co_return closing_error(408, "request_timeout", "the request body did not arrive in time");
      }
      co_return closing_error(400, "incomplete_body",
                              "the connection ended inside the request body");
    }
  }
}

// Reads the body into a temporary file under the upload folder (routes with body_to_file).
asio::awaitable<std::optional<Response>> Connection::read_body_to_file(
    bhttp::request_parser<bhttp::empty_body>& head, std::size_t max_body, Exchange& ex) {
  std::string templ = (server->limits.upload_dir / "ef-upload-XXXXXX").string();
  const int fd = ::mkstemp(templ.data());
  if (fd < 0) {
    co_return closing_error(500, "internal",
                            "cannot create a file for the upload: " + errno_text(errno));
  }
  ::close(fd);
  ex.upload.path = templ;
  ex.request.body_file = ex.upload.path;
  bhttp::request_parser<bhttp::file_body> parser(std::move(head));
  beast::error_code ec;
  parser.get().body().open(templ.c_str(), beast::file_mode::write, ec);
  if (ec) co_return closing_error(500, "internal", "cannot open the upload file: " + ec.message());
  auto problem = co_await feed_body(parser, max_body);
  parser.get().body().close();
  std::error_code size_error;
  ex.request.body_size = std::filesystem::file_size(ex.upload.path, size_error);
  co_return problem;
}

// Reads the request body (after 100 Continue when asked) into memory or a file. Returns false
// when the exchange is over: the client went, or the body was refused and that answer is sent.
asio::awaitable<bool> Connection::read_body(const Router::Route& route,
                                            bhttp::request_parser<bhttp::empty_body>& head,
                                            Exchange& ex) {
  const auto& limits = server->limits;
  const std::size_t max_body = route.options.max_body.value_or(limits.max_body_bytes);
  if (head.content_length() && *head.content_length() > max_body) {
    unread_body = ex.body_in_flight;
    co_await respond(
        closing_error(413, "body_too_large",
                      "the request body is " + std::to_string(*head.content_length()) +
                          " bytes, more than the limit of " + std::to_string(max_body)),
        &ex.request, false, ex.route_name, ex.request.method, ex.start);
    co_return false;
  }
  if (!ex.has_body) co_return true;
  if (ex.expects_continue) {
    arm(limits.write_timeout);
    auto sent = co_await transport->write_all("HTTP/1.1 100 Continue\r\n\r\n");
    disarm();
    if (!sent) co_return false;
  }
  arm(route.options.body_timeout.value_or(limits.body_timeout));
  std::optional<Response> problem;
  if (route.options.body_to_file) {
    problem = co_await read_body_to_file(head, max_body, ex);
  } else {
    bhttp::request_parser<bhttp::string_body> parser(std::move(head));
    problem = co_await feed_body(parser, max_body);
    ex.request.body = std::move(parser.get().body());
    ex.request.body_size = ex.request.body.size();
  }
  disarm();
  if (problem) {
    unread_body = ex.declared_body;
    co_await respond(std::move(*problem), &ex.request, false, ex.route_name, ex.request.method,
                     ex.start);
    co_return false;
  }
  co_return true;
}

// Runs the route's handler and sends its answer. Returns whether the connection stays open.
asio::awaitable<bool> Connection::answer(const Router::Route& route, Exchange& ex) {
  // A handler may hold the request for long (a check-in long-poll): no read buffer meanwhile.
  if (buffer.empty()) std::string().swap(buffer);
  Response response;
  try {
    response = co_await route.handler(ex.request);
  } catch (const std::exception& e) {
    response = Response::error(500, "internal", std::string("internal error: ") + e.what());
  }
  ex.upload.remove();  // before answering, so a client that sees the answer sees no leftover file
  if (server->stopped) co_return false;
  const bool keep = ex.keep_alive && !response.close;
  co_await respond(std::move(response), &ex.request, keep, ex.route_name, ex.request.method,
                   ex.start);
  co_return keep && !closing;
}

// One request: head, route, guard, body, handler, answer. Returns false to close.
asio::awaitable<bool> Connection::serve_one() {
  const auto start = Clock::now();
  bhttp::request_parser<bhttp::empty_body> head;
  head.header_limit(static_cast<std::uint32_t>(server->limits.max_header_bytes));
  head.body_limit(std::numeric_limits<std::uint64_t>::max());  // checked per route in read_body
  head.eager(false);
  if (!co_await read_head(head, start)) co_return false;

  Exchange ex = begin_exchange(head, start);
  if (auto problem = parse_target(ex.request.target, ex.request)) {
    co_await respond(closing_error(400, "bad_target", *problem), nullptr, false, "",
                     ex.request.method, start);
    co_return false;
  }
  const auto match = server->router.match(ex.request.method, ex.request.path);
  if (match.route == nullptr) co_return co_await refuse_unrouted(ex, match);
  const Router::Route& route = *match.route;
  ex.request.params = match.params;
  ex.route_name = route.options.name;
  if (route.options.guard) {
    if (auto refused = route.options.guard(ex.request)) {
      co_return co_await refuse_before_body(ex, std::move(*refused));
    }
  }
  if (!co_await read_body(route, head, ex)) co_return false;
  co_return co_await answer(route, ex);
}

asio::awaitable<void> Connection::respond(Response response, const Request* request,
                                          bool keep_alive, std::string_view route_name, Verb method,
                                          Clock::time_point start) {
  const unsigned status = response.status;
  const bool head_only = request != nullptr && request->method == Verb::head;
  const bool no_body = status == 204 || status == 304 || (status >= 100 && status < 200);
  const std::uint64_t length = response.file ? response.file->length : response.body.size();

  std::string out;
  out.reserve(256 + (head_only || response.file ? 0 : response.body.size()));
  out += "HTTP/1.1 ";
  out += std::to_string(status);
  out += ' ';
  out += sv(bhttp::obsolete_reason(static_cast<bhttp::status>(status)));
  out += "\r\n";
  for (const auto& [name, value] : response.headers) {
    // Header values come from our own code, but never let one end the head early.
    if (name.find_first_of("\r\n:") != std::string::npos ||
        value.find_first_of("\r\n") != std::string::npos) {
      continue;
    }
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
  }
  if (!no_body) {
    out += "Content-Length: ";
    out += std::to_string(length);
    out += "\r\n";
  }
  if (!keep_alive) out += "Connection: close\r\n";
  out += "\r\n";
  const bool send_body = !head_only && !no_body;
  if (send_body && !response.file) out += response.body;

  arm(server->limits.write_timeout);
  auto written = co_await transport->write_all(out);
  if (written && send_body && response.file) {
    std::string chunk(static_cast<std::size_t>(std::min<std::uint64_t>(kFileChunk, length)), '\0');
    std::uint64_t offset = response.file->offset;
    std::uint64_t left = length;
    while (left > 0 && written) {
      const std::size_t want =
          static_cast<std::size_t>(std::min<std::uint64_t>(left, chunk.size()));
      const ssize_t n =
          ::pread(response.file->fd->get(), chunk.data(), want, static_cast<off_t>(offset));
      if (n <= 0) {
        written = make_error(Errc::io, "reading the response file failed");
        break;
      }
      arm(server->limits.write_timeout);  // each chunk gets its own deadline
      written = co_await transport->write_all(
          std::string_view(chunk.data(), static_cast<std::size_t>(n)));
      offset += static_cast<std::uint64_t>(n);
      left -= static_cast<std::uint64_t>(n);
    }
  }
  disarm();
  if (!written || !keep_alive) closing = true;
  if (server->observer) {
    server->observer(RequestRecord{route_name, method, status, Clock::now() - start});
  }
}

Server::Server(asio::io_context& context, Router router, Limits limits)
    : state_(std::make_shared<State>(context, std::move(router), std::move(limits))) {}

Server::~Server() {
  stop();
}

void Server::set_observer(RequestObserver observer) {
  state_->observer = std::move(observer);
}

std::size_t Server::connection_count() const {
  std::lock_guard lock(state_->count_mutex);
  return state_->count;
}

std::uint64_t Server::refused(Refusal reason) const {
  return state_->refusals[static_cast<std::size_t>(reason)].load(std::memory_order_relaxed);
}

const std::shared_ptr<ConnectionBudget>& Server::connection_budget() const {
  return state_->budget;
}

namespace {

// The source a connection counts against in the budget: its IP address; none for Unix sockets.
std::optional<asio::ip::address> source_of(const tcp::endpoint& remote) {
  return remote.address();
}
std::optional<asio::ip::address> source_of(const asio::local::stream_protocol::endpoint&) {
  return std::nullopt;
}

template <class Acceptor, class MakeTransport>
asio::awaitable<void> accept_loop(std::shared_ptr<Server::State> state, Acceptor& acceptor,
                                  MakeTransport make_transport) {
  asio::steady_timer backoff(state->context);
  while (!state->stopped) {
    boost::system::error_code ec;
    typename Acceptor::endpoint_type remote;
    auto socket =
        co_await acceptor.async_accept(remote, asio::redirect_error(asio::use_awaitable, ec));
    if (state->stopped || ec == asio::error::operation_aborted ||
        ec == asio::error::bad_descriptor) {
      co_return;
    }
    if (ec) {
      // Out of descriptors or memory: the client stays queued and accept would fail again at
      // once, so wait a little rather than spin; the listener carries on.
      state->note(Refusal::accept_error);
      backoff.expires_after(std::chrono::milliseconds(50));
      co_await backoff.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    auto admission = state->budget->admit(source_of(remote));
    if (admission.refused) {
      // Over a bound: closed as the socket goes out of scope, before any byte either way.
      state->note(*admission.refused);
      continue;
    }
    auto connection = std::make_shared<Connection>(state, make_transport(std::move(socket)),
                                                   std::move(admission.ticket));
    asio::co_spawn(
        state->context, [connection]() -> asio::awaitable<void> { co_await connection->run(); },
        asio::detached);
  }
}

using ReusePort = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

template <class Protocol>
Result<std::unique_ptr<typename Protocol::acceptor>> open_acceptor(
    asio::io_context& context, const typename Protocol::endpoint& endpoint, bool reuse,
    PortSharing sharing = PortSharing::exclusive) {
  auto acceptor = std::make_unique<typename Protocol::acceptor>(context);
  boost::system::error_code ec;
  acceptor->open(endpoint.protocol(), ec);
  if (!ec && reuse) acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec && sharing == PortSharing::shared) acceptor->set_option(ReusePort(true), ec);
  if (!ec) acceptor->bind(endpoint, ec);
  if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return make_error(Errc::network, ec.message());
  return acceptor;
}

// Binds host:port (port 0: any free port) for listen_tcp and listen_tls.
Result<std::unique_ptr<tcp::acceptor>> open_tcp_acceptor(
    asio::io_context& context, const std::string& host, std::uint16_t port,
    PortSharing sharing = PortSharing::exclusive) {
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(host, ec);
  if (ec) return make_error(Errc::invalid_argument, "not an IP address: " + host);
  auto acceptor = open_acceptor<tcp>(context, tcp::endpoint(address, port), true, sharing);
  if (!acceptor) {
    return std::move(acceptor).error().context("cannot listen on " + host + ":" +
                                               std::to_string(port));
  }
  return std::move(*acceptor);
}

}  // namespace

Result<std::uint16_t> reserve_tcp_port(const std::string& host, std::uint16_t port) {
  asio::io_context context(1);
  EF_TRY(auto probe, open_tcp_acceptor(context, host, port));
  return probe->local_endpoint().port();
}

Result<std::uint16_t> Server::listen_tcp(const std::string& host, std::uint16_t port) {
  EF_TRY(auto acceptor, open_tcp_acceptor(state_->context, host, port));
  const std::uint16_t bound = acceptor->local_endpoint().port();
  auto& ref = *acceptor;
  state_->tcp_acceptors.push_back(std::move(acceptor));
  asio::co_spawn(
      state_->context,
      accept_loop(state_, ref,
                  [](tcp::socket s) { return detail::make_tcp_transport(std::move(s)); }),
      asio::detached);
  return bound;
}

Result<std::uint16_t> Server::listen_tls(const std::string& host, std::uint16_t port,
                                         std::shared_ptr<TlsContext> tls, PortSharing sharing) {
  EF_TRY(auto acceptor, open_tcp_acceptor(state_->context, host, port, sharing));
  const std::uint16_t bound = acceptor->local_endpoint().port();
  auto& ref = *acceptor;
  state_->tls_acceptors.emplace_back(std::move(acceptor), tls);
  asio::co_spawn(
      state_->context,
      accept_loop(state_, ref,
                  [tls](tcp::socket s) { return detail::make_tls_transport(std::move(s), tls); }),
      asio::detached);
  return bound;
}

Status Server::listen_unix(const std::filesystem::path& path, unsigned mode) {
  using local = asio::local::stream_protocol;
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return make_error(Errc::exists,
                        path.string() + " exists and is not a socket; not replacing it");
    }
    ::unlink(path.c_str());
  }
  auto acceptor = open_acceptor<local>(state_->context, local::endpoint(path.string()), false);
  if (!acceptor) return std::move(acceptor).error().context("cannot listen on " + path.string());
  if (::chmod(path.c_str(), mode) != 0) return os_error("cannot chmod", path, errno);
  auto& ref = **acceptor;
  state_->unix_acceptors.push_back(std::move(*acceptor));
  state_->unix_paths.push_back(path);
  asio::co_spawn(
      state_->context,
      accept_loop(state_, ref,
                  [](local::socket s) { return detail::make_unix_transport(std::move(s)); }),
      asio::detached);
  return {};
}

void Server::stop() {
  auto state = state_;
  auto close_all = [state] {
    if (state->stopped) return;
    state->stopped = true;
    boost::system::error_code ignored;
    for (auto& a : state->tcp_acceptors)
      a->close(ignored);
    for (auto& [a, tls] : state->tls_acceptors)
      a->close(ignored);
    for (auto& a : state->unix_acceptors)
      a->close(ignored);
    for (const auto& p : state->unix_paths)
      ::unlink(p.c_str());
    for (Connection* c : state->connections) {
      c->closing = true;
      c->transport->close();
    }
  };
  if (state->context.get_executor().running_in_this_thread() || state->context.stopped()) {
    close_all();
  } else {
    asio::post(state->context, close_all);
  }
}

}  // namespace ef::http
