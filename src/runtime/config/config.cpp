#include "runtime/config/config.hpp"

#include <charconv>

#include "core/common/fs.hpp"
#include "core/json/reader.hpp"

namespace ef::runtime {

Result<ListenAddress> parse_listen_address(std::string_view text) {
  ListenAddress out;
  if (text.starts_with("unix:")) {
    out.kind = ListenAddress::Kind::unix_socket;
    out.path = std::string(text.substr(5));
    if (out.path.empty() || !out.path.is_absolute() || out.path.string().size() > 100) {
      return make_error(Errc::invalid_argument,
                        "a Unix socket address needs an absolute path of at most 100 bytes: "
                        "unix:/run/edgefleet/hmi.sock");
    }
    return out;
  }
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    return make_error(
        Errc::invalid_argument,
        "listen address \"" + std::string(text.substr(0, 64)) + "\" is not HOST:PORT or unix:PATH");
  }
  std::string host(text.substr(0, colon));
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  const auto port_text = text.substr(colon + 1);
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port > 65535 ||
      port_text.empty()) {
    return make_error(
        Errc::invalid_argument,
        "listen address port \"" + std::string(port_text.substr(0, 16)) + "\" is not 0-65535");
  }
  const bool loopback = host == "::1" || host == "localhost" || host.starts_with("127.");
  if (!loopback) {
    return make_error(Errc::invalid_argument,
                      "the HMI endpoint has no authentication and listens on loopback only "
                      "(127.0.0.1, ::1) or a Unix socket, not \"" +
                          host.substr(0, 64) + "\"");
  }
  out.kind = ListenAddress::Kind::tcp;
  out.host = host == "localhost" ? "127.0.0.1" : host;
  out.port = static_cast<std::uint16_t>(port);
  return out;
}

namespace {

// Each section is optional; absent keys keep the defaults of RuntimeConfig.
Status parse_model(const json::Json& section, RuntimeConfig& config) {
  json::ObjectReader m(section, "model");
  EF_CHECK(m.optional("backend", config.backend));
  EF_CHECK(m.optional("warm_up_runs", config.warm_up_runs, 1, 100));
  return m.finish();
}

Status parse_pipeline(const json::Json& section, RuntimeConfig& config) {
  json::ObjectReader p(section, "pipeline");
  std::int64_t queue = static_cast<std::int64_t>(config.queue_capacity);
  std::int64_t recent = static_cast<std::int64_t>(config.recent_results);
  EF_CHECK(p.optional("queue_capacity", queue, 1, 256));
  EF_CHECK(p.optional("recent_results", recent, 1, 100000));
  config.queue_capacity = static_cast<std::size_t>(queue);
  config.recent_results = static_cast<std::size_t>(recent);
  return p.finish();
}

Status parse_health(const json::Json& section, RuntimeConfig& config) {
  json::ObjectReader h(section, "health");
  std::int64_t ms = config.healthy_within.count();
  EF_CHECK(h.optional("healthy_within_ms", ms, 100, 3600 * 1000));
  config.healthy_within = std::chrono::milliseconds(ms);
  return h.finish();
}

Status parse_health_gate(const json::Json& section, RuntimeConfig& config) {
  json::ObjectReader g(section, "health_gate");
  std::int64_t seconds = config.health_gate_deadline.count();
  EF_CHECK(g.optional("deadline_s", seconds, 1, 24 * 3600));
  config.health_gate_deadline = std::chrono::seconds(seconds);
  return g.finish();
}

Status parse_hmi(const json::Json& section, RuntimeConfig& config) {
  json::ObjectReader h(section, "hmi");
  std::string listen;
  EF_CHECK(h.optional("listen", listen));
  EF_CHECK(h.finish());
  if (listen.empty()) return {};
  auto address = parse_listen_address(listen);
  if (!address) return make_error(Errc::malformed, "hmi.listen: " + address.error().message);
  config.hmi = *address;
  return {};
}

}  // namespace

Result<RuntimeConfig> parse_runtime_config(std::string_view text) {
  json::Limits limits;
  limits.max_bytes = kMaxConfigBytes;
  limits.allow_floats = true;
  EF_TRY(json::Json doc, json::parse_strict(text, limits));
  json::ObjectReader r(doc, "");
  EF_CHECK(r.valid());
  RuntimeConfig config;

  EF_TRY(const json::Json* camera, r.optional_object("camera"));
  if (!camera) return make_error(Errc::malformed, "camera: missing (the camera source to inspect)");
  EF_TRY(config.camera, camera::parse_source_config(*camera));
  using SectionParser = Status (*)(const json::Json&, RuntimeConfig&);
  const std::pair<const char*, SectionParser> sections[] = {{"model", parse_model},
                                                            {"pipeline", parse_pipeline},
                                                            {"health", parse_health},
                                                            {"health_gate", parse_health_gate},
                                                            {"hmi", parse_hmi}};
  for (const auto& [name, parse] : sections) {
    EF_TRY(const json::Json* section, r.optional_object(name));
    if (section) EF_CHECK(parse(*section, config));
  }
  EF_CHECK(r.finish());
  return config;
}

Result<RuntimeConfig> load_runtime_config(const std::filesystem::path& path) {
  auto text = read_file(path, kMaxConfigBytes);
  if (!text) return std::move(text).error().context("reading runtime config");
  auto config = parse_runtime_config(*text);
  if (!config) return std::move(config).error().context("runtime config " + path.string());
  return config;
}

}  // namespace ef::runtime
