// The update engine end to end against a real HTTP repository, with a stand-in runtime process
// (fixtures/fake_runtime.py, which speaks the runtime's control API): install, model hot-swap,
// code restart, rollback of releases that crash or never turn healthy, hostile repositories,
// resumed downloads, and SIGKILL at every journaled step followed by a restart.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "core/common/fs.hpp"
#include "core/crypto/hash.hpp"
#include "core/json/json.hpp"
#include "core/release_signing/keyring.hpp"
#include "core/release_signing/repository.hpp"
#include "core/trust/metadata.hpp"
#include "core/trust/trusted_set.hpp"
#include "fake_release.hpp"
#include "run_command.hpp"
#include "test_http_server.hpp"

namespace ef {
namespace {

namespace fs = std::filesystem;
using json::Json;

using testing::Variant;

class UpdateEngine : public ::testing::Test {
 protected:
  void SetUp() override {
    // Short: the runtime's Unix socket lives below it (sockaddr_un holds 108 bytes).
    static int counter = 0;
    dir_ = fs::temp_directory_path() /
           ("ef-eng-" + std::to_string(::getpid()) + "-" + std::to_string(++counter));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    ASSERT_TRUE(release::init_keys(dir_ / "keys", {}, utc_now()));
    server_.serve_dir("/repo/", dir_ / "repo");
  }
  void TearDown() override { fs::remove_all(dir_); }

  void publish(const std::string& version, const Variant& v) {
    const fs::path src = dir_ / ("src-" + version);
    testing::write_fake_release(src, v);
    release::BuildOptions b{src, version, dir_ / "keys", dir_ / "repo", std::nullopt, {}};
    auto built = release::build_release(b, utc_now());
    ASSERT_TRUE(built) << built.error().message;
  }

  struct Run {
    int exit_code;
    Json report;
    std::string err;
  };
  Run drive(const std::string& version, const std::string& fail_point = "",
            const fs::path& data = {}) {
    const fs::path d = data.empty() ? dir_ / "device" : data;
    std::string cmd = std::string(EF_ENGINE_DRIVER) + " --data " + d.string() + " --trust-root " +
                      (dir_ / "keys/root.json").string() + " --metadata-url " +
                      server_.url("/repo/metadata/") + " --blobs-url " +
                      server_.url("/repo/blobs/sha256/") + " --release " + version;
    if (!fail_point.empty()) cmd = "EDGEFLEET_FAIL_POINT=" + fail_point + " " + cmd;
    auto r = testing::run_command(cmd);
    Run out{r.exit_code, nullptr, r.err};
    if (auto j = json::parse_strict(r.out, {.allow_floats = true}); j) out.report = *j;
    return out;
  }

  Json state(const fs::path& data = {}) {
    const fs::path d = data.empty() ? dir_ / "device" : data;
    return Json::parse(*read_file(d / "state.json", 1 << 20));
  }
  std::string current(const fs::path& data = {}) {
    const fs::path d = data.empty() ? dir_ / "device" : data;
    std::error_code ec;
    return fs::read_symlink(d / "current", ec).string();
  }
  std::vector<std::string> runtime_starts(const fs::path& data = {}) {
    const fs::path d = data.empty() ? dir_ / "device" : data;
    std::vector<std::string> lines;
    std::ifstream in(d / "run/runtime-starts.log");
    for (std::string line; std::getline(in, line);)
      lines.push_back(line);
    return lines;
  }
  // The installed release holds exactly the files and bytes its signed metadata lists.
  void expect_complete_release(const std::string& version, const fs::path& data = {}) {
    const fs::path d = data.empty() ? dir_ / "device" : data;
    auto env =
        trust::parse_envelope(*read_file(d / "trust/metadata/targets.json", 1 << 24), 1 << 24);
    ASSERT_TRUE(env);
    auto targets = trust::parse_targets(env->signed_json);
    ASSERT_TRUE(targets);
    std::size_t files = 0;
    for (const auto& [path, t] : targets->targets) {
      const std::string prefix = "releases/" + version + "/";
      if (!path.starts_with(prefix)) continue;
      ++files;
      auto content = read_file(d / path, 1 << 24);
      ASSERT_TRUE(content) << path;
      EXPECT_EQ(crypto::sha256_hex(*content), t.hashes.at("sha256")) << path;
    }
    EXPECT_EQ(files, 6u);
    for (const auto& e : fs::directory_iterator(d / "releases")) {
      EXPECT_FALSE(e.path().filename().string().starts_with(".staging"))
          << "leftover staging folder";
    }
  }

