// End to end with real processes on 127.0.0.1: edgefleet-server from its binary, the edgefleet
// CLI for every operator step, and a device played by this test with its own key, a real CSR,
// mutual TLS, and the TUF client workflow against the server's repository.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <regex>
#include <thread>

#include "core/bootstrap/bootstrap.hpp"
#include "core/common/fs.hpp"
#include "core/fetch/fetch.hpp"
#include "core/http_client/http_client.hpp"
#include "core/pki/pki.hpp"
#include "core/release_format/release.hpp"
#include "core/trust/updater.hpp"
#include "run_command.hpp"

namespace ef {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::run_command;

const std::string kServer = std::string(EF_BINARY_DIR) + "/apps/edgefleet-server/edgefleet-server";
const std::string kCli = std::string(EF_BINARY_DIR) + "/apps/edgefleet/edgefleet";

class ServerE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("ef-e2e-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    // Release keys, and an offline copy without the online keys (what CI would hold).
    ASSERT_EQ(run(kCli + " keys init --dir " + d("keys")).exit_code, 0);
    fs::create_directories(dir_ / "offline");
    for (const auto& e : fs::directory_iterator(dir_ / "keys")) {
      const auto name = e.path().filename().string();
      if (name.rfind("snapshot", 0) == 0 || name.rfind("timestamp", 0) == 0 || !e.is_regular_file())
        continue;
      fs::copy_file(e.path(), dir_ / "offline" / name);
    }
    auto init = run(kServer + " init-repository --data " + d("data") + " --keys " + d("keys"));
    ASSERT_EQ(init.exit_code, 0) << init.err;
    EXPECT_FALSE(fs::exists(dir_ / "data/repository-keys/root-1.key"));
    EXPECT_FALSE(fs::exists(dir_ / "data/repository-keys/targets-1.key"));
    EXPECT_TRUE(fs::exists(dir_ / "data/repository-keys/snapshot-1.key"));
    start_server();
  }

  void TearDown() override {
    stop_server();
    fs::remove_all(dir_);
  }

