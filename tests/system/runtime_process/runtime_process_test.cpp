// edgefleet-runtime as a real process: started with its flags, driven over its Unix-socket control
// API and its loopback HMI API, stopped with SIGTERM. Uses the trained demo model
// (models/generated/ae-1) where the model matters and tiny models elsewhere.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "core/common/fs.hpp"
#include "core/http_client/http_client.hpp"
#include "core/json/json.hpp"
#include "device/runtime_link/runtime_link.hpp"
#include "tiny_model.hpp"

namespace ef {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using json::Json;

const fs::path kRuntime = fs::path(EF_BINARY_DIR) / "apps/edgefleet-runtime/edgefleet-runtime";
const fs::path kTrainedModel = fs::path(EF_SOURCE_DIR) / "models/generated/ae-1";

class RuntimeProcess {
 public:
  // Starts the runtime with args, in working directory cwd (when given).
  RuntimeProcess(const fs::path& dir, std::vector<std::string> args, const fs::path& cwd = {})
      : log_(dir / "runtime.log") {
    args.insert(args.begin(), kRuntime.string());
    pid_ = ::fork();
    if (pid_ == 0) {
      if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) ::_exit(126);
      const int fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      std::vector<char*> argv;
      for (auto& a : args)
        argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
  }
  ~RuntimeProcess() {
    if (pid_ > 0 && !exited_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }

  // Waits for the process to exit by itself (or after a signal); -1 on timeout.
  int wait_exit(std::chrono::milliseconds limit = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        exited_ = true;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(10ms);
    }
    return -1;
  }
  int terminate() {
    ::kill(pid_, SIGTERM);
    return wait_exit();
  }
  std::string log() const {
    auto text = read_file(log_, 1 << 22);
    return text ? *text : std::string();
  }

 private:
  fs::path log_;
  pid_t pid_ = -1;
  bool exited_ = false;
};

class RuntimeProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("ef-rt-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    socket_ = (dir_ / "control.sock").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path write_config(const Json& config) {
    const auto path = dir_ / "runtime.json";
    std::ofstream(path) << config.dump(2);
    return path;
  }

  std::vector<std::string> args(const fs::path& config, const fs::path& model,
                                std::vector<std::string> extra = {}) {
    std::vector<std::string> out = {
        "--config",         config.string(), "--model-dir", model.string(),
        "--control-socket", socket_,         "--release",   "r1"};
    out.insert(out.end(), extra.begin(), extra.end());
    return out;
  }

  // A request on the control socket.
  Result<http_client::Response> control(const std::string& method, const std::string& path,
                                        const std::string& body = {}) {
    http_client::Options options;
    options.unix_socket = socket_;
    options.total_timeout = 40s;
    return client_.request(method, "http://localhost" + path, body,
                           body.empty() ? "" : "application/json", options);
  }
  Result<http_client::Response> hmi(const std::string& address, const std::string& method,
                                    const std::string& path, const std::string& body = {},
                                    const std::string& type = "application/json") {
    http_client::Options options;
    options.total_timeout = 10s;
    return client_.request(method, "http://" + address + path, body, body.empty() ? "" : type,
                           options);
  }

  // Polls GET /v1/health until it answers with the wanted HTTP status.
  Json wait_health(long want, std::chrono::milliseconds limit = 30s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    Json last;
    while (std::chrono::steady_clock::now() < deadline) {
      auto res = control("GET", "/v1/health");
      if (res && !res->body.empty()) {
        last = Json::parse(res->body);
        if (res->status == want) return last;
      }
      std::this_thread::sleep_for(50ms);
    }
    ADD_FAILURE() << "health never answered " << want << "; last: " << last.dump();
    return last;
  }

  fs::path copy_model(const fs::path& from, const std::string& version) {
    const auto to = dir_ / version;
    fs::create_directories(to);
    fs::copy_file(from / "model.onnx", to / "model.onnx");
    auto meta = Json::parse(*read_file(from / "model.json", 1 << 20));
    meta["version"] = version;
    std::ofstream(to / "model.json") << meta.dump(2);
    return to;
  }

  fs::path dir_;
  std::string socket_;
  http_client::HttpClient client_;
};

