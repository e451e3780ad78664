#include "device/server_link/server_link.hpp"

#include "core/common/path.hpp"
#include "core/telemetry/batch_codec.hpp"

namespace ef::server_link {

using json::Json;

Client::Client(Endpoint endpoint) : endpoint_(std::move(endpoint)) {}

http_client::Options Client::options() const {
  http_client::Options o;
  o.tls.ca_file = endpoint_.ca_file;
  o.tls.cert_file = endpoint_.cert_file;
  o.tls.key_file = endpoint_.key_file;
  o.connect_timeout = std::chrono::seconds(15);
  return o;
}

namespace {

std::string error_text(const http_client::Response& r) {
  auto body = json::parse_strict(r.body, {.max_bytes = 64 * 1024});
  if (body && body->is_object() && body->contains("error")) {
    const Json& e = (*body)["error"];
    if (e.is_object() && e.contains("message") && e["message"].is_string()) {
      return "HTTP " + std::to_string(r.status) + ": " +
             printable(e["message"].get<std::string>(), 1024);
    }
  }
  return "HTTP " + std::to_string(r.status);
}

}  // namespace

Result<Json> Client::post_json(const std::string& path, const Json& body,
                               http_client::Options options, http_client::Response* raw) {
  options.max_body_bytes = 1024 * 1024;
  auto response =
      http_.request("POST", endpoint_.server_url + path, body.dump(), "application/json", options);
  last_status_ = 0;
  if (!response) return std::move(response).error();
  if (raw != nullptr) *raw = *response;
  last_status_ = response->status;
  if (response->status == 304) return Json();
  if (response->status < 200 || response->status >= 300) {
    const bool rejected =
        response->status == 401 || response->status == 403 || response->status == 404;
    const Errc code = rejected ? Errc::refused : Errc::network;
    return make_error(code, "POST " + path + ": " + error_text(*response));
  }
  auto parsed = json::parse_strict(response->body, {.max_bytes = 1024 * 1024});
  if (!parsed || !parsed->is_object()) {
    return make_error(Errc::malformed,
                      "POST " + path + ": the server's answer is not a JSON object");
  }
  return std::move(*parsed);
}

Result<Certificate> Client::parse_certificate(const Json& body) {
  Certificate c;
  EF_TRY(c.certificate_pem, json::get_string(body, "certificate"));
  EF_TRY(c.ca_certificate_pem, json::get_string(body, "ca_certificate"));
  EF_TRY(std::string not_after, json::get_string(body, "not_after"));
  EF_TRY(std::string renew_after, json::get_string(body, "renew_after"));
  EF_TRY(c.not_after, parse_utc(not_after));
  EF_TRY(c.renew_after, parse_utc(renew_after));
  if (c.certificate_pem.find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
    return make_error(Errc::malformed, "the server's certificate is not PEM");
  }
  return c;
}

Result<Certificate> Client::enroll(const std::string& device_id, const std::string& token,
                                   const std::string& csr_pem) {
  auto o = options();
  o.tls.cert_file.clear();
  o.tls.key_file.clear();
  EF_TRY(Json body,
         post_json("/api/v1/enroll",
                   Json{{"device_id", device_id}, {"token", token}, {"csr", csr_pem}}, o, nullptr));
  return parse_certificate(body);
}

Result<long> Client::send_telemetry(const std::string& device_id, std::string_view batch) {
  auto o = options();
  o.max_body_bytes = 64 * 1024;
  o.total_timeout = std::chrono::seconds(60);
  auto response =
      http_.request("POST", endpoint_.server_url + "/api/v1/devices/" + device_id + "/telemetry",
                    batch, telemetry::kBatchContentType, o);
  last_status_ = 0;
  if (!response) return std::move(response).error();
  last_status_ = response->status;
  return response->status;
}

Result<Certificate> Client::renew(const std::string& device_id, const std::string& csr_pem) {
  EF_TRY(Json body, post_json("/api/v1/devices/" + device_id + "/certificate",
                              Json{{"csr", csr_pem}}, options(), nullptr));
  return parse_certificate(body);
}

Result<CheckinResult> Client::checkin(const std::string& device_id, const Json& state,
                                      const std::string& etag, std::chrono::seconds wait) {
  auto o = options();
  if (!etag.empty()) o.headers.emplace_back("If-None-Match", etag);
  // The server holds the request up to `wait`; allow that plus a margin, no more.
  o.total_timeout =
      std::chrono::duration_cast<std::chrono::milliseconds>(wait + std::chrono::seconds(30));
  o.min_bytes_per_second = 0;
  // A parked long-poll is silent for minutes: a probe (two empty segments) after every 240 s of
  // silence keeps NAT and firewall state under the stingiest common idle timeouts (4 to 5 min);
  // unanswered probes repeat every 60 s.
  o.keepalive_idle = std::chrono::seconds(240);
  o.keepalive_interval = std::chrono::seconds(60);
  o.cancel = poll_cancel_;
  o.on_tick = poll_alive_;
  http_client::Response raw;
  const std::string path =
      "/api/v1/devices/" + device_id + "/checkin?wait=" + std::to_string(wait.count());
  EF_TRY(Json body, post_json(path, state, o, &raw));
  CheckinResult result;
  if (const std::string* tag = raw.header("etag")) result.etag = *tag;
  if (raw.status == 304) return result;
  result.changed = true;
  DesiredState d;
  if (body.contains("release") && body["release"].is_object()) {
    EF_TRY(std::string version, json::get_string(body["release"], "version"));
    d.release = version;
  }
  if (body.contains("repository") && body["repository"].is_object()) {
    EF_TRY(d.metadata_url, json::get_string(body["repository"], "metadata_url"));
    EF_TRY(d.blobs_url, json::get_string(body["repository"], "blobs_url"));
  }
  result.desired = std::move(d);
  return result;
}

}  // namespace ef::server_link