  void start_server() {
    fs::remove(dir_ / "port");
    pid_ = ::fork();
    if (pid_ == 0) {
      const int out = ::open((dir_ / "server.log").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
      ::dup2(out, 1);
      ::dup2(out, 2);
      ::execl(kServer.c_str(), kServer.c_str(), "--data", d("data").c_str(), "--listen",
              "127.0.0.1:0", "--port-file", d("port").c_str(), "--max-wait", "30",
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
    for (int i = 0; i < 200 && !fs::exists(dir_ / "port"); ++i)
      std::this_thread::sleep_for(25ms);
    auto port = read_file(dir_ / "port", 100);
    ASSERT_TRUE(port) << "the server did not start: " << log();
    url_ = "https://127.0.0.1:" + std::string(*port).substr(0, port->find('\n'));
    std::smatch m;
    const std::string text = log();
    static const std::regex token("initial admin token[^:]*: (eft_[0-9a-f]{64})");
    if (std::regex_search(text, m, token)) admin_ = m[1];
    ca_ = d("data/pki/ca.crt");
  }

  void stop_server() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << "the server did not stop cleanly: " << log();
    pid_ = -1;
  }

  std::string d(const std::string& rel) const { return (dir_ / rel).string(); }
  std::string log() const {
    auto text = read_file(dir_ / "server.log", 1 << 20);
    return text ? *text : std::string();
  }
  testing::CommandResult run(const std::string& cmd) { return run_command(cmd); }
  std::string connection() const {
    return " --server " + url_ + " --token " + admin_ + " --ca " + ca_;
  }
  testing::CommandResult cli(const std::string& args) {
    return run(kCli + " " + args + connection());
  }

  void make_release_source(const std::string& version, const std::string& model) {
    const auto src = dir_ / ("src-" + version);
    fs::create_directories(src / "code");
    fs::create_directories(src / "model");
    fs::create_directories(src / "config");
    std::ofstream(src / "code" / "run.sh") << "#!/bin/sh\necho " << version << "\n";
    fs::permissions(src / "code" / "run.sh", fs::perms::owner_all);
    std::ofstream(src / "model" / "model.onnx") << model;
    std::ofstream(src / "config" / "runtime.json") << "{\"threshold\": 0.5}";
    auto built = run(kCli + " release build " + src.string() + " --version " + version +
                     " --keys " + d("offline") + " --repo " + d("repo"));
    ASSERT_EQ(built.exit_code, 0) << built.err;
  }

  struct Device {
    http_client::TlsOptions tls;
  };

  Device enrol(const std::string& id, const std::string& token) {
    auto key = pki::generate_ec_key();
    auto csr = pki::make_csr(key->private_key_pem, id);
    http_client::HttpClient client;
    http_client::Options options;
    options.tls.ca_file = ca_;
    json::Json body = {{"device_id", id}, {"token", token}, {"csr", *csr}};
    auto r =
        client.request("POST", url_ + "/api/v1/enroll", body.dump(), "application/json", options);
    EXPECT_TRUE(r && r->status == 200) << (r ? r->body : r.error().message);
    const auto cert = json::Json::parse(r->body)["certificate"].get<std::string>();
    EXPECT_TRUE(write_file_atomic(dir_ / (id + ".key"), key->private_key_pem, 0600));
    EXPECT_TRUE(write_file_atomic(dir_ / (id + ".crt"), cert));
    return {{ca_, d(id + ".crt"), d(id + ".key")}};
  }

  http_client::Response checkin(const Device& device, const std::string& id,
                                const std::string& etag = "", int wait = 0,
                                json::Json state = json::Json::object()) {
    http_client::HttpClient client;
    http_client::Options options;
    options.tls = device.tls;
    if (!etag.empty()) options.headers.emplace_back("If-None-Match", etag);
    auto r = client.request(
        "POST", url_ + "/api/v1/devices/" + id + "/checkin?wait=" + std::to_string(wait),
        state.dump(), "application/json", options);
    EXPECT_TRUE(r) << r.error().message;
    return r ? *r : http_client::Response{};
  }

  std::string enrollment_token_from(const std::string& out) {
    std::smatch m;
    static const std::regex token("(eet_[0-9a-f]{32})");
    return std::regex_search(out, m, token) ? std::string(m[1]) : "";
  }

  fs::path dir_;
  pid_t pid_ = -1;
  std::string url_, admin_, ca_;
};

TEST_F(ServerE2E, EnrolCheckInLongPollPublishFetchAndRevoke) {
  ASSERT_FALSE(admin_.empty()) << log();

  // Operator registers the device with the CLI.
  auto added = cli("device add cam-01 --site plant-a --cell line-3 --label camera=basler");
  ASSERT_EQ(added.exit_code, 0) << added.err;
  const auto token = enrollment_token_from(added.out);
  ASSERT_FALSE(token.empty()) << added.out;

  // The device enrols with its own key and checks in over mTLS.
  auto device = enrol("cam-01", token);
  auto first = checkin(device, "cam-01", "", 0,
                       {{"installed_release", "0.9.0"},
                        {"agent_version", "0.1.0"},
                        {"hardware", {{"make", "Acme"}, {"model", "Box"}, {"serial", "SN-1"}}}});
  ASSERT_EQ(first.status, 200) << first.body;
  const std::string etag = *first.header("etag");

  // CI builds a release with the offline keys; the operator publishes it.
  make_release_source("1.0.0", "model-bytes-1");
  auto published = cli("release publish --repo " + d("repo"));
  ASSERT_EQ(published.exit_code, 0) << published.err << published.out;
  EXPECT_NE(published.out.find("1.0.0"), std::string::npos);
  auto again = cli("release publish --repo " + d("repo"));
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.out.find("0 of 3 blobs uploaded"), std::string::npos) << again.out;
  auto listed = cli("release list");
  EXPECT_NE(listed.out.find("1.0.0"), std::string::npos);

  // The device holds a long-poll; the assignment wakes it.
  auto waiting = std::async(std::launch::async, [&] {
    const auto begin = std::chrono::steady_clock::now();
    auto r = checkin(device, "cam-01", etag, 25);
    return std::make_pair(r, std::chrono::steady_clock::now() - begin);
  });
  std::this_thread::sleep_for(500ms);
  auto assigned = cli("assign 1.0.0 cam-01");
  ASSERT_EQ(assigned.exit_code, 0) << assigned.err;
  auto [woken, elapsed] = waiting.get();
  ASSERT_EQ(woken.status, 200) << woken.body;
  EXPECT_LT(elapsed, 20s);
  const auto desired = json::Json::parse(woken.body);
  EXPECT_EQ(desired["release"]["version"], "1.0.0");

  // The device fetches metadata through the TUF workflow from its baked-in root, and blobs by
  // hash, all over mTLS.
  http_client::Options mtls;
  mtls.tls = device.tls;
  fetch::HttpMetadataSource source(desired["repository"]["metadata_url"], mtls);
  fs::create_directories(dir_ / "device-metadata");
  ASSERT_TRUE(trust::init_trusted_root(dir_ / "device-metadata",
                                       *read_file(dir_ / "keys/1.root.json", 1 << 20)));
  trust::Updater updater({.metadata_dir = dir_ / "device-metadata", .strict_role_names = true},
                         source);
  auto refreshed = updater.refresh();
  ASSERT_TRUE(refreshed) << refreshed.error().message;
  auto rel = release::release_from_targets(*updater.trusted().targets("targets"), "1.0.0");
  ASSERT_TRUE(rel) << rel.error().message;
  ASSERT_EQ(rel->files.size(), 3u);
  http_client::HttpClient blobs;
  for (const auto& f : rel->files) {
    auto target = updater.find_target(release::target_path("1.0.0", f.path));
    ASSERT_TRUE(target);
    const auto dest = dir_ / "fetched" / f.sha256;
    fs::create_directories(dest.parent_path());
    auto got = fetch::download_target(
        blobs, desired["repository"]["blobs_url"].get<std::string>() + f.sha256, *target, dest,
        mtls);
    ASSERT_TRUE(got) << got.error().message;
  }
  // Range resume on a blob.
  const auto& model = *std::find_if(rel->files.begin(), rel->files.end(),
                                    [](const auto& f) { return f.path == "model/model.onnx"; });
  http_client::Options ranged = mtls;
  ranged.range_from = 6;
  auto tail =
      blobs.get(desired["repository"]["blobs_url"].get<std::string>() + model.sha256, ranged);
  ASSERT_TRUE(tail);
  EXPECT_EQ(tail->status, 206);
  EXPECT_EQ(tail->body, "bytes-1");

  // Inventory and audit through the CLI.
  auto csv = cli("inventory export --format csv");
  ASSERT_EQ(csv.exit_code, 0) << csv.err;
  EXPECT_NE(csv.out.find("cam-01,Acme,Box,SN-1,plant-a,line-3"), std::string::npos) << csv.out;
  auto audit = cli("audit");
  ASSERT_EQ(audit.exit_code, 0);
  for (const char* action : {"device.add", "device.enroll", "release.publish", "release.assign"}) {
    EXPECT_NE(audit.out.find(action), std::string::npos) << action << "\n" << audit.out;
  }

  // Revocation stops the device at once, across a restart too.
  ASSERT_EQ(cli("device revoke cam-01").exit_code, 0);
  EXPECT_EQ(checkin(device, "cam-01").status, 403);
  stop_server();
  start_server();
  EXPECT_EQ(checkin(device, "cam-01").status, 403);
  auto shown = cli("device show cam-01");
  EXPECT_NE(shown.out.find("\"revoked\""), std::string::npos);
}

// What the demo and an operator use to provision devices and follow a rollout.
TEST_F(ServerE2E, BootstrapFolderStatusAndWait) {
  ASSERT_EQ(cli("device add cam-01 --site plant-a").exit_code, 0);
  ASSERT_EQ(cli("device add cam-02 --site plant-a").exit_code, 0);

  // The bootstrap folder is complete, loads with the agent's own reader, and holds a token that
  // enrols (the one `device add` printed is void now).
  auto boot = cli("device bootstrap cam-01 --out " + d("boot-01"));
  ASSERT_EQ(boot.exit_code, 0) << boot.err;
  auto loaded = bootstrap::load(dir_ / "boot-01", true);
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded->device_id, "cam-01");
  EXPECT_EQ(loaded->server_urls, std::vector<std::string>{url_});
  EXPECT_EQ(fs::status(dir_ / "boot-01/enrollment-token").permissions() & fs::perms::others_read,
            fs::perms::none);
  auto device = enrol("cam-01", loaded->enrollment_token);
  // An existing folder is never overwritten; an unknown device gets no folder.
  auto again = cli("device bootstrap cam-01 --out " + d("boot-01"));
  EXPECT_NE(again.exit_code, 0);
  EXPECT_NE(again.err.find("exists"), std::string::npos) << again.err;
  EXPECT_EQ(read_file(dir_ / "boot-01/enrollment-token", 1000)->substr(0, 4), "eet_");
  EXPECT_NE(cli("device bootstrap cam-09 --out " + d("boot-09")).exit_code, 0);
  EXPECT_FALSE(fs::exists(dir_ / "boot-09"));

