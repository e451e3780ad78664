#include "device/runtime_link/runtime_link.hpp"

#include "core/common/path.hpp"
#include "core/json/json.hpp"

#include <charconv>
#include <cmath>
#include <map>
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
  // A camera that does not deliver says why: that is what an operator needs in the report.
  if (j.contains("camera") && j["camera"].is_object()) {
    const Json& camera = j["camera"];
    const bool connected = camera.contains("connected") && camera["connected"].is_boolean() &&
                           camera["connected"].get<bool>();
    if (!connected && camera.contains("last_error") && camera["last_error"].is_string() &&
        !camera["last_error"].get_ref<const std::string&>().empty()) {
      h.detail += " (camera: " + printable(camera["last_error"].get<std::string>(), 512) + ")";
    }
  }
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
      return make_error(Errc::refused, "the runtime refused the model swap (HTTP " +
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
        // The runtime tried the model and it did not load or warm up: it is the model's fault.
        return make_error(Errc::unhealthy,
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

Result<Stats> RuntimeLink::stats(const std::string& model_version) {
  EF_TRY(std::string text, metrics());
  return parse_stats(text, model_version);
}

namespace {

// One sample line of the text format: name{label="value",...} value [timestamp]
struct Sample {
  std::string_view name;
  std::map<std::string, std::string, std::less<>> labels;
  double value = 0;
};

Result<Sample> parse_sample(std::string_view line) {
  auto bad = [&](const char* why) {
    return make_error(Errc::malformed, std::string("runtime metrics line ") + why + ": " +
                                           printable(std::string(line), 120));
  };
  Sample s;
  std::size_t i = 0;
  while (i < line.size() && line[i] != '{' && line[i] != ' ')
    ++i;
  s.name = line.substr(0, i);
  if (s.name.empty()) return bad("has no name");
  if (i < line.size() && line[i] == '{') {
    ++i;
    while (i < line.size() && line[i] != '}') {
      const std::size_t eq = line.find('=', i);
      if (eq == std::string_view::npos || eq + 1 >= line.size() || line[eq + 1] != '"')
        return bad("has a broken label");
      std::string key(line.substr(i, eq - i));
      std::string value;
      std::size_t j = eq + 2;
      for (; j < line.size() && line[j] != '"'; ++j) {
        if (line[j] == '\\' && j + 1 < line.size()) {
          ++j;
          value += line[j] == 'n' ? '\n' : line[j];
        } else {
          value += line[j];
        }
      }
      if (j >= line.size()) return bad("has an unterminated label value");
      s.labels.emplace(std::move(key), std::move(value));
      i = j + 1;
      if (i < line.size() && line[i] == ',') ++i;
    }
    if (i >= line.size()) return bad("has unterminated labels");
    ++i;
  }
  while (i < line.size() && line[i] == ' ')
    ++i;
  std::size_t end = line.find(' ', i);
  std::string_view number = line.substr(i, end == std::string_view::npos ? end : end - i);
  if (number == "NaN") {
    s.value = std::nan("");
  } else if (number == "+Inf") {
    s.value = INFINITY;
  } else {
    const auto [p, ec] = std::from_chars(number.data(), number.data() + number.size(), s.value);
    if (number.empty() || ec != std::errc() || p != number.data() + number.size())
      return bad("has no number");
  }
  return s;
}

double sum_or(std::optional<double> a, double b) {
  return a.value_or(0) + b;
}

}  // namespace

Result<Stats> parse_stats(std::string_view exposition, const std::string& model_version) {
  Stats stats;
  std::size_t start = 0;
  while (start < exposition.size()) {
    std::size_t end = exposition.find('\n', start);
    if (end == std::string_view::npos) end = exposition.size();
    std::string_view line = exposition.substr(start, end - start);
    start = end + 1;
    if (line.empty() || line.front() == '#') continue;
    if (!line.starts_with("edgefleet_runtime_frames_") &&
        !line.starts_with("edgefleet_runtime_uptime_seconds") &&
        !line.starts_with("edgefleet_runtime_inference_duration_recent_seconds{"))
      continue;
    EF_TRY(Sample s, parse_sample(line));
    if (s.name == "edgefleet_runtime_frames_per_second") {
      stats.frames_per_second = s.value;
    } else if (s.name == "edgefleet_runtime_uptime_seconds") {
      stats.uptime_seconds = s.value;
    } else if (s.name == "edgefleet_runtime_frames_processed_total") {
      stats.frames_processed = sum_or(stats.frames_processed, s.value);
    } else if (s.name == "edgefleet_runtime_frames_dropped_total") {
      stats.frames_dropped = sum_or(stats.frames_dropped, s.value);
    } else if (s.name == "edgefleet_runtime_inference_duration_recent_seconds") {
      auto q = s.labels.find("quantile");
      auto v = s.labels.find("model_version");
      if (q != s.labels.end() && q->second == "0.99" && v != s.labels.end() &&
          v->second == model_version && std::isfinite(s.value))
        stats.latency_p99_seconds = s.value;
    }
  }
  return stats;
}

}  // namespace ef::runtime_link