  fs::path dir_;
  testing::TestHttpServer server_;
};

TEST_F(UpdateEngine, InstallsThenSwapsTheModelThenRestartsForNewCode) {
  publish("1.0.0", {});
  auto first = drive("1.0.0");
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_EQ(first.report["installed_release"], "1.0.0");
  EXPECT_EQ(first.report["model_version"], "m1");
  EXPECT_EQ(current(), "releases/1.0.0");
  expect_complete_release("1.0.0");

  publish("1.1.0", {.model_version = "m2"});  // only the model changes
  auto second = drive("1.1.0");
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_EQ(second.report["installed_release"], "1.1.0");
  EXPECT_EQ(second.report["model_version"], "m2");
  // Started once for 1.0.0 by each drive, never for 1.1.0: the model was hot-swapped.
  EXPECT_EQ(runtime_starts(), (std::vector<std::string>{"1.0.0 m1", "1.0.0 m1"}));
  EXPECT_EQ(state()["previous"], "1.0.0");

  publish("2.0.0", {.model_version = "m2", .code = 2});
  auto third = drive("2.0.0");
  ASSERT_EQ(third.exit_code, 0) << third.err;
  EXPECT_EQ(runtime_starts().back(), "2.0.0 m2");
  EXPECT_FALSE(fs::exists(dir_ / "device/releases/1.0.0"));  // only committed + previous are kept
  EXPECT_TRUE(fs::exists(dir_ / "device/releases/1.1.0"));
}

TEST_F(UpdateEngine, ACrashingReleaseRollsBackAndIsNotRetried) {
  publish("1.0.0", {});
  ASSERT_EQ(drive("1.0.0").exit_code, 0);
  publish("1.2.0", {.behaviour = "crash", .code = 3});
  auto r = drive("1.2.0");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("apply: rolled_back: release 1.2.0 rolled back"), std::string::npos)
      << r.err;
  EXPECT_EQ(r.report["installed_release"], "1.0.0");
  EXPECT_NE(
      r.report["last_failure_reason"].get<std::string>().find("stopped during its trial (exit 3)"),
      std::string::npos)
      << r.report.dump();
  EXPECT_EQ(current(), "releases/1.0.0");
  EXPECT_EQ(runtime_starts().back(), "1.0.0 m1");
  EXPECT_TRUE(state()["failed"].contains("1.2.0"));
  auto starts_of = [&](const std::string& release) {
    const auto all = runtime_starts();
    return std::count_if(all.begin(), all.end(),
                         [&](const std::string& l) { return l.starts_with(release + " "); });
  };
  const auto crashed_starts = starts_of("1.2.0");
  auto again = drive("1.2.0");  // same desired state: not retried
  EXPECT_EQ(again.exit_code, 0);
  EXPECT_EQ(starts_of("1.2.0"), crashed_starts);
  EXPECT_EQ(again.report["installed_release"], "1.0.0");
}

TEST_F(UpdateEngine, AReleaseThatNeverTurnsHealthyRollsBackAtItsDeadline) {
  publish("1.0.0", {});
  ASSERT_EQ(drive("1.0.0").exit_code, 0);
  publish("1.3.0", {.behaviour = "never_inferring", .code = 4, .deadline = 2});
  auto r = drive("1.3.0");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("apply: rolled_back:"), std::string::npos) << r.err;
  EXPECT_NE(
      r.report["last_failure_reason"].get<std::string>().find("not up and inferring within 2 s"),
      std::string::npos)
      << r.report.dump();
  EXPECT_EQ(current(), "releases/1.0.0");
}

