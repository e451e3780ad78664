// Runs the README's main command (scripts/demo) with two devices and short deadlines, then checks
// what it measured through the server's inventory (the devices' own reports): every device
// committed 1.0.0, hot-swapped 1.1.0 without a restart or a dropped frame and downloaded only the
// model for it, and the device given 1.2.0 rolled back on its own with the reason reported.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/json/json.hpp"
#include "run_command.hpp"

namespace ef {
namespace {

namespace fs = std::filesystem;

std::uint64_t model_bytes(const std::string& version) {
  const fs::path dir = fs::path(EF_SOURCE_DIR) / "models/generated" / version;
  return fs::file_size(dir / "model.json") + fs::file_size(dir / "model.onnx");
}

TEST(Demo, RunsAllSevenStepsWithTwoDevices) {
  // Under /tmp: each device's runtime socket path must stay short (sockaddr_un).
  const fs::path dir =
      fs::temp_directory_path() / ("edgefleet-demo-test-" + std::to_string(::getpid()));
  const fs::path summary_file = dir.string() + ".summary.json";
  fs::remove_all(dir);
  const std::string command =
      std::string(EF_SOURCE_DIR) + "/scripts/demo --devices 2 --no-setup --quick --port 0 --dir " +
      dir.string() + " --summary " + summary_file.string() + " --build " + EF_BINARY_DIR;
  auto run = testing::run_command(command);
  ASSERT_EQ(run.exit_code, 0) << run.out << "\n--- stderr ---\n" << run.err;
  for (const char* step : {"== 1.", "== 2.", "== 3.", "== 4.", "== 5.", "== 6.", "== 7."})
    EXPECT_NE(run.out.find(step), std::string::npos) << "step " << step << " not shown\n"
                                                     << run.out;
  EXPECT_NE(run.out.find("demo: all seven steps done"), std::string::npos);

  std::ifstream in(summary_file);
  std::stringstream text;
  text << in.rdbuf();
  auto summary = json::parse_strict(text.str(), {});
  ASSERT_TRUE(summary) << text.str();
  const auto& s = *summary;

  ASSERT_EQ(s["devices"].size(), 2u);
  const std::uint64_t ae2 = model_bytes("ae-2");
  for (const auto& [id, d] : s["devices"].items()) {
    SCOPED_TRACE(id);
    // 1.0.0 brought code, model and config: more than the model alone.
    EXPECT_GT(d["full_release_downloaded_bytes"].get<std::uint64_t>(), model_bytes("ae-1"));
    // 1.1.0 changed only the model: exactly its two files moved, and the runtime swapped it.
    EXPECT_EQ(d["model_release_downloaded_bytes"].get<std::uint64_t>(), ae2);
    EXPECT_EQ(d["model_release_kind"], "model_swap");
    EXPECT_EQ(d["frames_dropped_across_swap"], 0);
    EXPECT_GT(d["frames_processed_after_swap"].get<std::int64_t>(),
              d["frames_processed_before_swap"].get<std::int64_t>());
    EXPECT_GT(d["agent_rss_kib"].get<std::int64_t>(), 0);
  }
  const auto& rollback = s["rollback"];
  EXPECT_EQ(rollback["device"], "cam-01");
  EXPECT_EQ(rollback["release"], "1.1.0");
  EXPECT_EQ(rollback["outcome"], "rolled_back");
  const std::string reason = rollback["reason"];
  EXPECT_NE(reason.find("release 1.2.0 rolled back"), std::string::npos) << reason;
  EXPECT_NE(reason.find("camera"), std::string::npos) << reason;

  // Nothing the demo started is left running: its recorded processes are gone.
  std::ifstream pids(dir / "pids");
  for (pid_t pid; pids >> pid;)
    EXPECT_NE(::kill(pid, 0), 0) << "process " << pid << " still runs";
  fs::remove_all(dir);
  fs::remove(summary_file);
}

// A port already taken: the demo names the step and the reason, starts nothing, exits non-zero.
TEST(Demo, RefusesAPortInUse) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const std::string port = std::to_string(ntohs(addr.sin_port));
  const fs::path dir =
      fs::temp_directory_path() / ("edgefleet-demo-port-" + std::to_string(::getpid()));
  auto run = testing::run_command(std::string(EF_SOURCE_DIR) + "/scripts/demo --no-setup --port " +
                                  port + " --dir " + dir.string() + " --build " + EF_BINARY_DIR);
  ::close(fd);
  EXPECT_NE(run.exit_code, 0);
  EXPECT_NE(run.err.find("step '1. edgefleet-server"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("port " + port + " on 127.0.0.1 is already in use"), std::string::npos)
      << run.err;
  EXPECT_FALSE(fs::exists(dir / "pids"));
  fs::remove_all(dir);
}

// A device whose enrolment is refused: the demo names it and the server's reason at once (not at
// the 60 s deadline), stops everything it started and exits non-zero.
TEST(Demo, NamesADeviceThatFailsToEnrol) {
  const fs::path dir =
      fs::temp_directory_path() / ("edgefleet-demo-enrol-" + std::to_string(::getpid()));
  const auto start = std::chrono::steady_clock::now();
  auto run =
      testing::run_command("EDGEFLEET_DEMO_WRONG_TOKEN=cam-02 " + std::string(EF_SOURCE_DIR) +
                           "/scripts/demo --devices 2 --no-setup --quick --port 0 --dir " +
                           dir.string() + " --build " + EF_BINARY_DIR);
  EXPECT_NE(run.exit_code, 0);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(50));
  EXPECT_NE(run.err.find("step '3."), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("cam-02 did not enrol"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("unknown enrollment token"), std::string::npos) << run.err;
  std::ifstream pids(dir / "pids");
  for (pid_t pid; pids >> pid;)
    EXPECT_NE(::kill(pid, 0), 0) << "process " << pid << " still runs";
  fs::remove_all(dir);
}

// An update step past its deadline: the demo names the step and the devices still waited for.
TEST(Demo, NamesAStepPastItsDeadline) {
  const fs::path dir =
      fs::temp_directory_path() / ("edgefleet-demo-deadline-" + std::to_string(::getpid()));
  auto run = testing::run_command(std::string(EF_SOURCE_DIR) +
                                  "/scripts/demo --devices 1 --no-setup --quick --port 0 "
                                  "--stage-timeout 0 --dir " +
                                  dir.string() + " --build " + EF_BINARY_DIR);
  EXPECT_NE(run.exit_code, 0);
  EXPECT_NE(run.err.find("step '4."), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("still waiting for cam-01"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("release 1.0.0 did not reach every device"), std::string::npos) << run.err;
  std::ifstream pids(dir / "pids");
  for (pid_t pid; pids >> pid;)
    EXPECT_NE(::kill(pid, 0), 0) << "process " << pid << " still runs";
  fs::remove_all(dir);
}

// Without the programs (a build that did not happen), the demo says what to run.
TEST(Demo, SaysWhatIsMissing) {
  const fs::path empty =
      fs::temp_directory_path() / ("edgefleet-demo-nobuild-" + std::to_string(::getpid()));
  fs::create_directories(empty);
  auto run = testing::run_command(std::string(EF_SOURCE_DIR) + "/scripts/demo --no-setup --build " +
                                  empty.string() + " --dir " + (empty / "fleet").string());
  EXPECT_NE(run.exit_code, 0);
  EXPECT_NE(run.err.find("is missing: run scripts/setup"), std::string::npos) << run.err;
  fs::remove_all(empty);
}

}  // namespace
}  // namespace ef
