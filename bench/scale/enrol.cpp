#include "enrol.hpp"

#include <atomic>
#include <cstdio>
#include <mutex>

#include "core/json/json.hpp"
#include "core/pki/pki.hpp"

namespace ef::scale {

namespace {

std::string device_id(int i) {
  char id[32];
  std::snprintf(id, sizeof id, "scale-%06d", i);
  return id;
}

// One device: registered with the admin token, then enrolled with the one-time token and a CSR.
asio::awaitable<IdentityPem> enrol_one(Connection& c, const EnrolOptions& o, int i) {
  IdentityPem d;
  d.id = device_id(i);
  const std::string add = json::Json{{"id", d.id}, {"site", o.site}}.dump();
  const std::string devices = "/api/v1/devices", enroll = "/api/v1/enroll";
  auto added = co_await c.send(http::verb::post, devices, add, o.admin_token);
  auto token = json::parse_strict(added.body());
  if ((added.result_int() != 201 && added.result_int() != 200) || !token ||
      !token->contains("enrollment_token"))
    throw std::runtime_error("adding " + d.id + ": " + added.body());
  auto key = pki::generate_ec_key();
  if (!key) throw std::runtime_error(key.error().message);
  auto csr = pki::make_csr(key->private_key_pem, d.id);
  if (!csr) throw std::runtime_error(csr.error().message);
  const std::string body = json::Json{
      {"device_id", d.id},
      {"token", (*token)["enrollment_token"].get<std::string>()},
      {"csr", *csr}}.dump();
  auto enrolled = co_await c.send(http::verb::post, enroll, body);
  auto answer = json::parse_strict(enrolled.body());
  if (enrolled.result_int() != 200 || !answer || !answer->contains("certificate"))
    throw std::runtime_error("enrolling " + d.id + ": " + enrolled.body());
  d.key_pem = key->private_key_pem;
  d.certificate_pem = (*answer)["certificate"].get<std::string>();
  co_return d;
}

}  // namespace

Result<std::vector<IdentityPem>> enrol(const EnrolOptions& o) {
  asio::io_context io{1};
  asio::ssl::context tls(asio::ssl::context::tls_client);
  tls.load_verify_file(o.ca_file);
  tls.set_verify_mode(asio::ssl::verify_peer);
  std::vector<IdentityPem> out(static_cast<std::size_t>(o.devices));
  std::atomic<int> next{0};
  std::string first_error;
  for (int w = 0; w < o.parallel; ++w) {
    asio::co_spawn(
        io,
        [&, w]() -> asio::awaitable<void> {
          Connection c(io, tls);
          try {
            const auto server = local(o.ports[static_cast<std::size_t>(w) % o.ports.size()]);
            co_await c.open(server, nullptr);
            for (int i = next++; i < o.devices && first_error.empty(); i = next++)
              out[static_cast<std::size_t>(i)] = co_await enrol_one(c, o, i);
          } catch (const std::exception& e) {
            if (first_error.empty()) first_error = e.what();
          }
          c.close();
        },
        asio::detached);
  }
  io.run();
  if (!first_error.empty()) return make_error(Errc::refused, "enrolment: " + first_error);
  return out;
}

}  // namespace ef::scale
