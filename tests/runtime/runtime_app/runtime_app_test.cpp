// run_runtime's start-up failures, in-process: each maps to the exit code docs/runtime.md
// promises before anything is served. (Running and stopping: tests/system/runtime_process.)
#include "runtime/runtime_app/runtime_app.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "tiny_model.hpp"

namespace ef::runtime {
namespace {

namespace fs = std::filesystem;

class RuntimeAppTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("ef-runtime-app-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    model::testing::write_tiny_model(dir_ / "model", {.version = "tiny-1"});
    flags_.config = dir_ / "runtime.json";
    flags_.model_dir = dir_ / "model";
    flags_.control_socket = dir_ / "control.sock";
    write_config(R"({"camera": {"type": "synthetic", "fps": 30}})");
  }
  void TearDown() override { fs::remove_all(dir_); }

  void write_config(const std::string& text) { std::ofstream(flags_.config) << text; }

  fs::path dir_;
  RuntimeFlags flags_;
};

TEST_F(RuntimeAppTest, BadConfigurationExits2) {
  write_config(R"({"camera": {"type": "synthetic", "fps": -1}})");
  EXPECT_EQ(run_runtime(flags_), 2);
  write_config("not json");
  EXPECT_EQ(run_runtime(flags_), 2);
  flags_.config = dir_ / "missing.json";
  EXPECT_EQ(run_runtime(flags_), 2);
}

TEST_F(RuntimeAppTest, HmiAddressThatIsNotLoopbackExits2) {
  flags_.hmi_listen = "0.0.0.0:8470";
  EXPECT_EQ(run_runtime(flags_), 2);
}

TEST_F(RuntimeAppTest, ModelThatCannotLoadExits3) {
  flags_.model_dir = dir_ / "no-model-here";
  EXPECT_EQ(run_runtime(flags_), 3);
  std::ofstream(dir_ / "model" / "model.onnx") << "not an onnx file";
  flags_.model_dir = dir_ / "model";
  EXPECT_EQ(run_runtime(flags_), 3);
}

TEST_F(RuntimeAppTest, ControlSocketThatCannotBeCreatedExits2) {
  flags_.control_socket = dir_ / "no-such-dir" / "control.sock";
  EXPECT_EQ(run_runtime(flags_), 2);
  EXPECT_FALSE(fs::exists(flags_.control_socket));
}

}  // namespace
}  // namespace ef::runtime
