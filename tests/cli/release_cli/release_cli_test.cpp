// The operator CLI as a user runs it: exit codes, one clear line on failure, and interoperability
// with the reference TUF client (python-tuf) when the conformance suite's copy is beside us.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "run_command.hpp"
#include "test_http_server.hpp"

namespace {

namespace fs = std::filesystem;
using ef::testing::run_command;

const std::string kCli = std::string(EF_BINARY_DIR) + "/apps/edgefleet/edgefleet";

class ReleaseCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("ef-cli-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "src/code");
    fs::create_directories(dir_ / "src/model");
    fs::create_directories(dir_ / "src/config");
    std::ofstream(dir_ / "src/code/run.sh") << "#!/bin/sh\n";
    std::ofstream(dir_ / "src/model/model.onnx") << std::string(5000, 'm');
    std::ofstream(dir_ / "src/config/runtime.json") << "{}";
    ASSERT_EQ(run(kCli + " keys init --dir " + d("keys")).exit_code, 0);
    auto b = run(kCli + " release build " + d("src") + " --version 1.0.0 --keys " + d("keys") +
                 " --repo " + d("repo"));
    ASSERT_EQ(b.exit_code, 0) << b.err;
    EXPECT_NE(b.out.find("release 1.0.0 built: 3 files"), std::string::npos) << b.out;
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string d(const std::string& rel) const { return (dir_ / rel).string(); }
  ef::testing::CommandResult run(const std::string& cmd) { return run_command(cmd); }
  std::string verify_cmd(const std::string& version) const {
    return kCli + " release verify --repo " + d("repo") + " --root " + d("keys/root.json") +
           " --version " + version + " --into " + d("installed");
  }
  fs::path dir_;
};

TEST_F(ReleaseCli, VerifySucceedsAndInstalls) {
  auto r = run(verify_cmd("1.0.0"));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("release 1.0.0 verified"), std::string::npos);
  EXPECT_TRUE(fs::exists(dir_ / "installed/model/model.onnx"));
}

TEST_F(ReleaseCli, FailureIsOneClearLineAndLeavesTheFolderUntouched) {
  for (const auto& e : fs::directory_iterator(dir_ / "repo/blobs/sha256")) {
    fs::permissions(e.path(), fs::perms::owner_write, fs::perm_options::add);
    std::ofstream(e.path(), std::ios::app) << "x";
  }
  auto r = run(verify_cmd("1.0.0"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_TRUE(r.err.starts_with("edgefleet: release verify: ")) << r.err;
  EXPECT_NE(r.err.find("signed release says"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir_ / "installed"));
}

TEST_F(ReleaseCli, UnknownVersionAndMissingArgumentsFail) {
  auto r = run(verify_cmd("2.0.0"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("release 2.0.0 is not in the signed targets"), std::string::npos) << r.err;
  EXPECT_NE(run(kCli + " release verify --repo " + d("repo")).exit_code, 0);
}

// python-tuf, the reference implementation, reads a repository built by `edgefleet release build`
// over plain HTTP and downloads a release file from where the TUF specification says it is.
TEST_F(ReleaseCli, ReferenceTufClientReadsOurRepository) {
  const fs::path shared = fs::path(EF_SOURCE_DIR) / "../shared/tuf-conformance";
  if (!fs::exists(shared / "suite/clients/python-tuf/python_tuf.py"))
    GTEST_SKIP() << "no " << shared;
  if (run("/usr/bin/python3 -c 'import cryptography'").exit_code != 0)
    GTEST_SKIP() << "no python3-cryptography";
  ef::testing::TestHttpServer server;
  server.serve_dir("/", dir_ / "repo");
  const std::string client = "PYTHONPATH=" + (shared / "deps").string() + " /usr/bin/python3 " +
                             (shared / "suite/clients/python-tuf/python_tuf.py").string() +
                             " --metadata-dir " + d("tuf");
  fs::create_directories(dir_ / "tuf");
  ASSERT_EQ(run(client + " init " + d("keys/root.json")).exit_code, 0);
  auto r = run(client + " --metadata-url " + server.url("/metadata") +
               " --target-name releases/1.0.0/model/model.onnx" + " --target-base-url " +
               server.url("/targets") + " --target-dir " + d("tuf") + " download");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::ifstream in(dir_ / "tuf/releases%2F1.0.0%2Fmodel%2Fmodel.onnx");
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(content, std::string(5000, 'm'));
}

}  // namespace
