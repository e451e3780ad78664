// Test fixture: writes a minimal but real ONNX model and its model.json, built with the ONNX
// protobuf definitions, so unit tests need no trained model. Its score is the mean of the
// normalized input (with the defaults: mean brightness in [0, 1]), its anomaly map the input
// itself.
#pragma once

#include <filesystem>
#include <string>

namespace ef::model::testing {

struct TinyModel {
  std::string version = "tiny-1";
  int width = 32;
  int height = 32;
  std::string color = "gray";
  double threshold = 0.5;
  bool with_map = true;
};

// Creates dir (and parents) with model.onnx and model.json; aborts the test on failure.
void write_tiny_model(const std::filesystem::path& dir, const TinyModel& spec = {});

// The serialized ONNX bytes of such a model.
std::string tiny_onnx_bytes(const TinyModel& spec = {});

}  // namespace ef::model::testing
