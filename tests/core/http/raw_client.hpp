// A deliberately dumb blocking HTTP client for tests: it sends exactly the bytes it is given, so
// tests can stage malformed, oversized, pipelined and slow requests.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>

namespace ef::test {

struct RawResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
};

class RawClient {
 public:
  static RawClient tcp(std::uint16_t port) {
    RawClient c(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(c.fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      throw std::runtime_error("connect failed");
    }
    return c;
  }
  static RawClient unix_socket(const std::filesystem::path& path) {
    RawClient c(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
    if (::connect(c.fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      throw std::runtime_error("connect failed");
    }
    return c;
  }
  RawClient(RawClient&& o) noexcept : fd_(o.fd_), pending_(std::move(o.pending_)) { o.fd_ = -1; }
  ~RawClient() {
    if (fd_ >= 0) ::close(fd_);
  }

  void send(const std::string& data) {
    std::size_t off = 0;
    while (off < data.size()) {
      const ssize_t n = ::send(fd_, data.data() + off, data.size() - off, MSG_NOSIGNAL);
      if (n <= 0) throw std::runtime_error("send failed");
      off += static_cast<std::size_t>(n);
    }
  }

  // Tries to send; returns false when the server already closed the connection.
  bool try_send(const std::string& data) {
    const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    return n == static_cast<ssize_t>(data.size());
  }

  // Reads one response (Content-Length framed); nullopt if the connection closed first or nothing
  // arrived within timeout.
  std::optional<RawResponse> read_response(
      std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::size_t head_end;
    while ((head_end = pending_.find("\r\n\r\n")) == std::string::npos) {
      if (!fill(deadline)) return std::nullopt;
    }
    RawResponse r;
    const std::string head = pending_.substr(0, head_end);
    pending_.erase(0, head_end + 4);
    std::size_t line_end = head.find("\r\n");
    const std::string status_line = head.substr(0, line_end);
    r.status = std::stoi(status_line.substr(9, 3));
    while (line_end != std::string::npos && line_end < head.size()) {
      const std::size_t start = line_end + 2;
      line_end = head.find("\r\n", start);
      const std::string line =
          head.substr(start, line_end == std::string::npos ? std::string::npos : line_end - start);
      const std::size_t colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string name = line.substr(0, colon);
      for (auto& ch : name)
        ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ')
        value.erase(0, 1);
      r.headers[name] = value;
    }
    if (r.status == 100) return read_response(timeout);
    std::size_t length = 0;
    if (auto it = r.headers.find("content-length"); it != r.headers.end())
      length = std::stoul(it->second);
    while (pending_.size() < length) {
      if (!fill(deadline)) return std::nullopt;
    }
    r.body = pending_.substr(0, length);
    pending_.erase(0, length);
    return r;
  }

  // Reads one response to a HEAD request: the head only.
  std::optional<RawResponse> read_head_response() {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (pending_.find("\r\n\r\n") == std::string::npos) {
      if (!fill(deadline)) return std::nullopt;
    }
    const std::size_t end = pending_.find("\r\n\r\n");
    std::string head = pending_.substr(0, end + 4);
    pending_.erase(0, end + 4);
    RawClient copy(-1);
    copy.pending_ = head;
    auto r = copy.read_response_headers_only();
    return r;
  }

  // True when the server closes the connection within timeout (reading and dropping any data).
  bool closed_within(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
      char buf[4096];
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) return true;
      pending_.append(buf, static_cast<std::size_t>(n));
    }
  }

  const std::string& pending() const { return pending_; }

 private:
  explicit RawClient(int fd) : fd_(fd) {}

  std::optional<RawResponse> read_response_headers_only() {
    RawResponse r;
    const std::size_t end = pending_.find("\r\n");
    r.status = std::stoi(pending_.substr(9, 3));
    std::size_t pos = end + 2;
    while (pos < pending_.size()) {
      const std::size_t e = pending_.find("\r\n", pos);
      if (e == std::string::npos || e == pos) break;
      const std::string line = pending_.substr(pos, e - pos);
      const std::size_t colon = line.find(':');
      std::string name = line.substr(0, colon);
      for (auto& ch : name)
        ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      r.headers[name] = line.substr(colon + 2);
      pos = e + 2;
    }
    return r;
  }

  bool fill(std::chrono::steady_clock::time_point deadline) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char buf[16384];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) return false;
    pending_.append(buf, static_cast<std::size_t>(n));
    return true;
  }

  int fd_;
  std::string pending_;
};

}  // namespace ef::test
