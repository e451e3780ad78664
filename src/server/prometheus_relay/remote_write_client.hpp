// Posts remote-write requests to Prometheus over HTTP/1.1 with keep-alive (Boost.Beast: the
// server links no libcurl).
//
// Contract: post() returns the HTTP status and at most 4 KiB of the answer's body; a connection,
// write or read failure, or the deadline passing, is an Errc::network / Errc::timeout error and
// the next post() reconnects. Only http:// URLs (Prometheus on the same host or network as the
// server); https is not implemented. Not thread-safe: the relay's worker owns it.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/common/result.hpp"

namespace ef::prometheus_relay {

struct HttpUrl {
  std::string host;
  std::string port;
  std::string target;  // path and query, starts with '/'
};

// Parses http://host[:port]/path (port 80 by default); anything else is Errc::invalid_argument.
Result<HttpUrl> parse_http_url(std::string_view url);

struct PostResult {
  unsigned status = 0;
  std::string body;  // truncated to 4 KiB
};

class RemoteWriteClient {
 public:
  RemoteWriteClient(HttpUrl url, std::chrono::milliseconds timeout);
  ~RemoteWriteClient();
  RemoteWriteClient(const RemoteWriteClient&) = delete;
  RemoteWriteClient& operator=(const RemoteWriteClient&) = delete;

  // POSTs a snappy-compressed remote-write 1.0 body.
  Result<PostResult> post(std::string_view snappy_body);

 private:
  struct Connection;
  Result<PostResult> exchange(std::string_view snappy_body);
  HttpUrl url_;
  std::chrono::milliseconds timeout_;
  std::unique_ptr<Connection> connection_;
};

}  // namespace ef::prometheus_relay
