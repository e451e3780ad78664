#include "server/enrollment/enrollment.hpp"

#include "core/crypto/hash.hpp"
#include "core/http/json_body.hpp"
#include "server/device_auth/device_auth.hpp"
#include "server/enrollment/rate_limiter.hpp"

namespace ef::enrollment {

using http::Request;
using http::Response;

namespace {

struct State {
  Services services;
  RateLimiter limiter;
};

// The client's address without the port: failures from one host count together.
std::string host_of(const std::string& address) {
  const auto colon = address.rfind(':');
  return colon == std::string::npos ? address : address.substr(0, colon);
}

UtcTime now_seconds() {
  return utc_now();
}

// Issues a certificate for the CSR in body to device_id; records it with `record` (which consumes
// the token for an enrolment).
Result<Response> issue(State& st, const json::Json& body, const std::string& device_id,
                       const std::function<Status(const store::CertificateRecord&)>& record) {
  EF_TRY(auto csr_pem, json::get_string(body, "csr"));
  EF_TRY(auto csr, pki::parse_csr(csr_pem));
  if (!csr.subject_cn.empty() && csr.subject_cn != device_id) {
    return make_error(Errc::invalid_argument, "the CSR names '" + csr.subject_cn +
                                                  "' but this is device '" + device_id +
                                                  "' (leave the CN empty or use the device id)");
  }
  const auto now = now_seconds();
  const auto validity = st.services.settings.certificate_validity;
  EF_TRY(auto issued, st.services.ca.issue_device(csr, device_id, now - std::chrono::minutes(5),
                                                  now + validity));
  const store::CertificateRecord cert{issued.info.serial_hex, device_id,
                                      issued.info.sha256_hex, issued.info.not_before,
                                      issued.info.not_after,  now};
  EF_CHECK(record(cert));
  const auto renew_after =
      issued.info.not_before + (issued.info.not_after - issued.info.not_before) * 2 / 3;
  return Response::json(
      200, {{"device_id", device_id},
            {"certificate", issued.certificate_pem},
            {"ca_certificate", st.services.ca.certificate_pem()},
            {"serial", issued.info.serial_hex},
            {"not_before", format_utc(issued.info.not_before)},
            {"not_after", format_utc(issued.info.not_after)},
            {"renew_after",
             format_utc(std::chrono::time_point_cast<std::chrono::seconds>(renew_after))}});
}

Response enroll(State& st, Request& r) {
  auto& s = st.services;
  const auto clock = RateLimiter::Clock::now();
  const std::string host_key = "host:" + host_of(r.peer->address);
  auto refuse = [&](unsigned status, std::string_view code, const std::string& message,
                    const std::string& device_key) {
    st.limiter.failure(host_key, clock);
    if (!device_key.empty()) st.limiter.failure(device_key, clock);
    if (s.on_enrollment) s.on_enrollment("refused");
    return Response::error(status, code, message);
  };
  auto too_many = [&](std::chrono::seconds wait) {
    if (s.on_enrollment) s.on_enrollment("refused");
    auto response = Response::error(
        429, "too_many_attempts",
        "too many failed enrollment attempts; try again in " + std::to_string(wait.count()) + " s");
    response.set("Retry-After", std::to_string(wait.count()));
    return response;
  };
  if (auto wait = st.limiter.retry_after(host_key, clock); wait.count() > 0) return too_many(wait);

  Response refusal;
  auto body = http::json_object_body(r, &refusal);
  if (!body) return refusal;
  auto device_id = json::get_string(*body, "device_id");
  auto token = json::get_string(*body, "token");
  if (!device_id || !token) {
    return refuse(400, "bad_request", (!device_id ? device_id.error() : token.error()).message, "");
  }
  if (auto ok = pki::check_device_id(*device_id); !ok)
    return refuse(400, "bad_device_id", ok.error().message, "");
  const std::string device_key = "device:" + *device_id;
  if (auto wait = st.limiter.retry_after(device_key, clock); wait.count() > 0)
    return too_many(wait);

  const std::string hash = crypto::sha256_hex(*token);
  auto record = s.store.enrollment_token(hash);
  if (!record) {
    if (record.error().code != Errc::not_found) return http::error_response(record.error());
    return refuse(401, "invalid_token", "unknown enrollment token", device_key);
  }
  if (record->device_id != *device_id) {
    return refuse(403, "token_for_another_device",
                  "this enrollment token was issued for another device, not '" + *device_id + "'",
                  device_key);
  }
  if (record->used_at) {
    return refuse(401, "token_used",
                  "this enrollment token was already used at " + format_utc(*record->used_at) +
                      "; ask an operator for a new one",
                  device_key);
  }
  if (utc_now() >= record->expires_at) {
    return refuse(401, "token_expired",
                  "this enrollment token expired at " + format_utc(record->expires_at) +
                      "; ask an operator for a new one",
                  device_key);
  }
  auto device = s.store.device(*device_id);
  if (!device) return http::error_response(device.error());
  if (device->status == store::DeviceStatus::revoked) {
    return refuse(403, "device_revoked", "device '" + *device_id + "' has been revoked",
                  device_key);
  }

  auto answer = issue(st, *body, *device_id, [&](const store::CertificateRecord& cert) {
    return s.store.in_transaction([&]() -> Status {
      EF_CHECK(s.store.complete_enrollment(hash, cert, utc_now()));
      return s.log.record("device:" + *device_id, "device.enroll", *device_id, r.peer->address,
                          {{"serial", cert.serial_hex}, {"not_after", format_utc(cert.not_after)}});
    });
  });
  if (!answer) {
    if (answer.error().code == Errc::exists) {  // consumed by a concurrent request
      return refuse(401, "token_used", answer.error().message, device_key);
    }
    if (s.on_enrollment) s.on_enrollment("refused");
    return Response::error(http::status_for(answer.error().code), "bad_csr",
                           answer.error().message);
  }
  if (s.on_enrollment) s.on_enrollment("ok");
  return std::move(*answer);
}

Response renew(State& st, Request& r) {
  auto& s = st.services;
  const std::string id(r.param("id"));
  auto who = device_auth::authenticate(r, id, s.store);
  if (auto* refusal = std::get_if<Response>(&who)) return std::move(*refusal);
  Response refusal;
  auto body = http::json_object_body(r, &refusal);
  if (!body) return refusal;
  auto answer = issue(st, *body, id, [&](const store::CertificateRecord& cert) {
    return s.store.in_transaction([&]() -> Status {
      EF_CHECK(s.store.add_certificate(cert));
      return s.log.record("device:" + id, "device.renew", id, r.peer->address,
                          {{"serial", cert.serial_hex}, {"not_after", format_utc(cert.not_after)}});
    });
  });
  if (!answer)
    return Response::error(http::status_for(answer.error().code), "bad_csr",
                           answer.error().message);
  return std::move(*answer);
}

}  // namespace

void add_routes(http::Router& router, Services services) {
  const auto max_failures = services.settings.max_failures;
  const auto window = services.settings.failure_window;
  auto st = std::make_shared<State>(State{std::move(services), RateLimiter(max_failures, window)});
  http::RouteOptions options;
  options.max_body = 64 * 1024;
  options.name = "enroll";
  router.add_sync(
      http::Verb::post, "/api/v1/enroll", [st](Request& r) { return enroll(*st, r); }, options);
  options.name = "devices.renew";
  router.add_sync(
      http::Verb::post, "/api/v1/devices/{id}/certificate",
      [st](Request& r) { return renew(*st, r); }, options);
}

}  // namespace ef::enrollment
