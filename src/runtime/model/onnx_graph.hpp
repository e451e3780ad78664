// Reads an ONNX file's graph signature with the ONNX project's own protobuf definitions and
// checker (libonnx), before any inference engine parses it: a corrupt or mismatched file is
// refused with a precise reason instead of reaching an engine's importer. Messages lead with the
// reason and name the file, not its whole path (reports to the server are kept short).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/common/result.hpp"

namespace ef::model {

struct TensorSignature {
  std::string name;
  int elem_type = 0;               // onnx::TensorProto_DataType (1 = float32)
  std::vector<std::int64_t> dims;  // -1 for a symbolic or unknown dimension
};

struct GraphSignature {
  std::vector<TensorSignature> inputs;  // graph inputs that are not initializers
  std::vector<TensorSignature> outputs;
};

Result<GraphSignature> read_onnx_signature(const std::filesystem::path& onnx_file,
                                           std::uint64_t max_bytes);

}  // namespace ef::model
