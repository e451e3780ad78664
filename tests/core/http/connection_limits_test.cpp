// Connection bounds and their counters: ConnectionBudget on its own, then the server over real
// sockets against floods, slow-loris clients and descriptor exhaustion.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <deque>
#include <filesystem>
#include <thread>
#include <vector>

#include "core/http/connection_budget.hpp"
#include "core/http/server.hpp"
#include "raw_client.hpp"

namespace ef::http {
namespace {

namespace fs = std::filesystem;
namespace asio = boost::asio;
using namespace std::chrono_literals;
using test::RawClient;

asio::ip::address ip(const char* text) {
  return asio::ip::make_address(text);
}

// Polls pred until it holds or timeout passes; returns its last value.
template <class Pred>
bool wait_until(Pred pred, std::chrono::milliseconds timeout = 3s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return pred();
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

TEST(ConnectionBudgetTest, PerSourceBoundRefusesTheExtraAndAReleaseMakesRoom) {
  auto budget = ConnectionBudget::create(100, 2);
  auto a = budget->admit(ip("10.0.0.1"));
  auto b = budget->admit(ip("10.0.0.1"));
  ASSERT_TRUE(a.ticket && b.ticket);
  auto c = budget->admit(ip("10.0.0.1"));
  EXPECT_FALSE(c.ticket);
  ASSERT_TRUE(c.refused);
  EXPECT_EQ(*c.refused, Refusal::per_source);
  EXPECT_TRUE(budget->admit(ip("10.0.0.2")).ticket);  // another source is not affected
  EXPECT_EQ(budget->open_from(ip("10.0.0.1")), 2u);
  a.ticket = {};  // gives its place back
  EXPECT_EQ(budget->open_from(ip("10.0.0.1")), 1u);
  auto d = budget->admit(ip("10.0.0.1"));
  EXPECT_TRUE(d.ticket);
  EXPECT_EQ(budget->open(), 2u);
}

TEST(ConnectionBudgetTest, TotalBoundCountsEverySourceAndSocketsWithoutAnAddress) {
  auto budget = ConnectionBudget::create(3, 0);  // 0: no bound per source
  std::vector<ConnectionBudget::Ticket> held;
  held.push_back(std::move(budget->admit(ip("10.0.0.1")).ticket));
  held.push_back(std::move(budget->admit(ip("10.0.0.1")).ticket));
  held.push_back(std::move(budget->admit(std::nullopt).ticket));  // a Unix socket
  for (const auto& t : held)
    ASSERT_TRUE(t);
  for (auto source : {std::optional(ip("10.0.0.9")), std::optional<asio::ip::address>()}) {
    auto refused = budget->admit(source);
    EXPECT_FALSE(refused.ticket);
    ASSERT_TRUE(refused.refused);
    EXPECT_EQ(*refused.refused, Refusal::total);
  }
  held.clear();
  EXPECT_EQ(budget->open(), 0u);
  EXPECT_EQ(budget->open_from(ip("10.0.0.1")), 0u);
}

TEST(ConnectionBudgetTest, Ipv6CountsPerSlash64AndMappedIpv4AsIpv4) {
  auto budget = ConnectionBudget::create(100, 1);
  auto v6 = budget->admit(ip("2001:db8:1:2::1"));
  ASSERT_TRUE(v6.ticket);
  // Another address in the same /64 is the same source; the next /64 is not.
  EXPECT_EQ(budget->admit(ip("2001:db8:1:2:ffff::7")).refused, Refusal::per_source);
  EXPECT_TRUE(budget->admit(ip("2001:db8:1:3::1")).ticket);
  auto v4 = budget->admit(ip("192.0.2.7"));
  ASSERT_TRUE(v4.ticket);
  EXPECT_EQ(budget->admit(ip("::ffff:192.0.2.7")).refused, Refusal::per_source);
  EXPECT_EQ(budget->open_from(ip("::ffff:192.0.2.7")), 1u);
}

TEST(ConnectionBudgetTest, TicketsKeepTheBudgetAliveAndMoveWithoutDoubleRelease) {
  auto budget = ConnectionBudget::create(1, 1);
  std::weak_ptr<ConnectionBudget> weak = budget;
  auto admission = budget->admit(ip("10.0.0.1"));
  ConnectionBudget::Ticket moved = std::move(admission.ticket);
  EXPECT_FALSE(admission.ticket);
  budget.reset();
  ASSERT_FALSE(weak.expired());  // the ticket holds it
  EXPECT_EQ(weak.lock()->open(), 1u);
  moved = {};
  EXPECT_TRUE(weak.expired());
}

TEST(ConnectionBudgetTest, AutomaticTotalKeepsATenthOfTheOpenFileLimitInReserve) {
  struct rlimit limit {};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &limit), 0);
  const auto files = static_cast<std::size_t>(limit.rlim_cur);
  EXPECT_EQ(ConnectionBudget::automatic_max_total(), files - std::max<std::size_t>(64, files / 10));
  EXPECT_EQ(ConnectionBudget::create()->max_total(), ConnectionBudget::automatic_max_total());
  EXPECT_EQ(ConnectionBudget::create()->max_per_source(), 10'000u);
}

TEST(ConnectionBudgetTest, ConcurrentAdmitAndReleaseNeverPassTheBounds) {
  auto budget = ConnectionBudget::create(8, 3);
  std::atomic<int> over{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      const auto source = ip(t % 2 == 0 ? "10.0.0.1" : "10.0.0.2");
      for (int i = 0; i < 20'000; ++i) {
        auto a = budget->admit(source);
        if (budget->open() > 8 || budget->open_from(source) > 3) ++over;
      }
    });
  }
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(over, 0);
  EXPECT_EQ(budget->open(), 0u);
}