Json synthetic_config(double fps = 30) {
  return {{"camera", {{"type", "synthetic"}, {"fps", fps}, {"synthetic", {{"seed", 1}}}}},
          {"health", {{"healthy_within_ms", 2000}}}};
}

TEST_F(RuntimeProcessTest, InspectsHotSwapsAndTakesOverridesEndToEnd) {
  ASSERT_TRUE(fs::exists(kTrainedModel / "model.json")) << "run scripts/setup to train the model";
  auto config = synthetic_config(30);
  config["camera"]["synthetic"]["defect_rate"] = 0.3;
  RuntimeProcess runtime(dir_, args(write_config(config), kTrainedModel,
                                    {"--hmi-listen", "127.0.0.1:0", "--device-id", "dev-7"}));
  auto health = wait_health(200);
  EXPECT_EQ(health["status"], "inferring");
  EXPECT_EQ(health["model_version"], "ae-1");
  EXPECT_EQ(health["release"], "r1");
  EXPECT_EQ(health["device_id"], "dev-7");
  EXPECT_TRUE(health["camera"]["connected"].get<bool>());
  EXPECT_TRUE(health["last_inference"].is_string());
  const std::string hmi_address = health["hmi_address"];
  ASSERT_FALSE(hmi_address.empty());
  EXPECT_EQ(fs::status(socket_).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);

  // The metrics the agent collects, in a format Prometheus accepts.
  std::this_thread::sleep_for(1500ms);
  auto metrics = control("GET", "/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 200);
  for (const char* needle :
       {"edgefleet_runtime_inference_duration_seconds_bucket{model_version=\"ae-1\"",
        "edgefleet_runtime_inference_duration_recent_seconds{model_version=\"ae-1\",quantile=\"0."
        "99\"}",
        "edgefleet_runtime_model_info{model_version=\"ae-1\",model_name=\"synthetic-plate-"
        "autoencoder\",release=\"r1\",backend=\"opencv_dnn\"} 1",
        "edgefleet_runtime_decisions_total{model_version=\"ae-1\",decision=\"reject\"}",
        "edgefleet_runtime_healthy 1"}) {
    EXPECT_NE(metrics->body.find(needle), std::string::npos) << needle;
  }
  std::ofstream(dir_ / "metrics.prom") << metrics->body;
  EXPECT_EQ(
      std::system(("promtool check metrics < " + (dir_ / "metrics.prom").string() + " > /dev/null")
                      .c_str()),
      0);

  // The trained model rejects the defective parts it sees and passes the good ones.
  auto listed = hmi(hmi_address, "GET", "/v1/results?after=0&limit=1000");
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->status, 200);
  const auto results = Json::parse(listed->body)["results"];
  ASSERT_GE(results.size(), 30u);
  int agree = 0;
  for (const auto& r : results) {
    agree += (r["truth"] == "good") == (r["decision"] == "pass");
    EXPECT_EQ(r["model_version"], "ae-1");
  }
  EXPECT_GE(agree, static_cast<int>(results.size()) * 95 / 100);

  // An operator overrides one decision.
  const auto frame = results[3];
  const std::string other = frame["decision"] == "pass" ? "reject" : "pass";
  const std::string override_body =
      Json{{"sequence", frame["sequence"]}, {"decision", other}, {"operator", "ana"}}.dump();
  auto overridden = hmi(hmi_address, "POST", "/v1/overrides", override_body);
  ASSERT_TRUE(overridden);
  EXPECT_EQ(overridden->status, 200) << overridden->body;
  EXPECT_EQ(Json::parse(overridden->body)["result"]["override"]["decision"], other);
  EXPECT_EQ(hmi(hmi_address, "POST", "/v1/overrides", override_body)->status, 409);
  EXPECT_EQ(hmi(hmi_address, "POST", "/v1/overrides",
                Json{{"sequence", 999999999}, {"decision", "pass"}}.dump())
                ->status,
            404);
  EXPECT_EQ(hmi(hmi_address, "POST", "/v1/interactions",
                Json{{"kind", "acknowledge_alarm"}, {"operator", "ana"}}.dump())
                ->status,
            204);

  // Hot-swap to a new version, waiting for the outcome.
  const auto v2 = copy_model(kTrainedModel, "ae-2");
  auto swapped =
      control("POST", "/v1/model/swap",
              Json{{"model_dir", v2.string()}, {"version", "ae-2"}, {"wait_s", 30}}.dump());
  ASSERT_TRUE(swapped);
  ASSERT_EQ(swapped->status, 200) << swapped->body;
  const auto swap = Json::parse(swapped->body);
  EXPECT_EQ(swap["state"], "swapped");
  EXPECT_EQ(swap["previous_version"], "ae-1");
  EXPECT_EQ(swap["new_version"], "ae-2");
  const std::uint64_t boundary = swap["last_sequence_before"];
  std::this_thread::sleep_for(500ms);
  health = wait_health(200);
  EXPECT_EQ(health["model_version"], "ae-2");
  auto after = Json::parse(
      hmi(hmi_address, "GET", "/v1/results?after=" + std::to_string(boundary - 5) + "&limit=20")
          ->body);
  ASSERT_GE(after["results"].size(), 10u);
  for (const auto& r : after["results"]) {
    EXPECT_EQ(r["model_version"], r["sequence"].get<std::uint64_t>() <= boundary ? "ae-1" : "ae-2");
  }

  // A corrupt model is refused and the running one stays.
  const auto broken = copy_model(kTrainedModel, "ae-3");
  std::ofstream(broken / "model.onnx", std::ios::trunc) << "garbage";
  auto refused = control("POST", "/v1/model/swap",
                         Json{{"model_dir", broken.string()}, {"wait_s", 30}}.dump());
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 422) << refused->body;
  EXPECT_NE(Json::parse(refused->body)["error"].get<std::string>().find("not a valid ONNX"),
            std::string::npos);
  health = wait_health(200);
  EXPECT_EQ(health["model_version"], "ae-2");
  EXPECT_EQ(health["frames_dropped"], 0);
  auto model = Json::parse(control("GET", "/v1/model")->body);
  EXPECT_EQ(model["model_version"], "ae-2");
  EXPECT_EQ(model["swap"]["state"], "failed");

  EXPECT_EQ(runtime.terminate(), 0) << runtime.log();
  EXPECT_FALSE(fs::exists(socket_));
}

