// The device's side of the control plane's API (docs/openapi.yaml): enrollment, certificate
// renewal and check-in, over TLS with the fleet CA as the only trust anchor, and with the
// device's own client certificate (mutual TLS) once enrolled. Outbound connections only.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "core/common/result.hpp"
#include "core/common/time.hpp"
#include "core/http_client/http_client.hpp"
#include "core/json/json.hpp"

namespace ef::server_link {

struct Endpoint {
  std::string server_url;  // https://host:port
  std::string ca_file;     // fleet CA (PEM file)
  std::string cert_file;   // device certificate (PEM file), empty before enrollment
  std::string key_file;    // device private key (PEM file)
};

struct Certificate {
  std::string certificate_pem;
  std::string ca_certificate_pem;
  UtcTime not_after;
  UtcTime renew_after;
};

struct DesiredState {
  std::optional<std::string> release;  // null: keep what is installed
  std::string metadata_url;
  std::string blobs_url;
};

struct CheckinResult {
  bool changed = false;  // false: 304, desired state as before
  std::optional<DesiredState> desired;
  std::string etag;
};

class Client {
 public:
  explicit Client(Endpoint endpoint);

  // POST /api/v1/enroll with a one-time token and a CSR made from the device's own key.
  Result<Certificate> enroll(const std::string& device_id, const std::string& token,
                             const std::string& csr_pem);
  // POST /api/v1/devices/{id}/certificate over mutual TLS.
  Result<Certificate> renew(const std::string& device_id, const std::string& csr_pem);
  // POST /api/v1/devices/{id}/checkin?wait=N with If-None-Match; holds up to `wait`.
  Result<CheckinResult> checkin(const std::string& device_id, const json::Json& state,
                                const std::string& etag, std::chrono::seconds wait);

  // POST /api/v1/devices/{id}/telemetry with one encoded batch (core/telemetry/batch_codec.hpp).
  // Returns the HTTP status (see docs/openapi.yaml: 200 taken, 400/413/415 refused for good,
  // 409/503 keep it and retry); a transport failure is an error.
  Result<long> send_telemetry(const std::string& device_id, std::string_view batch);

  void set_endpoint(Endpoint endpoint) { endpoint_ = std::move(endpoint); }
  // For check-ins, which may be held for minutes: `cancel` aborts one within a second, `alive`
  // is called about once a second while it is held (a watchdog). Both must outlive the Client.
  void set_long_poll_hooks(const std::atomic<bool>* cancel, std::function<void()> alive) {
    poll_cancel_ = cancel;
    poll_alive_ = std::move(alive);
  }
  // HTTP status of the last call (0 for transport errors). A call the server refused outright
  // (401/403/404: revoked, unknown, wrong certificate; retrying will not help) fails with
  // Errc::refused, any other HTTP error with Errc::network.
  long last_status() const { return last_status_; }

  // Options for other requests to the server (metadata, blobs): TLS settings of this endpoint.
  http_client::Options options() const;

 private:
  Result<json::Json> post_json(const std::string& path, const json::Json& body,
                               http_client::Options options, http_client::Response* raw);
  Result<Certificate> parse_certificate(const json::Json& body);

  Endpoint endpoint_;
  http_client::HttpClient http_;
  long last_status_ = 0;
  const std::atomic<bool>* poll_cancel_ = nullptr;
  std::function<void()> poll_alive_;
};

}  // namespace ef::server_link