  // status shows what the device reported.
  ASSERT_EQ(checkin(device, "cam-01", "", 0,
                    {{"installed_release", "1.0.0"},
                     {"model_version", "ae-1"},
                     {"runtime", {{"frames_per_second", 29.9}, {"latency_p99_seconds", 0.0042}}}})
                .status,
            200);
  auto status = cli("status");
  ASSERT_EQ(status.exit_code, 0) << status.err;
  EXPECT_NE(status.out.find("cam-01"), std::string::npos);
  EXPECT_NE(status.out.find("29.9"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("4.20"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("not enrolled"), std::string::npos) << status.out;  // cam-02

  // wait: done at once for what holds; a timeout names who is pending; a rollback fails at once.
  auto done = cli("wait --release 1.0.0 cam-01 --timeout 5");
  EXPECT_EQ(done.exit_code, 0) << done.err;
  EXPECT_NE(done.out.find("cam-01: runs 1.0.0"), std::string::npos) << done.out;
  auto pending = cli("wait --release 1.0.0 --timeout 1");  // cam-02 never reported
  EXPECT_NE(pending.exit_code, 0);
  EXPECT_NE(pending.err.find("timed out after 1 s; still waiting for cam-02"), std::string::npos)
      << pending.err;
  EXPECT_NE(cli("wait --online --timeout 1").exit_code, 0);
  ASSERT_EQ(checkin(device, "cam-01", "", 0,
                    {{"last_failure_reason", "release 1.1.0 rolled back: camera down"},
                     {"last_update", {{"release", "1.1.0"}, {"outcome", "rolled_back"}}}})
                .status,
            200);
  const auto start = std::chrono::steady_clock::now();
  auto failed = cli("wait --release 1.1.0 cam-01 --timeout 60");
  EXPECT_NE(failed.exit_code, 0);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 30s);
  EXPECT_NE(failed.err.find("cam-01 did not take release 1.1.0: release 1.1.0 rolled back: camera "
                            "down"),
            std::string::npos)
      << failed.err;
  auto rolled = cli("wait --rolled-back 1.1.0 cam-01 --timeout 5");
  EXPECT_EQ(rolled.exit_code, 0) << rolled.err;
  EXPECT_NE(cli("wait --release 1.0.0 --rolled-back 1.1.0").exit_code, 0);
  EXPECT_NE(cli("wait --release 1.0.0 cam-77 --timeout 1").exit_code, 0);
}

// Replicas in the bootstrap folder: --device-server-url repeated or comma-separated; a bad list
// is refused before a token is made (a new token would void the device's current one).
TEST_F(ServerE2E, BootstrapFolderListsReplicas) {
  ASSERT_EQ(cli("device add cam-03").exit_code, 0);
  auto boot = cli("device bootstrap cam-03 --out " + d("boot-03") + " --device-server-url " + url_ +
                  " --device-server-url https://b.plant:8443,https://c.plant:8443/");
  ASSERT_EQ(boot.exit_code, 0) << boot.err;
  auto loaded = bootstrap::load(dir_ / "boot-03", true);
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded->server_urls,
            (std::vector<std::string>{url_, "https://b.plant:8443", "https://c.plant:8443"}));
  auto written = json::parse_strict(*read_file(dir_ / "boot-03/device.json", 4096));
  ASSERT_TRUE(written);
  EXPECT_EQ((*written)["server_url"], url_) << "older agents read the first server";

