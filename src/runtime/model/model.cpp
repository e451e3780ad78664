#include "runtime/model/model.hpp"

#include <cmath>
#include <opencv2/imgproc.hpp>

#include "runtime/model/onnx_graph.hpp"
#include "runtime/model/opencv_dnn/opencv_dnn.hpp"

namespace ef::model {

namespace {

std::string shape_text(const std::vector<std::int64_t>& dims) {
  std::string s;
  for (auto d : dims)
    s += (s.empty() ? "" : "x") + (d < 0 ? std::string("?") : std::to_string(d));
  return s.empty() ? "(no shape)" : s;
}

bool has_output(const GraphSignature& graph, const std::string& name) {
  for (const auto& output : graph.outputs) {
    if (output.name == name) return true;
  }
  return false;
}

// The graph must take exactly what model.json promises to feed it.
Status check_signature(const GraphSignature& graph, const Metadata& m, const std::string& file) {
  if (graph.inputs.size() != 1) {
    return make_error(Errc::mismatch, file + " has " + std::to_string(graph.inputs.size()) +
                                          " inputs; the runtime feeds exactly one image");
  }
  const auto& input = graph.inputs[0];
  if (input.name != m.input.name) {
    return make_error(Errc::mismatch, file + ": the model's input is named \"" + input.name +
                                          "\" but model.json says \"" + m.input.name + "\"");
  }
  if (input.elem_type != 1) {
    return make_error(Errc::mismatch, file + ": input \"" + input.name +
                                          "\" is not float32 (ONNX type " +
                                          std::to_string(input.elem_type) + ")");
  }
  const std::vector<std::int64_t> want = {1, m.input.channels(), m.input.height, m.input.width};
  bool fits = input.dims.size() == 4;
  for (std::size_t i = 0; fits && i < 4; ++i)
    fits = input.dims[i] < 0 || input.dims[i] == want[i];
  if (!fits) {
    return make_error(Errc::mismatch, file + ": input shape mismatch: the model takes " +
                                          shape_text(input.dims) + " (NCHW) but model.json says " +
                                          shape_text(want));
  }
  if (!has_output(graph, m.score_output)) {
    return make_error(Errc::mismatch, file + " has no output named \"" + m.score_output +
                                          "\" (outputs.score in model.json)");
  }
  if (!m.map_output.empty() && !has_output(graph, m.map_output)) {
    return make_error(Errc::mismatch, file + " has no output named \"" + m.map_output +
                                          "\" (outputs.anomaly_map in model.json)");
  }
  return {};
}

}  // namespace

Model::Model(Metadata metadata, std::filesystem::path directory, std::unique_ptr<Backend> backend)
    : metadata_(std::move(metadata)),
      directory_(std::move(directory)),
      backend_(std::move(backend)) {}

Result<std::unique_ptr<Model>> Model::load(const std::filesystem::path& model_dir,
                                           const LoadOptions& options) {
  EF_TRY(Metadata metadata, load_metadata(model_dir));
  const auto onnx_path = model_dir / metadata.onnx_file;
  EF_TRY(GraphSignature graph, read_onnx_signature(onnx_path, options.max_onnx_bytes));
  EF_CHECK(check_signature(graph, metadata, metadata.onnx_file));
  std::unique_ptr<Backend> backend;
  if (options.backend == "opencv_dnn") {
    EF_TRY(backend, open_opencv_dnn(onnx_path, metadata));
  } else {
    return make_error(Errc::unsupported, "model backend \"" + options.backend +
                                             "\" is not built into this runtime (available: "
                                             "opencv_dnn)");
  }
  return std::unique_ptr<Model>(new Model(std::move(metadata), model_dir, std::move(backend)));
}

Result<Inference> Model::infer(const cv::Mat& bgr_frame, bool with_map) {
  if (bgr_frame.empty()) return make_error(Errc::invalid_argument, "empty frame");
  if (bgr_frame.type() != CV_8UC3) {
    return make_error(Errc::invalid_argument, "frame is not 8-bit BGR (OpenCV type " +
                                                  std::to_string(bgr_frame.type()) + ")");
  }
  fit_to_input(bgr_frame, metadata_.input, fitted_);
  to_tensor(fitted_, metadata_.input, blob_);
  EF_TRY(BackendOutputs outputs, backend_->run(blob_, with_map));
  if (outputs.score.total() != 1 || outputs.score.depth() != CV_32F) {
    return make_error(Errc::mismatch, "model " + metadata_.version + ": output \"" +
                                          metadata_.score_output +
                                          "\" must be one float32 value, got " +
                                          std::to_string(outputs.score.total()) + " values");
  }
  Inference result;
  result.score = static_cast<double>(*outputs.score.ptr<float>());
  if (!std::isfinite(result.score)) {
    return make_error(Errc::mismatch,
                      "model " + metadata_.version + " produced a non-finite score");
  }
  if (!outputs.anomaly_map.empty()) {
    const auto total = static_cast<int>(outputs.anomaly_map.total());
    const int width = outputs.anomaly_map.dims >= 2
                          ? outputs.anomaly_map.size[outputs.anomaly_map.dims - 1]
                          : total;
    result.anomaly_map = outputs.anomaly_map.reshape(1, total / std::max(1, width));
  }
  return result;
}

Status Model::warm_up(int runs) {
  const cv::Mat grey(metadata_.input.height, metadata_.input.width, CV_8UC3, cv::Scalar::all(128));
  for (int i = 0; i < runs; ++i) {
    auto result = infer(grey, !metadata_.map_output.empty());
    if (!result) return std::move(result).error().context("warming up model " + metadata_.version);
  }
  return {};
}

}  // namespace ef::model
