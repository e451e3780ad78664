// A small HTTP/1.1 server for tests, on 127.0.0.1 with an ephemeral port, one thread per
// connection. Each route answers with a Reply that can also misbehave the way hostile or broken
// servers do: close mid-body, send more than Content-Length, trickle bytes, send garbage.
// It serves files from a directory as well (with Range), and records every request path.
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace ef::testing {

struct Request {
  std::string method;
  std::string path;                            // as sent, still percent-encoded
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

struct Reply {
  int status = 200;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // Misbehaviour:
  std::size_t close_after_bytes = SIZE_MAX;  // close the connection after this many body bytes
  bool endless = false;  // no Content-Length; after body, send bytes until the client goes
  std::chrono::milliseconds delay_per_byte{0};  // trickle the body one byte at a time
  bool raw = false;                             // send body as the whole response, no status line
  bool honour_range = true;                     // answer "Range: bytes=N-" with 206
};

using Handler = std::function<Reply(const Request&)>;

class TestHttpServer {
 public:
  TestHttpServer();
  ~TestHttpServer();

  // Exact path match first, then the longest prefix ending in '/'.
  void route(const std::string& path, Handler handler);
  // Serves files below dir for paths under prefix (e.g. "/repo/").
  void serve_dir(const std::string& prefix, const std::filesystem::path& dir);

  int port() const { return port_; }
  std::string url(const std::string& path = "/") const;
  std::vector<std::string> requested_paths() const;
  void clear_requests();

 private:
  void accept_loop();
  void handle(int fd);
  Reply dispatch(const Request& request);

  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  mutable std::mutex mu_;
  std::map<std::string, Handler> routes_;
  std::vector<std::string> requests_;
  std::vector<std::thread> connections_;
  std::vector<int> open_fds_;
};

}  // namespace ef::testing