// The device agent's own client of the control API against the real runtime, started the way the
// agent starts it: in the release directory, with the release's layout, no --model-dir.
TEST_F(RuntimeProcessTest, TheAgentsRuntimeLinkDrivesTheRealRuntime) {
  const auto release = dir_ / "releases" / "r2";
  model::testing::write_tiny_model(release / "model", {.version = "tiny-1"});
  fs::create_directories(release / "config");
  std::ofstream(release / "config" / "runtime.json") << synthetic_config(30).dump();
  RuntimeProcess runtime(
      dir_, {"--config", "config/runtime.json", "--control-socket", socket_, "--release", "r2"},
      release);
  runtime_link::RuntimeLink link(socket_);
  Result<runtime_link::Health> health = make_error(Errc::internal, "not asked yet");
  for (int i = 0; i < 200; ++i) {
    health = link.health();
    if (health && health->inferring) break;
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_TRUE(health) << health.error().message << "\n" << runtime.log();
  EXPECT_TRUE(health->up);
  EXPECT_TRUE(health->inferring) << health->detail;
  EXPECT_EQ(health->model_version, "tiny-1");
  EXPECT_EQ(health->release, "r2");

  model::testing::write_tiny_model(dir_ / "releases" / "r3" / "model", {.version = "tiny-2"});
  auto swapped = link.swap_model(dir_ / "releases" / "r3" / "model", "tiny-2", 30s);
  ASSERT_TRUE(swapped) << swapped.error().message;
  EXPECT_EQ(link.health()->model_version, "tiny-2");

  model::testing::write_tiny_model(dir_ / "releases" / "r4" / "model", {.version = "tiny-3"});
  std::ofstream(dir_ / "releases" / "r4" / "model" / "model.onnx", std::ios::trunc) << "junk";
  auto refused = link.swap_model(dir_ / "releases" / "r4" / "model", "tiny-3", 30s);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("not a valid ONNX file"), std::string::npos)
      << refused.error().message;
  EXPECT_EQ(link.health()->model_version, "tiny-2");
  EXPECT_TRUE(link.health()->inferring);

  auto metrics = link.metrics();
  ASSERT_TRUE(metrics) << metrics.error().message;
  EXPECT_NE(metrics->find("edgefleet_runtime_model_info{model_version=\"tiny-2\",model_name=\"tiny-"
                          "test-model\",release=\"r2\",backend=\"opencv_dnn\"} 1"),
            std::string::npos);
  EXPECT_EQ(runtime.terminate(), 0) << runtime.log();
}

