// The OpenCV dnn backend (OpenCV 4.6's ONNX importer, CPU).
#pragma once

#include <filesystem>
#include <memory>

#include "runtime/model/model.hpp"

namespace ef::model {

// Imports the ONNX file into an OpenCV network; OpenCV's exceptions become errors.
Result<std::unique_ptr<Backend>> open_opencv_dnn(const std::filesystem::path& onnx_file,
                                                 const Metadata& metadata);

}  // namespace ef::model