// A server on 127.0.0.1 with short timeouts; each test sets its bounds before start().
class ConnectionLimitsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    limits_.header_timeout = 5s;
    limits_.idle_timeout = 10s;
    router_.add_sync(Verb::get, "/hello", [](Request&) { return Response::text(200, "hello"); });
  }

  void TearDown() override {
    for (auto& s : servers_)
      s->stop();
    if (thread_.joinable()) {
      context_.stop();
      thread_.join();
    }
    servers_.clear();
  }

  Server& add_server(const Limits& limits) {
    servers_.push_back(std::make_unique<Server>(context_, router_, limits));
    return *servers_.back();
  }

  std::uint16_t listen(Server& server) {
    auto port = server.listen_tcp("127.0.0.1", 0);
    EXPECT_TRUE(port) << port.error().message;
    return port ? *port : 0;
  }

  void run() {
    thread_ = std::thread([this] {
      auto guard = asio::make_work_guard(context_);
      context_.run();
    });
  }

  std::uint16_t start() {
    const auto port = listen(add_server(limits_));
    run();
    return port;
  }

  Server& server() { return *servers_.front(); }

  static bool served(RawClient& c) {
    c.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    auto r = c.read_response(3s);
    return r && r->status == 200 && r->body == "hello";
  }

  // Closed by the server before it said anything, well before any timeout of the request.
  static bool refused_at_once(RawClient& c) { return c.closed_within(1s) && c.pending().empty(); }

  Limits limits_;
  Router router_;
  asio::io_context context_;
  std::vector<std::unique_ptr<Server>> servers_;
  std::thread thread_;
};

TEST_F(ConnectionLimitsTest, PerSourceBoundClosesTheExtraConnectionAndServesTheOthers) {
  limits_.max_connections_per_source = 3;
  const auto port = start();
  std::deque<RawClient> clients;
  for (int i = 0; i < 3; ++i) {
    clients.push_back(RawClient::tcp(port));
    ASSERT_TRUE(served(clients.back()));
  }
  auto extra = RawClient::tcp(port);
  EXPECT_TRUE(refused_at_once(extra));
  EXPECT_EQ(server().refused(Refusal::per_source), 1u);
  EXPECT_EQ(server().refused(Refusal::total), 0u);
  for (auto& c : clients)
    EXPECT_TRUE(served(c));  // the ones admitted are still served, on the same connections

  clients.pop_front();  // the client closes one: its place comes back
  ASSERT_TRUE(wait_until([&] { return server().connection_count() == 2; }));
  auto next = RawClient::tcp(port);
  EXPECT_TRUE(served(next));
  EXPECT_EQ(server().connection_budget()->open_from(ip("127.0.0.1")), 3u);
  EXPECT_EQ(server().refused(Refusal::per_source), 1u);
}

TEST_F(ConnectionLimitsTest, TotalBoundClosesTheExtraConnection) {
  limits_.max_connections = 2;
  limits_.max_connections_per_source = 0;
  const auto port = start();
  auto a = RawClient::tcp(port);
  auto b = RawClient::tcp(port);
  ASSERT_TRUE(served(a));
  ASSERT_TRUE(served(b));
  for (int i = 0; i < 3; ++i) {
    auto extra = RawClient::tcp(port);
    EXPECT_TRUE(refused_at_once(extra));
  }
  EXPECT_EQ(server().refused(Refusal::total), 3u);
  EXPECT_EQ(server().refused(Refusal::per_source), 0u);
  EXPECT_EQ(server().connection_count(), 2u);
  EXPECT_TRUE(served(a));
}