TEST_F(UpdateEngine, AHungRuntimeIsAFailedTrial) {
  publish("1.0.0", {});
  ASSERT_EQ(drive("1.0.0").exit_code, 0);
  publish("1.4.0", {.behaviour = "hang", .code = 5, .deadline = 2});
  auto r = drive("1.4.0");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("apply: rolled_back:"), std::string::npos) << r.err;
  EXPECT_EQ(r.report["installed_release"], "1.0.0");
}

TEST_F(UpdateEngine, ARefusedModelSwapKeepsTheOldModel) {
  publish("1.0.0", {.behaviour = "refuse_swap"});
  ASSERT_EQ(drive("1.0.0").exit_code, 0);
  publish("1.1.0", {.behaviour = "refuse_swap", .model_version = "m2"});
  auto r = drive("1.1.0");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("apply: rolled_back:"), std::string::npos) << r.err;
  EXPECT_NE(r.report["last_failure_reason"].get<std::string>().find("refused the model swap"),
            std::string::npos);
  EXPECT_EQ(r.report["installed_release"], "1.0.0");
  EXPECT_EQ(current(), "releases/1.0.0");
}

TEST_F(UpdateEngine, HostileRepositoriesLeaveTheDeviceAsItWas) {
  publish("1.0.0", {});
  ASSERT_EQ(drive("1.0.0").exit_code, 0);
  publish("1.1.0", {.model_version = "m2"});
  const auto before = *read_file(dir_ / "device/state.json", 1 << 20);
  // One byte of the new model flipped on the server.
  const fs::path blob = dir_ / "repo/blobs/sha256" / testing::fake_weights_sha256("m2");
  ASSERT_TRUE(fs::exists(blob));
  fs::permissions(blob, fs::perms::owner_write, fs::perm_options::add);
  {
    std::fstream f(blob, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(100);
    f.put('Z');
  }
  auto r = drive("1.1.0");
  EXPECT_EQ(r.exit_code, 1);
  // Verification policy said no: refused, not rolled back (nothing was switched).
  EXPECT_NE(r.err.find("apply: refused: release 1.1.0 refused"), std::string::npos) << r.err;
  EXPECT_NE(r.report["last_failure_reason"].get<std::string>().find(
                "SHA-256 of the downloaded bytes differs"),
            std::string::npos)
      << r.report.dump();
  EXPECT_EQ(current(), "releases/1.0.0");
  EXPECT_FALSE(fs::exists(dir_ / "device/releases/1.1.0"));
  EXPECT_EQ(state()["committed"], "1.0.0");

  auto missing = drive("9.9.9");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("apply: refused:"), std::string::npos) << missing.err;
  EXPECT_NE(
      missing.report["last_failure_reason"].get<std::string>().find("not in the signed targets"),
      std::string::npos);
  EXPECT_EQ(current(), "releases/1.0.0");
  (void)before;
}

TEST_F(UpdateEngine, AnInterruptedDownloadResumesWhereItStopped) {
  publish("1.0.0", {});
  ASSERT_EQ(drive("1.0.0").exit_code, 0);
  publish("2.0.0", {.code = 7});
  std::vector<std::string> ranges;
  std::mutex mu;
  bool cut = true;
  server_.route("/repo/blobs/sha256/", [&](const testing::Request& req) {
    auto body = read_file(
        dir_ / "repo/blobs/sha256" / req.path.substr(std::string("/repo/blobs/sha256/").size()),
        1 << 24);
    if (!body) return testing::Reply{.status = 404};
    std::lock_guard lock(mu);
    if (req.headers.contains("range")) ranges.push_back(req.headers.at("range"));
    testing::Reply reply{.body = *body};
    if (cut && body->size() > 100000) {
      cut = false;
      reply.close_after_bytes = 120000;
    }
    return reply;
  });
  auto first = drive("2.0.0");
  EXPECT_EQ(first.exit_code, 1);
  EXPECT_NE(first.err.find("apply: network:"), std::string::npos) << first.err;
  EXPECT_EQ(state()["update"]["phase"], "downloading");
  EXPECT_EQ(current(), "releases/1.0.0");
  auto second = drive("2.0.0");
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_EQ(ranges, std::vector<std::string>{"bytes=120000-"});
  expect_complete_release("2.0.0");
}

