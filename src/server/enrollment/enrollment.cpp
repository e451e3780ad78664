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

// One enrollment attempt. Its refusals count against the client's address and, once the body
// named one, the device id, so that tokens cannot be guessed from many addresses or for one device.
struct Attempt {
  State& st;
  RateLimiter::Clock::time_point clock;
  std::string host_key;
  std::string device_key;  // empty until the device id is known

  void outcome(std::string_view what) {
    if (st.services.on_enrollment) st.services.on_enrollment(what);
  }

  Response refuse(unsigned status, std::string_view code, const std::string& message) {
    st.limiter.failure(host_key, clock);
    if (!device_key.empty()) st.limiter.failure(device_key, clock);
    outcome("refused");
    return Response::error(status, code, message);
  }

  // 429 while `key` failed too often; nullopt when it may try.
  std::optional<Response> throttle(const std::string& key) {
    const auto wait = st.limiter.retry_after(key, clock);
    if (wait.count() == 0) return std::nullopt;
    outcome("refused");
    auto response = Response::error(
        429, "too_many_attempts",
        "too many failed enrollment attempts; try again in " + std::to_string(wait.count()) + " s");
    response.set("Retry-After", std::to_string(wait.count()));
    return response;
  }
};

// Admits a token that is known, for this device, unused and unexpired, and a device that is not
// revoked; the refusal to send otherwise.
std::optional<Response> check_token(Attempt& at, const std::string& hash,
                                    const std::string& device_id) {
  auto& store = at.st.services.store;
  auto record = store.enrollment_token(hash);
  if (!record) {
    if (record.error().code != Errc::not_found) return http::error_response(record.error());
    return at.refuse(401, "invalid_token", "unknown enrollment token");
  }
  if (record->device_id != device_id) {
    return at.refuse(
        403, "token_for_another_device",
        "this enrollment token was issued for another device, not '" + device_id + "'");
  }
  if (record->used_at) {
    return at.refuse(401, "token_used",
                     "this enrollment token was already used at " + format_utc(*record->used_at) +
                         "; ask an operator for a new one");
  }
  if (utc_now() >= record->expires_at) {
    return at.refuse(401, "token_expired",
                     "this enrollment token expired at " + format_utc(record->expires_at) +
                         "; ask an operator for a new one");
  }
  auto device = store.device(device_id);
  if (!device) return http::error_response(device.error());
  if (device->status == store::DeviceStatus::revoked) {
    return at.refuse(403, "device_revoked", "device '" + device_id + "' has been revoked");
  }
  return std::nullopt;
}

// Issues the certificate, consuming the token in the same transaction as its audit entry.
Response complete(Attempt& at, const Request& r, const json::Json& body, const std::string& hash,
                  const std::string& device_id) {
  auto& s = at.st.services;
  auto answer = issue(at.st, body, device_id, [&](const store::CertificateRecord& cert) {
    return s.store.in_transaction([&]() -> Status {
      EF_CHECK(s.store.complete_enrollment(hash, cert, utc_now()));
      return s.log.record("device:" + device_id, "device.enroll", device_id, r.peer->address,
                          {{"serial", cert.serial_hex}, {"not_after", format_utc(cert.not_after)}});
    });
  });
  if (!answer) {
    if (answer.error().code == Errc::exists) {  // consumed by a concurrent request
      return at.refuse(401, "token_used", answer.error().message);
    }
    at.outcome("refused");
    return Response::error(http::status_for(answer.error().code), "bad_csr",
                           answer.error().message);
  }
  at.outcome("ok");
  return std::move(*answer);
}

Response enroll(State& st, Request& r) {
  Attempt at{st, RateLimiter::Clock::now(), "host:" + host_of(r.peer->address), ""};
  if (auto wait = at.throttle(at.host_key)) return *wait;
  Response refusal;
  auto body = http::json_object_body(r, &refusal);
  if (!body) return refusal;
  auto device_id = json::get_string(*body, "device_id");
  auto token = json::get_string(*body, "token");
  if (!device_id || !token) {
    return at.refuse(400, "bad_request", (!device_id ? device_id.error() : token.error()).message);
  }
  if (auto ok = pki::check_device_id(*device_id); !ok)
    return at.refuse(400, "bad_device_id", ok.error().message);
  at.device_key = "device:" + *device_id;
  if (auto wait = at.throttle(at.device_key)) return *wait;
  const std::string hash = crypto::sha256_hex(*token);
  if (auto refused = check_token(at, hash, *device_id)) return *refused;
  return complete(at, r, *body, hash, *device_id);
}

Response renew(State& st, Request& r, const store::Device& device) {
  auto& s = st.services;
  const std::string& id = device.id;
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
  device_auth::add_device_route(
      router, http::Verb::post, "/api/v1/devices/{id}/certificate", st->services.store,
      [st](Request& r, const store::Device& device) { return renew(*st, r, device); }, options);
}

}  // namespace ef::enrollment
