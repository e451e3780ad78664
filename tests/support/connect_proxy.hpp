// An HTTPS proxy for tests: it answers only CONNECT, only to loopback (127.0.0.1 or localhost), on
// 127.0.0.1 with an ephemeral port, and records every tunnel it opened ("host:port"), so a test can
// show that a client really went through it.
#pragma once

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace ef::testing {

class ConnectProxy {
 public:
  ConnectProxy();
  ~ConnectProxy();
  ConnectProxy(const ConnectProxy&) = delete;
  ConnectProxy& operator=(const ConnectProxy&) = delete;

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::vector<std::string> tunnels() const;

 private:
  void accept_loop();
  void serve(int client);

  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  mutable std::mutex mu_;
  std::vector<std::string> tunnels_;
  std::vector<std::thread> connections_;
  std::vector<int> open_fds_;
};

}  // namespace ef::testing
