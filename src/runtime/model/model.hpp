// An anomaly model: metadata + an inference backend, loaded from a model directory.
//
// The backend interface is the one seam for other engines (ONNX Runtime, OpenVINO, TensorRT):
// a backend takes the preprocessed NCHW float32 tensor and returns the score (and, when the
// model has one, the anomaly map). Everything around it (validation of the ONNX graph against the
// metadata, preprocessing, warm-up, score checks) is shared.
//
// A Model is used by one thread at a time (backends keep per-network state); load and warm-up
// may run on another thread than the one that later calls infer().
#pragma once

#include <filesystem>
#include <memory>
#include <opencv2/core/mat.hpp>
#include <string>

#include "core/common/result.hpp"
#include "runtime/model/metadata.hpp"

namespace ef::model {

struct BackendOutputs {
  cv::Mat score;        // must hold exactly one finite value
  cv::Mat anomaly_map;  // only when asked for and the metadata names an anomaly_map output
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual Result<BackendOutputs> run(const cv::Mat& nchw_input, bool with_map) = 0;
  virtual std::string name() const = 0;
};

struct LoadOptions {
  std::string backend = "opencv_dnn";
  std::uint64_t max_onnx_bytes = 512ull * 1024 * 1024;
};

struct Inference {
  double score = 0;
  cv::Mat anomaly_map;  // H x W float32 when asked for and the model has one
};

class Model {
 public:
  // Reads model.json, validates the ONNX graph against it (inputs, shapes, output names), and
  // opens the backend. Errors name the file and what is wrong with it.
  static Result<std::unique_ptr<Model>> load(const std::filesystem::path& model_dir,
                                             const LoadOptions& options = {});

  // Runs the model `runs` times on a mid-grey frame and checks that it answers with a finite
  // score: a model that loads but cannot run fails here, before it replaces a working one.
  Status warm_up(int runs = 3);

  // Scores one 8-bit BGR frame of any size; the anomaly map only when asked (it costs a copy).
  Result<Inference> infer(const cv::Mat& bgr_frame, bool with_map = false);

  const Metadata& metadata() const { return metadata_; }
  const std::filesystem::path& directory() const { return directory_; }
  std::string backend_name() const { return backend_->name(); }

 private:
  Model(Metadata metadata, std::filesystem::path directory, std::unique_ptr<Backend> backend);
  Metadata metadata_;
  std::filesystem::path directory_;
  std::unique_ptr<Backend> backend_;
  cv::Mat fitted_, blob_;  // reused buffers: no allocation per frame
};

// Resizes and converts an 8-bit BGR frame to the model's input size and color order (8-bit).
// The training data goes through this same function (edgefleet-synthcam --fit-to-model).
void fit_to_input(const cv::Mat& bgr_frame, const InputSpec& input, cv::Mat& out);
// Normalizes a fitted 8-bit image into a 1 x C x H x W float32 tensor.
void to_tensor(const cv::Mat& fitted, const InputSpec& input, cv::Mat& tensor);

}  // namespace ef::model
