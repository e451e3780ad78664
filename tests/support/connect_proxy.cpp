#include "connect_proxy.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <charconv>
#include <stdexcept>

namespace ef::testing {

namespace {

bool send_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
    if (n <= 0) return false;
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

// Reads the request head byte by byte so no tunnelled byte is consumed with it.
bool read_head(int fd, std::string& head) {
  char c = 0;
  while (head.size() < 8192) {
    if (::recv(fd, &c, 1, 0) != 1) return false;
    head.push_back(c);
    if (head.ends_with("\r\n\r\n")) return true;
  }
  return false;
}

int connect_loopback(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Copies bytes both ways until either side closes.
void pump(int a, int b) {
  char buffer[16384];
  pollfd fds[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
  while (::poll(fds, 2, -1) > 0) {
    for (int i = 0; i < 2; ++i) {
      if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      const ssize_t n = ::recv(fds[i].fd, buffer, sizeof buffer, 0);
      if (n <= 0 || !send_all(fds[1 - i].fd, buffer, static_cast<std::size_t>(n))) return;
    }
  }
}

}  // namespace

ConnectProxy::ConnectProxy() {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listen_fd_, 64) != 0)
    throw std::runtime_error("connect proxy: cannot listen on 127.0.0.1");
  socklen_t len = sizeof addr;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

ConnectProxy::~ConnectProxy() {
  stopping_ = true;
  ::shutdown(listen_fd_, SHUT_RDWR);
  ::close(listen_fd_);
  acceptor_.join();
  std::vector<std::thread> connections;
  {
    std::lock_guard lock(mu_);
    for (int fd : open_fds_)
      ::shutdown(fd, SHUT_RDWR);
    connections.swap(connections_);
  }
  for (auto& t : connections)
    t.join();
  for (int fd : open_fds_)
    ::close(fd);
}

std::vector<std::string> ConnectProxy::tunnels() const {
  std::lock_guard lock(mu_);
  return tunnels_;
}

void ConnectProxy::accept_loop() {
  while (!stopping_) {
    const int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    std::lock_guard lock(mu_);
    if (stopping_) {
      ::close(client);
      break;
    }
    open_fds_.push_back(client);
    connections_.emplace_back([this, client] { serve(client); });
  }
}

void ConnectProxy::serve(int client) {
  std::string head;
  const auto refuse = [&](const char* status) {
    const std::string answer = std::string("HTTP/1.1 ") + status + "\r\nContent-Length: 0\r\n\r\n";
    send_all(client, answer.data(), answer.size());
  };
  if (read_head(client, head)) {
    // Loopback only, by address or by name: the proxy must not reach anything else.
    const std::string prefix =
        head.starts_with("CONNECT localhost:") ? "CONNECT localhost:" : "CONNECT 127.0.0.1:";
    const auto line_end = head.find("\r\n");
    const auto space = head.find(' ', prefix.size());
    if (!head.starts_with(prefix) || space == std::string::npos || space > line_end) {
      refuse("403 Forbidden");
    } else {
      const std::string target = head.substr(8, space - 8);
      int port = 0;
      const char* digits = head.data() + prefix.size();
      const auto parsed = std::from_chars(digits, head.data() + space, port);
      const int upstream = parsed.ec == std::errc() && parsed.ptr == head.data() + space
                               ? connect_loopback(port)
                               : -1;
      if (upstream < 0) {
        refuse("502 Bad Gateway");
      } else {
        {
          std::lock_guard lock(mu_);
          tunnels_.push_back(target);
          open_fds_.push_back(upstream);
        }
        const std::string ok = "HTTP/1.1 200 Connection established\r\n\r\n";
        if (send_all(client, ok.data(), ok.size())) pump(client, upstream);
        ::shutdown(upstream, SHUT_RDWR);
      }
    }
  }
  ::shutdown(client, SHUT_RDWR);
}

}  // namespace ef::testing