// SIGKILL at every journaled step, then a restart: the device must end on a complete release
// (the new one, or the old one after a failed trial), run it, and report exactly that.
struct KillCase {
  std::string fail_point;
  std::string kind;  // full | swap | crash
};

class KillAtEveryStep : public UpdateEngine, public ::testing::WithParamInterface<KillCase> {};

TEST_P(KillAtEveryStep, EndsOnACompleteReleaseAndReportsIt) {
  const KillCase c = GetParam();
  publish("1.0.0", {});
  auto installed = drive("1.0.0");
  ASSERT_EQ(installed.exit_code, 0) << installed.err;
  Variant next;
  if (c.kind == "full") next = {.model_version = "m1", .code = 2};
  if (c.kind == "swap") next = {.model_version = "m2"};
  if (c.kind == "crash") next = {.behaviour = "crash", .code = 3};
  publish("2.0.0", next);

  auto killed = drive("2.0.0", c.fail_point);
  ASSERT_NE(killed.err.find("fail point reached"), std::string::npos)
      << c.fail_point << " was never reached: " << killed.err;
  EXPECT_NE(killed.exit_code, 0);

  auto restarted = drive("2.0.0");
  const std::string expected = c.kind == "crash" ? "1.0.0" : "2.0.0";
  EXPECT_EQ(restarted.report["installed_release"], expected)
      << restarted.err << restarted.report.dump();
  EXPECT_TRUE(restarted.report["trial_release"].is_null());
  EXPECT_TRUE(restarted.report["update"].is_null()) << restarted.report.dump();
  EXPECT_EQ(state()["committed"], expected);
  EXPECT_TRUE(state()["update"].is_null());
  EXPECT_EQ(current(), "releases/" + expected);
  expect_complete_release(expected);
  // The runtime that ran last is the committed release with its model.
  const std::string model = c.kind == "swap" ? "m2" : "m1";
  if (c.kind != "swap") {
    EXPECT_EQ(runtime_starts().back(), expected + " " + model);
  }
  EXPECT_EQ(restarted.report["model_version"], model);
  if (c.kind == "crash") {
    EXPECT_TRUE(state()["failed"].contains("2.0.0"));
    EXPECT_NE(restarted.report["last_failure_reason"].get<std::string>().find("2.0.0"),
              std::string::npos);
  }
}

INSTANTIATE_TEST_SUITE_P(
    FailPoints, KillAtEveryStep,
    ::testing::Values(KillCase{"update_started", "full"}, KillCase{"release_verified", "full"},
                      KillCase{"download_journaled", "full"}, KillCase{"blob_partial", "full"},
                      KillCase{"blob_downloaded", "full"}, KillCase{"blob_downloaded:2", "full"},
                      KillCase{"downloads_complete", "full"}, KillCase{"staging_journaled", "full"},
                      KillCase{"staged", "full"}, KillCase{"switch_journaled", "full"},
                      KillCase{"current_switched", "full"}, KillCase{"trial_journaled", "full"},
                      KillCase{"runtime_started", "full"}, KillCase{"health_passed", "full"},
                      KillCase{"commit_journaled", "full"}, KillCase{"committed", "full"},
                      KillCase{"cleaned", "full"}, KillCase{"swap_requested", "swap"},
                      KillCase{"health_passed", "swap"}, KillCase{"trial_journaled", "crash"},
                      KillCase{"rollback_journaled", "crash"},
                      KillCase{"rollback_switched", "crash"},
                      KillCase{"rollback_runtime_started", "crash"},
                      KillCase{"rollback_done", "crash"}),
    [](const ::testing::TestParamInfo<KillCase>& info) {
      std::string name = info.param.kind + "_" + info.param.fail_point;
      for (auto& ch : name) {
        if (ch == ':') ch = '_';
      }
      return name;
    });

}  // namespace
}  // namespace ef
