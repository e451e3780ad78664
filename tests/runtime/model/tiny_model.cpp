#include "tiny_model.hpp"

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <fstream>

#include "core/json/json.hpp"

namespace ef::model::testing {

namespace {

void set_tensor(onnx::ValueInfoProto* value, const std::string& name,
                std::initializer_list<std::int64_t> dims) {
  value->set_name(name);
  auto* tensor = value->mutable_type()->mutable_tensor_type();
  tensor->set_elem_type(onnx::TensorProto_DataType_FLOAT);
  for (auto d : dims)
    tensor->mutable_shape()->add_dim()->set_dim_value(d);
}

}  // namespace

std::string tiny_onnx_bytes(const TinyModel& spec) {
  const std::int64_t channels = spec.color == "gray" ? 1 : 3;
  onnx::ModelProto model;
  model.set_ir_version(7);
  model.set_producer_name("edgefleet-tests");
  auto* opset = model.add_opset_import();
  opset->set_domain("");
  opset->set_version(11);
  auto* graph = model.mutable_graph();
  graph->set_name("tiny");
  set_tensor(graph->add_input(), "image", {1, channels, spec.height, spec.width});
  // score = mean over channels and pixels: GlobalAveragePool, then ReduceMean over channels.
  auto* pool = graph->add_node();
  pool->set_op_type("GlobalAveragePool");
  pool->add_input("image");
  pool->add_output("pooled");
  auto* reduce = graph->add_node();
  reduce->set_op_type("ReduceMean");
  reduce->add_input("pooled");
  reduce->add_output("score");
  auto* axes = reduce->add_attribute();
  axes->set_name("axes");
  axes->set_type(onnx::AttributeProto_AttributeType_INTS);
  axes->add_ints(1);
  set_tensor(graph->add_output(), "score", {1, 1, 1, 1});
  if (spec.with_map) {
    auto* identity = graph->add_node();
    identity->set_op_type("Identity");
    identity->add_input("image");
    identity->add_output("anomaly_map");
    set_tensor(graph->add_output(), "anomaly_map", {1, channels, spec.height, spec.width});
  }
  return model.SerializeAsString();
}

void write_tiny_model(const std::filesystem::path& dir, const TinyModel& spec) {
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "model.onnx", std::ios::binary | std::ios::trunc) << tiny_onnx_bytes(spec);
  const int channels = spec.color == "gray" ? 1 : 3;
  json::Json meta = {
      {"format", 1},
      {"name", "tiny-test-model"},
      {"version", spec.version},
      {"onnx", "model.onnx"},
      {"input",
       {{"name", "image"},
        {"width", spec.width},
        {"height", spec.height},
        {"color", spec.color},
        {"scale", 1.0 / 255},
        {"mean", std::vector<double>(channels, 0.0)},
        {"std", std::vector<double>(channels, 1.0)}}},
      {"outputs", {{"score", "score"}}},
      {"threshold", spec.threshold},
  };
  if (spec.with_map) meta["outputs"]["anomaly_map"] = "anomaly_map";
  std::ofstream(dir / "model.json", std::ios::trunc) << meta.dump(2);
  ASSERT_TRUE(std::filesystem::exists(dir / "model.json"));
}

}  // namespace ef::model::testing
