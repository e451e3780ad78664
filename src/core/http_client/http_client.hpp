// An HTTP(S) client on libcurl for the device agent, the CLI and the TUF client.
//
// Every transfer is bounded: a connect timeout, an optional total deadline, a minimum transfer
// rate over a window (defeats slow-retrieval attacks without cutting off large downloads on slow
// links), and a maximum body size enforced while receiving (defeats endless-data attacks).
// HTTP error statuses are not errors here: the Response carries the status and the caller
// decides. Proxies follow libcurl's environment variables (HTTPS_PROXY, NO_PROXY).
// One HttpClient reuses connections (keep-alive); it is not thread-safe, use one per thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/result.hpp"

namespace ef::http_client {

struct TlsOptions {
  std::string ca_file;    // trust only this CA bundle (empty: the system's)
  std::string cert_file;  // client certificate (PEM) for mTLS
  std::string key_file;   // its private key (PEM)
};

struct Options {
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds total_timeout{0};  // 0: no total deadline
  std::uint64_t min_bytes_per_second = 1024;   // abort when slower than this ...
  std::chrono::seconds low_speed_window{30};   // ... for this long
  std::uint64_t max_body_bytes = 16 * 1024 * 1024;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string bearer_token;
  TlsOptions tls;
  std::string unix_socket;                  // connect to this Unix socket instead of the URL's host
  std::optional<std::uint64_t> range_from;  // send "Range: bytes=N-"
  // TCP keep-alive probes after this long without traffic, then every keepalive_interval: keeps
  // NAT/firewall state of a long-held request (a parked long-poll) alive. Unset: none.
  std::optional<std::chrono::seconds> keepalive_idle;
  std::chrono::seconds keepalive_interval{60};
  // Called once with the response status before the first body byte reaches a Sink; an error
  // stops the transfer (e.g. a 200 where a 206 was expected, to restart a resumed download).
  std::function<Status(long status)> on_status;
  // When set and true, the transfer is aborted (Errc::timeout "cancelled") within a second.
  const std::atomic<bool>* cancel = nullptr;
  // When set, called about once a second while the transfer runs (with `cancel` set): a caller
  // parked in a long request can feed a watchdog.
  std::function<void()> on_tick;
};

struct Response {
  long status = 0;
  std::string body;                            // empty when a sink consumed the body
  std::map<std::string, std::string> headers;  // names lower-cased; last value wins
  std::uint64_t body_bytes = 0;                // bytes received (also with a sink)

  const std::string* header(std::string_view lower_name) const;
};

// Receives body bytes as they arrive; an error stops the transfer and is returned as-is.
using Sink = std::function<Status(std::string_view chunk)>;

class HttpClient {
 public:
  HttpClient();
  ~HttpClient();
  HttpClient(HttpClient&&) noexcept;
  HttpClient& operator=(HttpClient&&) noexcept;

  Result<Response> get(const std::string& url, const Options& options = {});
  // GET streaming the body into sink (for large downloads); Response.body stays empty.
  Result<Response> get_to(const std::string& url, const Options& options, const Sink& sink);
  // Any method with an optional body; content_type is sent when the body is non-empty.
  Result<Response> request(std::string_view method, const std::string& url, std::string_view body,
                           std::string_view content_type, const Options& options = {});

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Percent-encodes every byte except unreserved characters (A-Z a-z 0-9 - . _ ~), like Python's
// urllib.parse.quote(s, safe="").
std::string url_encode(std::string_view text);

}  // namespace ef::http_client