TEST_F(RuntimeProcessTest, HostileRequestsGetClearErrors) {
  model::testing::write_tiny_model(dir_ / "tiny");
  RuntimeProcess runtime(dir_, args(write_config(synthetic_config(30)), dir_ / "tiny",
                                    {"--hmi-listen", "127.0.0.1:0"}));
  const std::string hmi_address = wait_health(200)["hmi_address"];
  const std::vector<std::pair<std::string, long>> swaps = {
      {"not json", 400},
      {"[1]", 400},
      {R"({"model_dir": "relative/dir"})", 400},
      {R"({"model_dir": 7})", 400},
      {R"({"model_dir": "/x", "wait_s": 100000})", 400},
      {R"({"model_dir": "/x", "unexpected": 1})", 400},
      {R"({"model_dir": "/x", "model_dir": "/y"})", 400},
      {"{\"model_dir\": \"" + std::string(40000, 'a') + "\"}", 413},
  };
  for (const auto& [body, status] : swaps) {
    auto res = control("POST", "/v1/model/swap", body);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, status) << body.substr(0, 80) << " -> " << res->body;
    EXPECT_NE(res->body.find("\"error\""), std::string::npos);
  }
  const std::vector<std::pair<std::string, long>> overrides = {
      {R"({"sequence": 1, "decision": "maybe"})", 400},
      {R"({"sequence": -1, "decision": "pass"})", 400},
      {R"({"sequence": "1", "decision": "pass"})", 400},
      {R"({"decision": "pass"})", 400},
      {R"({"sequence": 1, "decision": "pass", "operator": "a\nb"})", 400},
  };
  for (const auto& [body, status] : overrides) {
    auto res = hmi(hmi_address, "POST", "/v1/overrides", body);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, status) << body << " -> " << res->body;
  }
  EXPECT_EQ(hmi(hmi_address, "POST", "/v1/overrides", R"({"sequence": 1})", "text/plain")->status,
            415);
  EXPECT_EQ(hmi(hmi_address, "POST", "/v1/interactions", R"({"kind": "DROP TABLE"})")->status, 400);
  EXPECT_EQ(hmi(hmi_address, "GET", "/v1/results?limit=0")->status, 400);
  EXPECT_EQ(hmi(hmi_address, "GET", "/v1/results?after=x")->status, 400);
  EXPECT_EQ(hmi(hmi_address, "GET", "/v1/results?limit=1001")->status, 400);
  EXPECT_EQ(hmi(hmi_address, "POST", "/v1/interactions", std::string(8000, '{'))->status, 413);
  EXPECT_EQ(hmi(hmi_address, "GET", "/metrics")->status, 404);  // metrics are the agent's
  // Still up and inferring after all that.
  EXPECT_TRUE(wait_health(200)["healthy"].get<bool>());
  EXPECT_EQ(runtime.terminate(), 0);
}

TEST_F(RuntimeProcessTest, HmiCanListenOnAUnixSocket) {
  model::testing::write_tiny_model(dir_ / "tiny");
  const auto hmi_socket = dir_ / "hmi.sock";
  RuntimeProcess runtime(dir_, args(write_config(synthetic_config(30)), dir_ / "tiny",
                                    {"--hmi-listen", "unix:" + hmi_socket.string()}));
  EXPECT_EQ(wait_health(200)["hmi_address"], "unix:" + hmi_socket.string());
  http_client::Options options;
  options.unix_socket = hmi_socket.string();
  options.total_timeout = 10s;
  auto listed = client_.get("http://localhost/v1/results?limit=3", options);
  ASSERT_TRUE(listed) << listed.error().message;
  EXPECT_EQ(listed->status, 200);
  const auto results = Json::parse(listed->body)["results"];
  EXPECT_GE(results.size(), 1u);  // healthy means at least one result
  EXPECT_LE(results.size(), 3u);
  EXPECT_EQ(runtime.terminate(), 0);
}