  for (const std::string bad : {"http://a.plant", "https://a.plant/x", "https://a,https://a"}) {
    auto refused =
        cli("device bootstrap cam-03 --out " + d("boot-03-bad") + " --device-server-url " + bad);
    EXPECT_NE(refused.exit_code, 0) << bad;
    EXPECT_NE(refused.err.find("--device-server-url"), std::string::npos) << refused.err;
    EXPECT_FALSE(fs::exists(dir_ / "boot-03-bad"));
  }
  // No token was made by the refused calls: the folder's token still enrols.
  enrol("cam-03", loaded->enrollment_token);
}

TEST_F(ServerE2E, HostilePublishesAndBlobRequestsChangeNothing) {
  make_release_source("1.0.0", "model-a");
  ASSERT_EQ(cli("release publish --repo " + d("repo")).exit_code, 0);
  http_client::HttpClient client;
  http_client::Options op;
  op.tls.ca_file = ca_;
  op.bearer_token = admin_;

  // A blob whose content does not match its name.
  const std::string wrong(64, 'a');
  auto mismatch =
      client.request("PUT", url_ + "/api/v1/repository/blobs/sha256/" + wrong, "not that", "", op);
  ASSERT_TRUE(mismatch);
  EXPECT_EQ(mismatch->status, 400) << mismatch->body;
  EXPECT_FALSE(fs::exists(dir_ / "data/repository/blobs/sha256" / wrong));

  // Targets metadata altered after signing.
  const auto metadata = dir_ / "repo/metadata";
  make_release_source("2.0.0", "model-b");
  auto bytes = *read_file(metadata / "2.targets.json", 1 << 22);
  const auto tampered = std::regex_replace(bytes, std::regex("\"2\\.0\\.0\""), "\"2.0.1\"");
  ASSERT_NE(tampered, bytes);
  auto bad_sig =
      client.request("POST", url_ + "/api/v1/releases", tampered, "application/json", op);
  ASSERT_TRUE(bad_sig);
  EXPECT_EQ(bad_sig->status, 400) << bad_sig->body;
  EXPECT_NE(bad_sig->body.find("bad_signature"), std::string::npos) << bad_sig->body;
  // Signed correctly, but its blobs were never uploaded.
  auto no_blobs = client.request("POST", url_ + "/api/v1/releases", bytes, "application/json", op);
  ASSERT_TRUE(no_blobs);
  EXPECT_EQ(no_blobs->status, 400) << no_blobs->body;
  EXPECT_NE(no_blobs->body.find("missing_blob"), std::string::npos);
  // Replaying the already published targets version: a rollback.
  auto replay =
      client.request("POST", url_ + "/api/v1/releases",
                     *read_file(metadata / "1.targets.json", 1 << 22), "application/json", op);
  ASSERT_TRUE(replay);
  EXPECT_EQ(replay->status, 409);
  EXPECT_FALSE(fs::exists(dir_ / "data/repository/metadata/2.targets.json"));
  auto releases = cli("release list --json");
  EXPECT_EQ(json::Json::parse(releases.out)["releases"].size(), 1u);

  // Without a token, nothing is uploaded.
  http_client::Options anonymous;
  anonymous.tls.ca_file = ca_;
  auto anon =
      client.request("POST", url_ + "/api/v1/releases", bytes, "application/json", anonymous);
  EXPECT_EQ(anon->status, 401);

  // Path traversal and malformed names in blob and metadata requests.
  for (const std::string& path : std::vector<std::string>{
           "/repo/blobs/sha256/../../fleet.db", "/repo/blobs/sha256/..%2f..%2ffleet.db",
           "/repo/blobs/sha256/%2e%2e", "/repo/blobs/sha256/" + std::string(64, 'A'),
           "/repo/blobs/sha256/abc", "/repo/metadata/..%2Fpki%2Fca.key", "/repo/metadata/ca.key",
           "/repo/metadata/.root.json"}) {
    auto r = client.get(url_ + path, op);
    ASSERT_TRUE(r) << path;
    EXPECT_GE(r->status, 400) << path;
    EXPECT_LT(r->status, 500) << path;
    EXPECT_EQ(r->body.find("BEGIN"), std::string::npos) << path;
  }
  // A range past the end.
  const auto any_blob =
      fs::directory_iterator(dir_ / "data/repository/blobs/sha256")->path().filename().string();
  http_client::Options past = op;
  past.range_from = 1 << 20;
  auto r416 = client.get(url_ + "/repo/blobs/sha256/" + any_blob, past);
  EXPECT_EQ(r416->status, 416);
}

TEST_F(ServerE2E, SlowLorisIsCutOffAndOtherClientsAreServed) {
  // A client that opens a TLS connection and sends nothing is dropped; the server keeps serving.
  const auto port = std::stoi(url_.substr(url_.rfind(':') + 1));
  auto open_raw = [&] {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    return fd;
  };
  std::vector<int> idle;
  for (int i = 0; i < 20; ++i)
    idle.push_back(open_raw());
  http_client::HttpClient client;
  http_client::Options options;
  options.tls.ca_file = ca_;
  auto health = client.get(url_ + "/healthz", options);
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  // Each silent connection is closed by the server within its handshake deadline (10 s).
  char byte;
  for (int fd : idle) {
    timeval tv{20, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    EXPECT_LE(::recv(fd, &byte, 1, 0), 0);
    ::close(fd);
  }
}

}  // namespace
}  // namespace ef
