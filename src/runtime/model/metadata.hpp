// The model metadata file (model.json) that travels next to an ONNX file in a release's model/
// directory, and its strict parser.
//
//   {
//     "format": 1,
//     "name": "plate-autoencoder",
//     "version": "ae-2026.11.1",
//     "onnx": "model.onnx",
//     "input": {"name": "image", "width": 64, "height": 64, "color": "gray",
//               "scale": 0.00392156862745098, "mean": [0.5], "std": [0.25]},
//     "outputs": {"score": "score", "anomaly_map": "anomaly_map"},
//     "threshold": 0.0123,
//     "info": { ... free-form provenance, not interpreted ... }
//   }
//
// The runtime feeds the model frames resized to width x height in the given color order, as
// (pixel * scale - mean[c]) / std[c], NCHW float32. The model's "score" output (one number) is
// the anomaly score; a frame with score > threshold is rejected. "anomaly_map" is optional.
// Everything except "info" is checked: unknown keys, wrong types, out-of-range numbers, names
// that could leave the directory are errors naming the field.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/result.hpp"

namespace ef::model {

enum class Color { gray, bgr, rgb };

struct InputSpec {
  std::string name;  // the ONNX graph input it feeds
  int width = 0;
  int height = 0;
  Color color = Color::gray;
  double scale = 1.0 / 255;
  std::vector<double> mean;  // one per channel
  std::vector<double> std;   // one per channel, > 0
  int channels() const { return color == Color::gray ? 1 : 3; }
};

struct Metadata {
  std::string name;
  std::string version;
  std::string onnx_file;  // a plain file name inside the model directory
  InputSpec input;
  std::string score_output;
  std::string map_output;  // empty: the model has no anomaly map
  double threshold = 0;
};

inline constexpr std::string_view kMetadataFileName = "model.json";
inline constexpr std::size_t kMaxMetadataBytes = 64 * 1024;

Result<Metadata> parse_metadata(std::string_view text);
// Reads dir/model.json; not_found names the missing file.
Result<Metadata> load_metadata(const std::filesystem::path& model_dir);

// "gray", "bgr" or "rgb"; malformed otherwise.
Result<Color> parse_color(std::string_view text);

// Model versions label metrics and results and name directories: 1-64 of [A-Za-z0-9._+-].
bool valid_version(std::string_view version);

}  // namespace ef::model
