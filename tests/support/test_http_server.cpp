#include "test_http_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>

namespace ef::testing {

namespace {

bool send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

}  // namespace

TestHttpServer::TestHttpServer() {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::listen(listen_fd_, 64);
  socklen_t len = sizeof addr;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

TestHttpServer::~TestHttpServer() {
  stopping_ = true;
  ::shutdown(listen_fd_, SHUT_RDWR);
  ::close(listen_fd_);
  acceptor_.join();
  {
    std::lock_guard lock(mu_);
    for (int fd : open_fds_)
      ::shutdown(fd, SHUT_RDWR);
  }
  for (auto& t : connections_)
    t.join();
}

void TestHttpServer::route(const std::string& path, Handler handler) {
  std::lock_guard lock(mu_);
  routes_[path] = std::move(handler);
}

void TestHttpServer::serve_dir(const std::string& prefix, const std::filesystem::path& dir) {
  route(prefix, [prefix, dir](const Request& req) {
    Reply reply;
    std::string rel = req.path.substr(prefix.size());
    if (rel.find("..") != std::string::npos) return Reply{.status = 400, .body = "bad path"};
    std::ifstream in(dir / rel, std::ios::binary);
    if (!in || std::filesystem::is_directory(dir / rel))
      return Reply{.status = 404, .body = "not found"};
    std::ostringstream ss;
    ss << in.rdbuf();
    reply.body = ss.str();
    return reply;
  });
}

std::string TestHttpServer::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

std::vector<std::string> TestHttpServer::requested_paths() const {
  std::lock_guard lock(mu_);
  return requests_;
}

void TestHttpServer::clear_requests() {
  std::lock_guard lock(mu_);
  requests_.clear();
}

void TestHttpServer::accept_loop() {
  while (!stopping_) {
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (stopping_) return;
      continue;
    }
    std::lock_guard lock(mu_);
    open_fds_.push_back(fd);
    connections_.emplace_back([this, fd] { handle(fd); });
  }
}

Reply TestHttpServer::dispatch(const Request& request) {
  Handler handler;
  {
    std::lock_guard lock(mu_);
    requests_.push_back(request.path);
    auto exact = routes_.find(request.path);
    if (exact != routes_.end()) {
      handler = exact->second;
    } else {
      std::size_t best = 0;
      for (const auto& [path, h] : routes_) {
        if (!path.empty() && path.back() == '/' && request.path.starts_with(path) &&
            path.size() > best) {
          best = path.size();
          handler = h;
        }
      }
    }
  }
  if (!handler) return Reply{.status = 404, .body = "no route"};
  return handler(request);
}

void TestHttpServer::handle(int fd) {
  struct Closer {
    TestHttpServer* server;
    int fd;
    ~Closer() {
      std::lock_guard lock(server->mu_);
      std::erase(server->open_fds_, fd);
      ::close(fd);
    }
  } closer{this, fd};
  std::string buffer;
  char chunk[8192];
  for (;;) {
    // Read one request head (and a Content-Length body).
    std::size_t head_end;
    while ((head_end = buffer.find("\r\n\r\n")) == std::string::npos) {
      const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
      if (n <= 0) return;
      buffer.append(chunk, static_cast<std::size_t>(n));
    }
    Request request;
    std::istringstream head(buffer.substr(0, head_end));
    std::string line;
    std::getline(head, line);
    std::istringstream first(line);
    first >> request.method >> request.path;
    while (std::getline(head, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      const auto colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(' '));
      request.headers[lower(line.substr(0, colon))] = value;
    }
    buffer.erase(0, head_end + 4);
    std::size_t content_length = 0;
    if (auto it = request.headers.find("content-length"); it != request.headers.end()) {
      content_length = std::stoul(it->second);
    }
    while (buffer.size() < content_length) {
      const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
      if (n <= 0) return;
      buffer.append(chunk, static_cast<std::size_t>(n));
    }
    request.body = buffer.substr(0, content_length);
    buffer.erase(0, content_length);

    Reply reply = dispatch(request);
    if (reply.raw) {
      send_all(fd, reply.body);
      return;
    }
    std::string body = reply.body;
    int status = reply.status;
    std::string extra;
    if (auto it = request.headers.find("range");
        it != request.headers.end() && reply.honour_range && status == 200) {
      const std::string& r = it->second;  // "bytes=N-"
      const std::size_t from = std::stoul(r.substr(6));
      if (from <= body.size()) {
        extra = "Content-Range: bytes " + std::to_string(from) + "-" +
                std::to_string(body.size() - 1) + "/" + std::to_string(body.size()) + "\r\n";
        body = body.substr(from);
        status = 206;
      } else {
        status = 416;
        body.clear();
      }
    }
    // An endless body has no length: it is delimited by the connection closing (never).
    std::string response =
        "HTTP/1.1 " + std::to_string(status) + " X\r\n" +
        (reply.endless ? std::string("Connection: close\r\n")
                       : "Content-Length: " + std::to_string(body.size()) + "\r\n") +
        extra;
    for (const auto& [name, value] : reply.headers)
      response += name + ": " + value + "\r\n";
    response += "\r\n";
    if (!send_all(fd, response)) break;
    if (request.method == "HEAD") continue;
    const std::size_t limit = std::min(reply.close_after_bytes, body.size());
    bool ok = true;
    if (reply.delay_per_byte.count() > 0) {
      for (std::size_t i = 0; i < limit && ok && !stopping_; ++i) {
        ok = send_all(fd, body.substr(i, 1));
        std::this_thread::sleep_for(reply.delay_per_byte);
      }
    } else {
      ok = send_all(fd, std::string_view(body).substr(0, limit));
    }
    if (!ok || limit < body.size()) break;
    if (reply.endless) {
      const std::string filler(65536, 'A');
      while (!stopping_ && send_all(fd, filler)) {
      }
      break;
    }
  }
}

}  // namespace ef::testing
