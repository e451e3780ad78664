#include "core/json/reader.hpp"
#include "runtime/camera/source.hpp"

namespace ef::camera {

namespace {

Status parse_synthetic(const json::Json& object, const std::string& where, SyntheticOptions& s) {
  json::ObjectReader r(object, where);
  EF_CHECK(r.optional("seed", s.seed));
  EF_CHECK(r.optional("defect_rate", s.defect_rate, 0, 1));
  EF_CHECK(r.optional("drift_amplitude", s.drift_amplitude, 0, 0.9));
  EF_CHECK(r.optional("drift_period_s", s.drift_period_s, 0, 1e6));
  EF_CHECK(r.optional("exposure_jitter", s.exposure_jitter, 0, 0.9));
  EF_CHECK(r.optional("noise_sigma", s.noise_sigma, 0, 100));
  EF_CHECK(r.optional("first_frame", s.first_frame));
  EF_TRY(const json::Json* disconnects, r.optional_array("disconnects"));
  if (disconnects) {
    for (std::size_t i = 0; i < disconnects->size(); ++i) {
      json::ObjectReader d((*disconnects)[i],
                           r.path("disconnects") + "[" + std::to_string(i) + "]");
      ScriptedDisconnect item;
      EF_TRY(auto at, d.integer("at_frame", 0, INT64_MAX));
      item.at_frame = static_cast<std::uint64_t>(at);
      std::int64_t ms = 1000;
      EF_CHECK(d.optional("duration_ms", ms, 0, 24LL * 3600 * 1000));
      item.duration = std::chrono::milliseconds(ms);
      EF_CHECK(d.finish());
      s.disconnects.push_back(item);
    }
  }
  return r.finish();
}

}  // namespace

Result<SourceConfig> parse_source_config(const json::Json& camera) {
  json::ObjectReader r(camera, "camera");
  EF_CHECK(r.valid());
  SourceConfig config;
  EF_TRY(std::string type, r.string("type"));
  if (type == "synthetic") {
    config.type = SourceConfig::Type::synthetic;
  } else if (type == "v4l2") {
    config.type = SourceConfig::Type::v4l2;
  } else if (type == "stream") {
    config.type = SourceConfig::Type::stream;
  } else if (type == "file") {
    config.type = SourceConfig::Type::file;
  } else if (type == "folder") {
    config.type = SourceConfig::Type::folder;
  } else {
    return make_error(Errc::malformed,
                      "camera.type: must be one of synthetic, v4l2, stream, "
                      "file, folder, not \"" +
                          type.substr(0, 64) + "\"");
  }
  EF_CHECK(r.optional("location", config.location));
  EF_CHECK(r.optional("fps", config.fps, 0, 1000));
  EF_CHECK(r.optional("width", config.width, 0, 16384));
  EF_CHECK(r.optional("height", config.height, 0, 16384));
  EF_CHECK(r.optional("loop", config.loop));
  std::int64_t timeout_ms = config.io_timeout.count();
  EF_CHECK(r.optional("io_timeout_ms", timeout_ms, 100, 600'000));
  config.io_timeout = std::chrono::milliseconds(timeout_ms);
  EF_TRY(const json::Json* synthetic, r.optional_object("synthetic"));
  if (synthetic) {
    if (config.type != SourceConfig::Type::synthetic) {
      return make_error(Errc::malformed, "camera.synthetic: only for camera.type \"synthetic\"");
    }
    EF_CHECK(parse_synthetic(*synthetic, r.path("synthetic"), config.synthetic));
  }
  EF_CHECK(r.finish());

  const bool needs_location = config.type != SourceConfig::Type::synthetic;
  if (needs_location && config.location.empty()) {
    return make_error(Errc::malformed,
                      "camera.location: required for camera.type \"" + type + "\"");
  }
  if (config.type == SourceConfig::Type::synthetic) {
    if (config.width == 0) config.width = config.synthetic.width;
    if (config.height == 0) config.height = config.synthetic.height;
    if (config.width < 32 || config.height < 32) {
      return make_error(Errc::malformed,
                        "camera.width/height: the synthetic camera needs at "
                        "least 32x32 pixels");
    }
    config.synthetic.width = config.width;
    config.synthetic.height = config.height;
  }
  return config;
}

}  // namespace ef::camera
