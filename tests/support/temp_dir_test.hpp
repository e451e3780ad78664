// A GoogleTest fixture with its own empty folder under the system's temporary folder, named for
// the process and the test (so parallel ctest runs never share one) and removed afterwards.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace ef::testing {

class TempDirTest : public ::testing::Test {
 public:  // public so that helpers outside the test body (lambdas) may use them
  void SetUp() override {
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::filesystem::temp_directory_path() / ("ef-" + std::to_string(::getpid()) + "-" +
                                                     test->test_suite_name() + "-" + test->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Writes content to dir_/rel, creating the folders on the way.
  void write(const std::string& rel, const std::string& content) {
    std::filesystem::create_directories((dir_ / rel).parent_path());
    std::ofstream(dir_ / rel, std::ios::binary) << content;
  }

  std::filesystem::path dir_;
};

}  // namespace ef::testing