TEST_F(RuntimeProcessTest, BadStartupInputsExitWithAClearMessage) {
  model::testing::write_tiny_model(dir_ / "tiny");
  const auto config = write_config(synthetic_config());
  struct Case {
    std::string what;
    std::function<std::vector<std::string>()> args;
    int exit_code;
    std::string says;
  };
  const std::vector<Case> cases = {
      {"missing model dir", [&] { return args(config, dir_ / "nope"); }, 3, "model.json"},
      {"missing metadata",
       [&] {
         fs::create_directories(dir_ / "no-meta");
         fs::copy_file(dir_ / "tiny" / "model.onnx", dir_ / "no-meta" / "model.onnx");
         return args(config, dir_ / "no-meta");
       },
       3, "model.json is missing"},
      {"corrupt onnx",
       [&] {
         model::testing::write_tiny_model(dir_ / "corrupt");
         std::ofstream(dir_ / "corrupt" / "model.onnx", std::ios::trunc) << "\x08\x07garbage";
         return args(config, dir_ / "corrupt");
       },
       3, "not a valid ONNX file"},
      {"shape mismatch",
       [&] {
         model::testing::write_tiny_model(dir_ / "shape");
         auto meta = Json::parse(*read_file(dir_ / "shape" / "model.json", 1 << 16));
         meta["input"]["width"] = 64;
         std::ofstream(dir_ / "shape" / "model.json", std::ios::trunc) << meta.dump();
         return args(config, dir_ / "shape");
       },
       3, "input shape mismatch"},
      {"unknown config key",
       [&] {
         auto c = synthetic_config();
         c["camera"]["fsp"] = 30;
         std::ofstream(dir_ / "bad.json") << c.dump();
         return args(dir_ / "bad.json", dir_ / "tiny");
       },
       2, "camera.fsp"},
      {"missing config", [&] { return args(dir_ / "none.json", dir_ / "tiny"); }, 2, "none.json"},
      {"HMI on all interfaces",
       [&] {
         return args(config, dir_ / "tiny", {"--hmi-listen", "0.0.0.0:8080"});
       },
       2, "loopback"},
  };
  for (const auto& c : cases) {
    RuntimeProcess runtime(dir_, c.args());
    EXPECT_EQ(runtime.wait_exit(), c.exit_code) << c.what << ": " << runtime.log();
    EXPECT_NE(runtime.log().find(c.says), std::string::npos) << c.what << ": " << runtime.log();
  }
}

TEST_F(RuntimeProcessTest, CameraThatNeverOpensKeepsTheRuntimeUpAndUnhealthy) {
  model::testing::write_tiny_model(dir_ / "tiny");
  Json config = {{"camera", {{"type", "v4l2"}, {"location", (dir_ / "video9").string()}}}};
  RuntimeProcess runtime(dir_, args(write_config(config), dir_ / "tiny"));
  auto health = wait_health(503);
  EXPECT_FALSE(health["healthy"].get<bool>());
  EXPECT_EQ(health["status"], "camera_down");
  EXPECT_NE(health["camera"]["last_error"].get<std::string>().find("could not be opened"),
            std::string::npos)
      << health.dump();
  EXPECT_NE(control("GET", "/metrics")->body.find("edgefleet_runtime_camera_connected 0"),
            std::string::npos);
  EXPECT_EQ(runtime.terminate(), 0) << runtime.log();
}

TEST_F(RuntimeProcessTest, ReconnectsAfterAScriptedCameraDisconnect) {
  model::testing::write_tiny_model(dir_ / "tiny");
  auto config = synthetic_config(30);
  config["camera"]["synthetic"]["disconnects"] = {{{"at_frame", 20}, {"duration_ms", 1500}}};
  config["health"]["healthy_within_ms"] = 500;
  RuntimeProcess runtime(dir_, args(write_config(config), dir_ / "tiny"));
  wait_health(200);
  auto down = wait_health(503);
  EXPECT_EQ(down["status"], "camera_down") << down.dump();
  auto up = wait_health(200);
  EXPECT_EQ(up["camera"]["reconnects"], 1);
  EXPECT_NE(control("GET", "/metrics")->body.find("edgefleet_runtime_camera_reconnects_total 1"),
            std::string::npos);
  EXPECT_EQ(runtime.terminate(), 0);
}

}  // namespace
}  // namespace ef
