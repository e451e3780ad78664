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

int main(int argc, char** argv) {
  CLI::App app{"Render frames of the edgefleet synthetic camera to disk"};
  std::string out, format = "png";
  std::uint64_t count = 100, first = 0;
  double fps = 30;
  ef::camera::SyntheticOptions options;
  app.add_option("--out", out, "output directory (created)")->required();
  app.add_option("--count", count, "number of frames")->check(CLI::Range(1, 1'000'000));
  app.add_option("--first", first, "index of the first frame");
  app.add_option("--format", format, "png (one file per frame) or raw (one array for numpy)")
      ->check(CLI::IsMember({"png", "raw"}));
  app.add_option("--seed", options.seed, "scene seed");
  app.add_option("--width", options.width, "frame width")->check(CLI::Range(32, 4096));
  app.add_option("--height", options.height, "frame height")->check(CLI::Range(32, 4096));
  app.add_option("--fps", fps, "frame rate that sets the drift timeline")
      ->check(CLI::Range(1, 1000));
  app.add_option("--defect-rate", options.defect_rate, "probability of a defect")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--drift-amplitude", options.drift_amplitude, "relative exposure drift")
      ->check(CLI::Range(0.0, 0.9));
  app.add_option("--drift-period", options.drift_period_s, "drift period, seconds");
  app.add_option("--exposure-jitter", options.exposure_jitter, "relative per-frame exposure change")
      ->check(CLI::Range(0.0, 0.9));
  app.add_option("--noise", options.noise_sigma, "sensor noise sigma, grey levels");
  std::string fit;
  app.add_option("--fit", fit, "fit frames to a model input: WIDTHxHEIGHT:gray|bgr|rgb");
  CLI11_PARSE(app, argc, argv);

  std::optional<ef::model::InputSpec> input;
  if (!fit.empty()) {
    ef::model::InputSpec spec;
    char color[8] = {};
    if (std::sscanf(fit.c_str(), "%dx%d:%7s", &spec.width, &spec.height, color) != 3 ||
        spec.width < 8 || spec.height < 8 || spec.width > 4096 || spec.height > 4096) {
      std::fprintf(stderr, "edgefleet-synthcam: --fit wants WIDTHxHEIGHT:COLOR, like 64x64:gray\n");
      return 2;
    }
    const std::string c = color;
    if (c == "gray") {
      spec.color = ef::model::Color::gray;
    } else if (c == "bgr") {
      spec.color = ef::model::Color::bgr;
    } else if (c == "rgb") {
      spec.color = ef::model::Color::rgb;
    } else {
      std::fprintf(stderr, "edgefleet-synthcam: --fit color must be gray, bgr or rgb\n");
      return 2;
    }
    input = spec;
  }

  if (auto made = ef::make_dirs(out); !made) {
    std::fprintf(stderr, "edgefleet-synthcam: %s\n", made.error().message.c_str());
    return 1;
  }
  const ef::camera::SyntheticRenderer renderer(options);
  ef::json::Json labels = ef::json::Json::array();
  std::string raw;
  if (format == "raw")
    raw.reserve(count * static_cast<std::size_t>(options.width * options.height * 3));
  for (std::uint64_t i = first; i < first + count; ++i) {
    auto frame = renderer.render(i, static_cast<double>(i) / fps);
    labels.push_back(ef::camera::defect_name(frame.defect));
    if (input) {
      cv::Mat fitted;
      ef::model::fit_to_input(frame.image, *input, fitted);
      frame.image = fitted;
    }
    if (format == "raw") {
      raw.append(reinterpret_cast<const char*>(frame.image.data),
                 frame.image.total() * frame.image.elemSize());
    } else {
      char name[64];
      std::snprintf(name, sizeof name, "frame_%06llu_%s.png", static_cast<unsigned long long>(i),
                    ef::camera::defect_name(frame.defect));
      if (!cv::imwrite((std::filesystem::path(out) / name).string(), frame.image)) {
        std::fprintf(stderr, "edgefleet-synthcam: could not write %s\n", name);
        return 1;
      }
    }
  }
  const int width = input ? input->width : options.width;
  const int height = input ? input->height : options.height;
  ef::json::Json index = {{"count", count},
                          {"first", first},
                          {"width", width},
                          {"height", height},
                          {"channels", input ? input->channels() : 3},
                          {"seed", options.seed},
                          {"labels", labels}};
  if (format == "raw") {
    if (auto s = ef::write_file_atomic(std::filesystem::path(out) / "frames.u8", raw); !s) {
      std::fprintf(stderr, "edgefleet-synthcam: %s\n", s.error().message.c_str());
      return 1;
    }
  }
  if (auto s =
          ef::write_file_atomic(std::filesystem::path(out) / "frames.json", index.dump() + "\n");
      !s) {
    std::fprintf(stderr, "edgefleet-synthcam: %s\n", s.error().message.c_str());
    return 1;
  }
  return 0;
}
