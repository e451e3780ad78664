#include "runtime/model/onnx_graph.hpp"

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include <set>

#include "core/common/fs.hpp"

namespace ef::model {

namespace {

TensorSignature signature(const onnx::ValueInfoProto& value) {
  TensorSignature s;
  s.name = value.name();
  if (value.type().has_tensor_type()) {
    const auto& tensor = value.type().tensor_type();
    s.elem_type = tensor.elem_type();
    if (tensor.has_shape()) {
      for (const auto& dim : tensor.shape().dim()) {
        s.dims.push_back(dim.has_dim_value() ? dim.dim_value() : -1);
      }
    }
  }
  return s;
}

}  // namespace

Result<GraphSignature> read_onnx_signature(const std::filesystem::path& onnx_file,
                                           std::uint64_t max_bytes) {
  auto bytes = read_file(onnx_file, max_bytes);
  if (!bytes) {
    if (bytes.error().code == Errc::not_found) {
      return make_error(Errc::not_found, onnx_file.filename().string() + " is missing from " +
                                             onnx_file.parent_path().string());
    }
    return std::move(bytes).error().context("reading ONNX file");
  }
  onnx::ModelProto model;
  if (bytes->empty() || !model.ParseFromString(*bytes)) {
    return make_error(Errc::malformed, onnx_file.filename().string() +
                                           " is not a valid ONNX file (it does not parse as an "
                                           "ONNX ModelProto; truncated or corrupt?)");
  }
  if (!model.has_graph() || model.graph().node_size() == 0) {
    return make_error(Errc::malformed, onnx_file.filename().string() + " holds no graph");
  }
  try {
    onnx::checker::check_model(model);
  } catch (const std::exception& e) {
    std::string why = e.what();
    if (why.size() > 300) why = why.substr(0, 300) + "...";
    return make_error(Errc::malformed,
                      onnx_file.filename().string() + " fails the ONNX checker: " + why);
  }
  std::set<std::string> initializers;
  for (const auto& init : model.graph().initializer())
    initializers.insert(init.name());
  GraphSignature graph;
  for (const auto& input : model.graph().input()) {
    if (!initializers.contains(input.name())) graph.inputs.push_back(signature(input));
  }
  for (const auto& output : model.graph().output())
    graph.outputs.push_back(signature(output));
  return graph;
}

}  // namespace ef::model