TEST_F(ConnectionLimitsTest, UnixSocketsCountTowardsTheTotalButNotPerSource) {
  limits_.max_connections = 3;
  limits_.max_connections_per_source = 1;
  const auto path = fs::temp_directory_path() / ("ef-limits-" + std::to_string(::getpid()));
  auto& s = add_server(limits_);
  ASSERT_TRUE(s.listen_unix(path));
  const auto port = listen(s);
  run();
  auto u1 = RawClient::unix_socket(path);
  auto u2 = RawClient::unix_socket(path);
  EXPECT_TRUE(served(u1));
  EXPECT_TRUE(served(u2));  // no source bound on a Unix socket
  auto t1 = RawClient::tcp(port);
  EXPECT_TRUE(served(t1));
  auto u3 = RawClient::unix_socket(path);
  EXPECT_TRUE(refused_at_once(u3));  // the total holds for every listener
  EXPECT_EQ(s.refused(Refusal::total), 1u);
}

TEST_F(ConnectionLimitsTest, SlowLorisHeadIsCutAtTheHeaderTimeoutAndCounted) {
  limits_.header_timeout = 300ms;
  const auto port = start();
  auto c = RawClient::tcp(port);
  const auto begin = std::chrono::steady_clock::now();
  c.send("GET /hello HTTP/1.1\r\n");
  for (int i = 0; i < 30 && c.try_send("X"); ++i)
    std::this_thread::sleep_for(40ms);
  auto r = c.read_response(2s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 408);
  EXPECT_TRUE(c.closed_within(1s));
  EXPECT_LT(std::chrono::steady_clock::now() - begin, 1500ms);
  EXPECT_TRUE(wait_until([&] { return server().refused(Refusal::header_timeout) == 1; }));
  EXPECT_EQ(server().connection_count(), 0u);
}

TEST_F(ConnectionLimitsTest, ClientThatSendsNothingIsCutAtTheHeaderTimeoutNotTheIdleTimeout) {
  limits_.header_timeout = 300ms;
  limits_.idle_timeout = 10s;
  const auto port = start();
  const auto begin = std::chrono::steady_clock::now();
  auto silent = RawClient::tcp(port);
  EXPECT_TRUE(silent.closed_within(2s));
  EXPECT_TRUE(silent.pending().empty());  // nothing was asked: no 408
  const auto took = std::chrono::steady_clock::now() - begin;
  EXPECT_GE(took, 250ms);
  EXPECT_LT(took, 1500ms);
  EXPECT_TRUE(wait_until([&] { return server().refused(Refusal::header_timeout) == 1; }));
}

TEST_F(ConnectionLimitsTest, KeepAliveConnectionsWaitForTheIdleTimeoutBetweenRequests) {
  limits_.header_timeout = 300ms;
  limits_.idle_timeout = 5s;
  const auto port = start();
  auto c = RawClient::tcp(port);
  ASSERT_TRUE(served(c));
  std::this_thread::sleep_for(800ms);  // past the header timeout, within the idle one
  EXPECT_TRUE(served(c));
  EXPECT_EQ(server().refused(Refusal::header_timeout), 0u);
}

// Connects to 127.0.0.1:port without the RawClient wrapper, for the flood.
int connect_fd(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

TEST_F(ConnectionLimitsTest, FloodOfConnectCloseCyclesLeavesTheServerServingAndNothingOpen) {
  const auto port = start();
  const auto begin = std::chrono::steady_clock::now();
  for (int i = 0; i < 2000; ++i) {
    const int fd = connect_fd(port);
    ASSERT_GE(fd, 0) << "connect " << i;
    if (i % 3 == 1) {
      (void)!::send(fd, "GET /hel", 8, MSG_NOSIGNAL);  // half a head, then gone
    } else if (i % 3 == 2) {
      const linger reset{1, 0};  // gone with a reset instead of a FIN
      ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
    }
    ::close(fd);
  }
  const auto flood = std::chrono::steady_clock::now() - begin;
  EXPECT_TRUE(wait_until([&] { return server().connection_count() == 0; }, 5s))
      << server().connection_count() << " still open";
  EXPECT_EQ(server().connection_budget()->open(), 0u);
  auto c = RawClient::tcp(port);
  EXPECT_TRUE(served(c));
  EXPECT_EQ(server().refused(Refusal::accept_error), 0u);
  std::cout << "2000 connect/close cycles in "
            << std::chrono::duration_cast<std::chrono::milliseconds>(flood).count() << " ms\n";
}

TEST_F(ConnectionLimitsTest, BurstsOverThePerSourceBoundAreRefusedExactlyAndReleased) {
  limits_.max_connections_per_source = 64;
  const auto port = start();
  const auto begin = std::chrono::steady_clock::now();
  for (int round = 1; round <= 10; ++round) {
    std::vector<int> fds;
    for (int i = 0; i < 100; ++i)
      fds.push_back(connect_fd(port));
    ASSERT_TRUE(wait_until([&] {
      return server().connection_count() == 64 &&
             server().refused(Refusal::per_source) == 36u * round;
    })) << "round "
        << round << ": " << server().connection_count() << " open, "
        << server().refused(Refusal::per_source) << " refused";
    for (int fd : fds)
      ::close(fd);
    ASSERT_TRUE(wait_until([&] { return server().connection_budget()->open() == 0; }));
  }
  std::cout << "10 bursts of 100 (640 admitted, 360 refused) in "
            << std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - begin)
                   .count()
            << " ms\n";
  auto c = RawClient::tcp(port);
  EXPECT_TRUE(served(c));
}

