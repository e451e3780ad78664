// edgefleet-synthcam: writes frames of the synthetic camera to disk, exactly as the runtime
// renders them. The training script learns from its raw dump; tests and demos use PNG folders.
//
//   edgefleet-synthcam --out DIR --count N [--seed S] [--defect-rate R] [--format png|raw] ...
//
// raw writes DIR/frames.u8 (count x height x width x channels bytes, BGR or as fitted) and
// DIR/frames.json ({"count", "width", "height", "channels", "labels": ["good", ...]}).
// --fit WxH:COLOR (e.g. 64x64:gray) passes each frame through the runtime's own model input
// fitting (resize + color conversion), so a model trains on exactly what it will be fed.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <opencv2/imgcodecs.hpp>
#include <optional>
#include <string>

#include "core/common/fs.hpp"
#include "core/json/json.hpp"
#include "runtime/camera/synthetic.hpp"
#include "runtime/model/model.hpp"

namespace {

struct Plan {
  std::filesystem::path out;
  std::string format = "png";
  std::uint64_t count = 100, first = 0;
  double fps = 30;
  ef::camera::SyntheticOptions options;
  std::optional<ef::model::InputSpec> fit;
};

// "64x64:gray" -> the model input frames are fitted to.
ef::Result<ef::model::InputSpec> parse_fit(const std::string& text) {
  ef::model::InputSpec spec;
  char color[8] = {};
  if (std::sscanf(text.c_str(), "%dx%d:%7s", &spec.width, &spec.height, color) != 3 ||
      spec.width < 8 || spec.height < 8 || spec.width > 4096 || spec.height > 4096) {
    return ef::make_error(ef::Errc::invalid_argument,
                          "--fit wants WIDTHxHEIGHT:COLOR, like 64x64:gray");
  }
  auto parsed_color = ef::model::parse_color(color);
  if (!parsed_color) return std::move(parsed_color).error().context("--fit color");
  spec.color = *parsed_color;
  return spec;
}

// One PNG per frame, or the frames appended to raw; returns the labels.
ef::Result<ef::json::Json> render_frames(const Plan& plan, std::string& raw) {
  const ef::camera::SyntheticRenderer renderer(plan.options);
  ef::json::Json labels = ef::json::Json::array();
  for (std::uint64_t i = plan.first; i < plan.first + plan.count; ++i) {
    auto frame = renderer.render(i, static_cast<double>(i) / plan.fps);
    labels.push_back(ef::camera::defect_name(frame.defect));
    if (plan.fit) {
      cv::Mat fitted;
      ef::model::fit_to_input(frame.image, *plan.fit, fitted);
      frame.image = fitted;
    }
    if (plan.format == "raw") {
      raw.append(reinterpret_cast<const char*>(frame.image.data),
                 frame.image.total() * frame.image.elemSize());
      continue;
    }
    char name[64];
    std::snprintf(name, sizeof name, "frame_%06llu_%s.png", static_cast<unsigned long long>(i),
                  ef::camera::defect_name(frame.defect));
    if (!cv::imwrite((plan.out / name).string(), frame.image)) {
      return ef::make_error(ef::Errc::io, std::string("could not write ") + name);
    }
  }
  return labels;
}

ef::Status write_dump(const Plan& plan) {
  EF_CHECK(ef::make_dirs(plan.out));
  std::string raw;
  if (plan.format == "raw") {
    raw.reserve(plan.count *
                static_cast<std::size_t>(plan.options.width * plan.options.height * 3));
  }
  EF_TRY(auto labels, render_frames(plan, raw));
  const ef::json::Json index = {{"count", plan.count},
                                {"first", plan.first},
                                {"width", plan.fit ? plan.fit->width : plan.options.width},
                                {"height", plan.fit ? plan.fit->height : plan.options.height},
                                {"channels", plan.fit ? plan.fit->channels() : 3},
                                {"seed", plan.options.seed},
                                {"labels", labels}};
  if (plan.format == "raw") EF_CHECK(ef::write_file_atomic(plan.out / "frames.u8", raw));
  return ef::write_file_atomic(plan.out / "frames.json", index.dump() + "\n");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Render frames of the edgefleet synthetic camera to disk"};
  Plan plan;
  auto& options = plan.options;
  std::string fit;
  app.add_option("--out", plan.out, "output directory (created)")->required();
  app.add_option("--count", plan.count, "number of frames")->check(CLI::Range(1, 1'000'000));
  app.add_option("--first", plan.first, "index of the first frame");
  app.add_option("--format", plan.format, "png (one file per frame) or raw (one array for numpy)")
      ->check(CLI::IsMember({"png", "raw"}));
  app.add_option("--seed", options.seed, "scene seed");
  app.add_option("--width", options.width, "frame width")->check(CLI::Range(32, 4096));
  app.add_option("--height", options.height, "frame height")->check(CLI::Range(32, 4096));
  app.add_option("--fps", plan.fps, "frame rate that sets the drift timeline")
      ->check(CLI::Range(1, 1000));
  app.add_option("--defect-rate", options.defect_rate, "probability of a defect")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--drift-amplitude", options.drift_amplitude, "relative exposure drift")
      ->check(CLI::Range(0.0, 0.9));
  app.add_option("--drift-period", options.drift_period_s, "drift period, seconds");
  app.add_option("--exposure-jitter", options.exposure_jitter, "relative per-frame exposure change")
      ->check(CLI::Range(0.0, 0.9));
  app.add_option("--noise", options.noise_sigma, "sensor noise sigma, grey levels");
  app.add_option("--fit", fit, "fit frames to a model input: WIDTHxHEIGHT:gray|bgr|rgb");
  CLI11_PARSE(app, argc, argv);

  if (!fit.empty()) {
    auto spec = parse_fit(fit);
    if (!spec) {
      std::fprintf(stderr, "edgefleet-synthcam: %s\n", spec.error().message.c_str());
      return 2;
    }
    plan.fit = *spec;
  }
  if (auto written = write_dump(plan); !written) {
    std::fprintf(stderr, "edgefleet-synthcam: %s\n", written.error().message.c_str());
    return 1;
  }
  return 0;
}
