// Stands in for systemd's end of the notify protocol in tests: a datagram socket bound to a path
// or, with a leading '@', to an abstract name (exactly that long, so a sender that gets the address
// length wrong misses it), and a receive with a deadline.
#pragma once

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>

namespace ef::testing {

class NotifyReceiver {
 public:
  explicit NotifyReceiver(const std::string& name) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (fd_ < 0 || name.size() > sizeof(addr.sun_path)) throw std::runtime_error("bad receiver");
    std::memcpy(addr.sun_path, name.data(), name.size());
    const bool abstract = name.front() == '@';
    if (abstract) addr.sun_path[0] = '\0';
    const auto length = offsetof(sockaddr_un, sun_path) + name.size() + (abstract ? 0 : 1);
    if (::bind(fd_, reinterpret_cast<const sockaddr*>(&addr), static_cast<socklen_t>(length)) !=
        0) {
      throw std::runtime_error("binding " + name + ": " + std::strerror(errno));
    }
  }
  ~NotifyReceiver() { ::close(fd_); }
  NotifyReceiver(const NotifyReceiver&) = delete;
  NotifyReceiver& operator=(const NotifyReceiver&) = delete;

  // The next datagram, or nothing when none arrives within timeout.
  std::optional<std::string> receive(std::chrono::milliseconds timeout) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) return std::nullopt;
    char buffer[4096];
    const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
    if (n < 0) return std::nullopt;
    return std::string(buffer, static_cast<std::size_t>(n));
  }

  // Discards whatever is queued; returns how many datagrams that was.
  int drain() {
    int count = 0;
    while (receive(std::chrono::milliseconds(0)))
      ++count;
    return count;
  }

 private:
  int fd_ = -1;
};

}  // namespace ef::testing
