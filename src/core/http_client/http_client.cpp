#include "core/http_client/http_client.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <mutex>

namespace ef::http_client {

namespace {

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Transfer {
  CURL* curl = nullptr;
  bool status_seen = false;
  const Options* options = nullptr;
  const Sink* sink = nullptr;
  Response* response = nullptr;
  std::optional<Error> sink_error;  // why the write callback stopped the transfer
  bool cancelled = false;
};

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * count;
  if (!t->status_seen) {
    t->status_seen = true;
    if (t->options->on_status) {
      long status = 0;
      curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
      if (auto st = t->options->on_status(status); !st) {
        t->sink_error = st.error();
        return 0;
      }
    }
  }
  t->response->body_bytes += n;
  if (t->response->body_bytes > t->options->max_body_bytes) {
    t->sink_error =
        make_error(Errc::too_large, "response body exceeds " +
                                        std::to_string(t->options->max_body_bytes) + " bytes");
    return 0;  // a short count makes libcurl abort with CURLE_WRITE_ERROR
  }
  if (t->sink != nullptr) {
    if (auto st = (*t->sink)(std::string_view(data, n)); !st) {
      t->sink_error = st.error();
      return 0;
    }
  } else {
    t->response->body.append(data, n);
  }
  return n;
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * count;
  std::string_view line(data, n);
  if (line.starts_with("HTTP/")) {
    t->response->headers.clear();  // a new response (after a redirect or 100-continue)
    return n;
  }
  const auto colon = line.find(':');
  if (colon == std::string_view::npos) return n;
  std::string name(line.substr(0, colon));
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  auto value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
    value.remove_prefix(1);
  while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) {
    value.remove_suffix(1);
  }
  t->response->headers[name] = std::string(value);
  return n;
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  if (t->options->cancel != nullptr && t->options->cancel->load()) {
    t->cancelled = true;
    return 1;  // non-zero aborts the transfer
  }
  if (t->options->on_tick) t->options->on_tick();
  return 0;
}

}  // namespace

const std::string* Response::header(std::string_view lower_name) const {
  auto it = headers.find(std::string(lower_name));
  return it == headers.end() ? nullptr : &it->second;
}

struct HttpClient::Impl {
  CURL* curl = nullptr;
  ~Impl() {
    if (curl != nullptr) curl_easy_cleanup(curl);
  }

  Result<Response> perform(std::string_view method, const std::string& url, std::string_view body,
                           std::string_view content_type, const Options& options,
                           const Sink* sink) {
    curl_easy_reset(curl);
    Response response;
    Transfer transfer{curl, false, &options, sink, &response, std::nullopt, false};
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(options.connect_timeout.count()));
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(options.total_timeout.count()));
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT,
                     static_cast<long>(options.min_bytes_per_second));
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME,
                     static_cast<long>(options.low_speed_window.count()));
    if (options.keepalive_idle) {
      curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
      curl_easy_setopt(curl, CURLOPT_TCP_KEEPIDLE,
                       static_cast<long>(options.keepalive_idle->count()));
      curl_easy_setopt(curl, CURLOPT_TCP_KEEPINTVL,
                       static_cast<long>(options.keepalive_interval.count()));
    }
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &transfer);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &transfer);
    curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE,
                     static_cast<curl_off_t>(options.max_body_bytes));
    if (options.cancel != nullptr || options.on_tick) {
      curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
      curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
      curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &transfer);
    }
    if (!options.unix_socket.empty()) {
      curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, options.unix_socket.c_str());
    }
    // curl's own words ("CONNECT tunnel failed, response 403", "SSL certificate problem: ...")
    // say far more to whoever reads the log than the error code's generic text.
    char error_detail[CURL_ERROR_SIZE] = {0};
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_detail);
    if (!options.tls.ca_file.empty())
      curl_easy_setopt(curl, CURLOPT_CAINFO, options.tls.ca_file.c_str());
    if (!options.tls.cert_file.empty()) {
      curl_easy_setopt(curl, CURLOPT_SSLCERT, options.tls.cert_file.c_str());
      curl_easy_setopt(curl, CURLOPT_SSLKEY, options.tls.key_file.c_str());
    }
    std::string range;
    if (options.range_from) {
      range = std::to_string(*options.range_from) + "-";
      curl_easy_setopt(curl, CURLOPT_RANGE, range.c_str());
    }

    curl_slist* headers = nullptr;
    for (const auto& [name, value] : options.headers) {
      headers = curl_slist_append(headers, (name + ": " + value).c_str());
    }
    if (!options.bearer_token.empty()) {
      headers =
          curl_slist_append(headers, ("Authorization: Bearer " + options.bearer_token).c_str());
    }
    if (!body.empty() && !content_type.empty()) {
      headers = curl_slist_append(headers, ("Content-Type: " + std::string(content_type)).c_str());
    }
    // No "Expect: 100-continue" round trip before bodies.
    headers = curl_slist_append(headers, "Expect:");
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);

    if (method == "GET") {
      curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
    } else if (method == "HEAD") {
      curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    } else {
      curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, std::string(method).c_str());
      curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
      curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    }

    const CURLcode rc = curl_easy_perform(curl);
    curl_slist_free_all(headers);
    if (transfer.sink_error)
      return std::move(*transfer.sink_error).context(std::string(method) + " " + url);
    if (transfer.cancelled)
      return make_error(Errc::timeout, std::string(method) + " " + url + ": cancelled");
    if (rc != CURLE_OK) {
      Errc code = Errc::network;
      if (rc == CURLE_OPERATION_TIMEDOUT) code = Errc::timeout;
      if (rc == CURLE_FILESIZE_EXCEEDED) code = Errc::too_large;
      return make_error(code, std::string(method) + " " + url + ": " +
                                  (error_detail[0] != 0 ? error_detail : curl_easy_strerror(rc)));
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
    return response;
  }
};

HttpClient::HttpClient() : impl_(std::make_unique<Impl>()) {
  global_init();
  impl_->curl = curl_easy_init();
  if (impl_->curl == nullptr) throw std::bad_alloc();
}
HttpClient::~HttpClient() = default;
HttpClient::HttpClient(HttpClient&&) noexcept = default;
HttpClient& HttpClient::operator=(HttpClient&&) noexcept = default;

Result<Response> HttpClient::get(const std::string& url, const Options& options) {
  return impl_->perform("GET", url, {}, {}, options, nullptr);
}

Result<Response> HttpClient::get_to(const std::string& url, const Options& options,
                                    const Sink& sink) {
  return impl_->perform("GET", url, {}, {}, options, &sink);
}

Result<Response> HttpClient::request(std::string_view method, const std::string& url,
                                     std::string_view body, std::string_view content_type,
                                     const Options& options) {
  return impl_->perform(method, url, body, content_type, options, nullptr);
}

std::string url_encode(std::string_view text) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kDigits[c >> 4]);
      out.push_back(kDigits[c & 0xf]);
    }
  }
  return out;
}

}  // namespace ef::http_client