TEST_F(ConnectionLimitsTest, TwoServersSharingABudgetHoldOneBoundTogether) {
  auto budget = ConnectionBudget::create(100, 2);
  limits_.connection_budget = budget;
  limits_.max_connections_per_source = 1000;  // ignored: the shared budget's bounds apply
  auto& first = add_server(limits_);
  auto& second = add_server(limits_);
  const auto port_a = listen(first);
  const auto port_b = listen(second);
  run();
  EXPECT_EQ(first.connection_budget(), budget);
  auto a = RawClient::tcp(port_a);
  auto b = RawClient::tcp(port_b);
  ASSERT_TRUE(served(a));
  ASSERT_TRUE(served(b));
  auto extra = RawClient::tcp(port_a);
  EXPECT_TRUE(refused_at_once(extra));
  EXPECT_EQ(first.refused(Refusal::per_source), 1u);  // counted by the Server that refused it
  EXPECT_EQ(second.refused(Refusal::per_source), 0u);
  EXPECT_EQ(budget->open(), 2u);
  { auto gone = std::move(b); }  // a place on the second Server frees one for the first
  ASSERT_TRUE(wait_until([&] { return budget->open() == 1; }));
  auto next = RawClient::tcp(port_a);
  EXPECT_TRUE(served(next));
}

// Lowers the open-file soft limit to just above the descriptors open now and fills what is left,
// so the server's next accept() fails with EMFILE; gives everything back when destroyed.
class DescriptorExhaustion {
 public:
  DescriptorExhaustion() {
    ::getrlimit(RLIMIT_NOFILE, &saved_);
    int highest = 0;
    for (const auto& entry : fs::directory_iterator("/proc/self/fd"))
      highest = std::max(highest, std::stoi(entry.path().filename().string()));
    struct rlimit low = saved_;
    low.rlim_cur = static_cast<rlim_t>(highest + 16);
    ::setrlimit(RLIMIT_NOFILE, &low);
    for (;;) {
      const int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
      if (fd < 0) break;
      held_.push_back(fd);
    }
  }
  ~DescriptorExhaustion() { release(); }
  void give_back_one() {
    ::close(held_.back());
    held_.pop_back();
  }
  void release() {
    for (int fd : held_)
      ::close(fd);
    held_.clear();
    ::setrlimit(RLIMIT_NOFILE, &saved_);
  }

 private:
  struct rlimit saved_ {};
  std::vector<int> held_;
};

double cpu_seconds() {
  struct rusage usage {};
  ::getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

TEST_F(ConnectionLimitsTest, AcceptOutOfDescriptorsBacksOffWithoutSpinningAndRecovers) {
#if defined(__SANITIZE_ADDRESS__)
  // The sanitizers' runtime opens files of its own (/proc/self/maps to report); with every
  // descriptor taken it fails in ways that are not the server's.
  GTEST_SKIP() << "needs every descriptor taken, which the sanitizer runtime does not survive";
#endif
  limits_.max_connections = 1000;  // far above what the exhausted process can open
  const auto port = start();
  DescriptorExhaustion exhausted;
  exhausted.give_back_one();  // for the client's own socket
  auto c = RawClient::tcp(port);
  const double cpu_before = cpu_seconds();
  std::this_thread::sleep_for(600ms);  // the server keeps failing accept() meanwhile
  const double cpu = cpu_seconds() - cpu_before;
  const auto errors = server().refused(Refusal::accept_error);
  exhausted.release();
  EXPECT_LT(cpu, 0.2) << "the accept loop spins";
  EXPECT_GE(errors, 3u);   // retried about every 50 ms ...
  EXPECT_LE(errors, 20u);  // ... not in a tight loop
  EXPECT_TRUE(served(c));  // the listener lives on and takes the waiting client
  auto d = RawClient::tcp(port);
  EXPECT_TRUE(served(d));
  std::cout << errors << " failed accepts, " << cpu * 1000 << " ms CPU in 600 ms\n";
}

}  // namespace
}  // namespace ef::http
