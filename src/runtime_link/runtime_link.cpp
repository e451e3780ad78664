#include "runtime_link/runtime_link.hpp"

#include "common/path.hpp"
#include "json/json.hpp"

#include <thread>

namespace ef::runtime_link {

using json::Json;

namespace {
http_client::Options local(std::chrono::milliseconds timeout, const std::string& socket) {
  http_client::Options o;
  o.unix_socket = socket;
  o.connect_timeout = std::chrono::milliseconds(1000);
  o.total_timeout = timeout;
  o.max_body_bytes = 4 * 1024 * 1024;
  return o;
}
}  // namespace

RuntimeLink::RuntimeLink(std::filesystem::path control_socket)
    : socket_(std::move(control_socket)) {}

Result<Health> RuntimeLink::health() {
  EF_TRY(auto r,
         http_.get("http://runtime/v1/health", local(std::chrono::seconds(3), socket_.string())));
  auto body = json::parse_strict(r.body, {.max_bytes = 256 * 1024});
  if (!body || !body->is_object()) {
    return make_error(Errc::malformed,
                      "runtime health answer is not JSON (HTTP " + std::to_string(r.status) + ")");
  }
  const Json& j = *body;
  Health h;
  h.up = true;  // it answered
  h.inferring = r.status == 200 && j.contains("healthy") && j["healthy"].is_boolean() &&
                j["healthy"].get<bool>();
  if (j.contains("model_version") && j["model_version"].is_string())
    h.model_version = j["model_version"];
  if (j.contains("release") && j["release"].is_string()) h.release = j["release"];
  if (j.contains("status") && j["status"].is_string())
    h.detail = printable(j["status"].get<std::string>(), 512);
  return h;
}

namespace {
std::string error_of(const Json& j) {
  if (!j.is_object() || !j.contains("error")) return {};
  const Json& e = j["error"];
  if (e.is_string()) return printable(e.get<std::string>(), 1024);
  if (e.is_object() && e.contains("message") && e["message"].is_string())
    return printable(e["message"].get<std::string>(), 1024);
  return {};
}
}  // namespace

Status RuntimeLink::swap_model(const std::filesystem::path& model_dir, const std::string& version,
                               std::chrono::seconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  const auto wait_s = std::min<std::int64_t>(timeout.count(), 30);
  Json request{{"model_dir", model_dir.string()}, {"wait_s", wait_s}};
  if (!version.empty()) request["version"] = version;
  EF_TRY(auto r,
         http_.request("POST", "http://runtime/v1/model/swap", request.dump(), "application/json",
                       local(std::chrono::seconds(wait_s + 5), socket_.string())));
  for (;;) {
    auto body = json::parse_strict(r.body, {.max_bytes = 256 * 1024});
    const Json j = body ? *body : Json();
    if (r.status == 200) return {};
    if (r.status != 202) {
      const std::string why = error_of(j);
      return make_error(Errc::internal, "the runtime refused the model swap (HTTP " +
                                            std::to_string(r.status) +
                                            (why.empty() ? "" : ": " + why) + ")");
    }
    if (std::chrono::steady_clock::now() >= until) {
      return make_error(Errc::timeout, "the model swap did not finish within " +
                                           std::to_string(timeout.count()) + " s");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    EF_TRY(r, http_.get("http://runtime/v1/model/swap",
                        local(std::chrono::seconds(3), socket_.string())));
    if (r.status == 200) {
      auto status = json::parse_strict(r.body, {.max_bytes = 256 * 1024});
      const std::string state =
          status && status->contains("state") && (*status)["state"].is_string()
              ? (*status)["state"].get<std::string>()
              : "";
      if (state == "swapped") return {};
      if (state == "failed") {
        return make_error(Errc::internal,
                          "the runtime refused the model swap (" + error_of(*status) + ")");
      }
      r.status = 202;  // still loading or warming
    }
  }
}

Result<std::string> RuntimeLink::metrics() {
  EF_TRY(auto r,
         http_.get("http://runtime/metrics", local(std::chrono::seconds(3), socket_.string())));
  if (r.status != 200)
    return make_error(Errc::network, "runtime /metrics answered HTTP " + std::to_string(r.status));
  return std::move(r.body);
}

}  // namespace ef::runtime_link
