// The agent's parts on their own: bootstrap folder, journal, launch spec, release layout,
// supervisor, hardware facts, and resumable blob downloads against hostile servers.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "core/bootstrap/bootstrap.hpp"
#include "core/common/fs.hpp"
#include "core/crypto/hash.hpp"
#include "device/agent/launch.hpp"
#include "device/blob_download/blob_download.hpp"
#include "device/hwinfo/hwinfo.hpp"
#include "device/installed_releases/layout.hpp"
#include "device/runtime_link/runtime_link.hpp"
#include "device/supervisor/supervisor.hpp"
#include "device/update_journal/journal.hpp"
#include "test_http_server.hpp"

namespace ef {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class Dir : public ::testing::Test {
 public:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("ef-agent-parts-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  void write(const std::string& rel, const std::string& content) {
    fs::create_directories((dir_ / rel).parent_path());
    std::ofstream(dir_ / rel, std::ios::binary) << content;
  }
  fs::path dir_;
};

const char* kCa = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

using Bootstrap = Dir;

TEST_F(Bootstrap, ReadsACompleteFolder) {
  write("b/device.json",
        R"({"device_id": "line3-cam07", "server_url": "https://fleet.plant:8443/"})");
  write("b/server-ca.pem", kCa);
  write("b/enrollment-token", "eet_0123\n");
  write("b/network.json", R"({"dhcp": true})");
  auto b = bootstrap::load(dir_ / "b", true);
  ASSERT_TRUE(b) << b.error().message;
  EXPECT_EQ(b->device_id, "line3-cam07");
  EXPECT_EQ(b->server_url, "https://fleet.plant:8443");
  EXPECT_EQ(b->enrollment_token, "eet_0123");
  EXPECT_TRUE(b->network.has_value());
}

TEST_F(Bootstrap, RefusesTruncatedOrDamagedFolders) {
  struct Case {
    const char* what;
    std::function<void(Bootstrap*)> damage;
    const char* words;
  };
  const std::vector<Case> cases = {
      {"no folder", [](Bootstrap* t) { fs::remove_all(t->dir_ / "b"); }, "does not exist"},
      {"no device.json", [](Bootstrap* t) { fs::remove(t->dir_ / "b/device.json"); },
       "device.json"},
      {"truncated device.json",
       [](Bootstrap* t) { t->write("b/device.json", R"({"device_id": "x", "server_u)"); },
       "device.json"},
      {"bad id",
       [](Bootstrap* t) {
         t->write("b/device.json", R"({"device_id": "../x", "server_url": "https://a"})");
       },
       "device id"},
      {"plain http",
       [](Bootstrap* t) {
         t->write("b/device.json", R"({"device_id": "a", "server_url": "http://a"})");
       },
       "https://"},
      {"url with path",
       [](Bootstrap* t) {
         t->write("b/device.json", R"({"device_id": "a", "server_url": "https://a/x?y"})");
       },
       "only a host and port"},
      {"truncated CA",
       [](Bootstrap* t) { t->write("b/server-ca.pem", "-----BEGIN CERTIFICATE-----\nMII"); },
       "server-ca.pem"},
      {"no token", [](Bootstrap* t) { fs::remove(t->dir_ / "b/enrollment-token"); },
       "no enrollment-token"},
      {"binary token",
       [](Bootstrap* t) { t->write("b/enrollment-token", std::string("eet\x01\x02", 5)); },
       "non-printable"},
      {"bad network", [](Bootstrap* t) { t->write("b/network.json", "[1,2"); }, "network.json"},
  };
  for (const auto& c : cases) {
    SetUp();
    write("b/device.json", R"({"device_id": "cam", "server_url": "https://fleet:8443"})");
    write("b/server-ca.pem", kCa);
    write("b/enrollment-token", "eet_1");
    c.damage(this);
    auto b = bootstrap::load(dir_ / "b", true);
    ASSERT_FALSE(b) << c.what;
    EXPECT_NE(b.error().message.find(c.words), std::string::npos)
        << c.what << ": " << b.error().message;
  }
}

using Journal = Dir;

TEST_F(Journal, CommitsDurablyAndRoundTrips) {
  auto j = update_journal::Journal::open(dir_);
  ASSERT_TRUE(j);
  update_journal::State s;
  s.committed = "1.0.0";
  s.update = update_journal::Update{
      "1.1.0", "1.0.0", update_journal::Phase::trial, update_journal::Kind::model_swap, 2, ""};
  s.failed["0.9.0"] = "crashed";
  ASSERT_TRUE(j->commit(s, "trial"));
  auto again = update_journal::Journal::open(dir_);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->state().committed, "1.0.0");
  EXPECT_EQ(again->state().update->phase, update_journal::Phase::trial);
  EXPECT_EQ(again->state().update->kind, update_journal::Kind::model_swap);
  EXPECT_EQ(again->state().update->trial_starts, 2);
  EXPECT_EQ(again->state().failed.at("0.9.0"), "crashed");
  EXPECT_NE(read_file(dir_ / "journal.log", 4096)->find("trial phase=trial target=1.1.0"),
            std::string::npos);
}

TEST_F(Journal, RefusesACorruptStateInsteadOfGuessing) {
  write(
      "state.json",
      R"({"format": 1, "committed": "1.0.0", "failed": {}, "update": {"target": "2", "phase": "dancing"}})");
  auto j = update_journal::Journal::open(dir_);
  ASSERT_FALSE(j);
  EXPECT_NE(j.error().message.find("corrupt"), std::string::npos);
}

TEST(Launch, ParsesAndFillsPlaceholders) {
  auto l = agent::parse_launch(
      R"({"command": ["code/run", "--socket", "{control_socket}", "--r={release}"],
                                    "health_deadline_seconds": 5, "model_hot_swap": false})");
  ASSERT_TRUE(l) << l.error().message;
  EXPECT_EQ(l->health_deadline, 5s);
  EXPECT_FALSE(l->model_hot_swap);
  auto spec = agent::launch_spec(*l, "/data/releases/1.0.0",
                                 {{"control_socket", "/run/s"}, {"release", "1.0.0"}}, "/log");
  EXPECT_EQ(spec.argv, (std::vector<std::string>{"/data/releases/1.0.0/code/run", "--socket",
                                                 "/run/s", "--r=1.0.0"}));
  EXPECT_EQ(spec.env.at("EDGEFLEET_RELEASE"), "1.0.0");
}

TEST(Launch, RefusesProgramsOutsideTheRelease) {
  for (const char* bad :
       {R"({"command": ["/bin/sh", "-c", "x"]})", R"({"command": ["../../bin/sh"]})",
        R"({"command": []})", R"({"command": ["code/run"], "health_deadline_seconds": 0})",
        R"({"command": "code/run"})", R"({"command": ["code/run"], "command": ["x"]})"}) {
    EXPECT_FALSE(agent::parse_launch(bad)) << bad;
  }
}

using Layout = Dir;

TEST_F(Layout, SwitchesCurrentAtomicallyAndCleansUp) {
  installed_releases::Layout layout(dir_);
  fs::create_directories(layout.release("1.0.0"));
  fs::create_directories(layout.release("1.1.0"));
  fs::create_directories(layout.release("0.9.0"));
  EXPECT_FALSE(layout.current_version());
  ASSERT_TRUE(layout.switch_to("1.0.0"));
  EXPECT_EQ(layout.current_version(), "1.0.0");
  ASSERT_TRUE(layout.switch_to("1.1.0"));
  EXPECT_EQ(layout.current_version(), "1.1.0");
  EXPECT_EQ(fs::read_symlink(dir_ / "current"), "releases/1.1.0");
  EXPECT_FALSE(layout.switch_to("2.0.0"));
  EXPECT_EQ(layout.current_version(), "1.1.0");
  ASSERT_TRUE(layout.remove_all_but({"1.1.0", "1.0.0"}));
  EXPECT_FALSE(fs::exists(layout.release("0.9.0")));
  EXPECT_TRUE(fs::exists(layout.release("1.0.0")));
}

using Supervisor = Dir;

TEST_F(Supervisor, RestartsACrashedChildWithBackoffAndStopsItsGroup) {
  supervisor::Supervisor sup;
  write("crash.sh", "#!/bin/sh\necho started >> starts.log\nsleep 0.2\nexit 7\n");
  fs::permissions(dir_ / "crash.sh", fs::perms::owner_all);
  sup.start({{(dir_ / "crash.sh").string()}, dir_, {}, dir_ / "out.log"});
  std::this_thread::sleep_for(2500ms);  // runs at 0, ~1.2 s, ~3.2 s: two or three starts
  auto snap = sup.snapshot();
  EXPECT_GE(snap.starts, 2);
  EXPECT_LE(snap.starts, 3);
  EXPECT_EQ(snap.last_exit.substr(0, 6), "exit 7");
  sup.stop();
  const int starts = snap.starts;
  std::this_thread::sleep_for(1500ms);
  EXPECT_LE(sup.snapshot().starts, starts + 1);
  EXPECT_FALSE(sup.snapshot().running);
}

TEST_F(Supervisor, NoRestartsWhilePausedAndExecFailuresAreReported) {
  supervisor::Supervisor sup;
  sup.set_restarts(false);
  sup.start({{"/bin/sh", "-c", "exit 2"}, dir_, {}, {}});
  std::this_thread::sleep_for(1500ms);
  EXPECT_EQ(sup.snapshot().starts, 1);
  EXPECT_EQ(sup.snapshot().last_exit, "exit 2");
  sup.start({{(dir_ / "missing").string()}, dir_, {}, {}});
  EXPECT_NE(sup.snapshot().last_exit.find("cannot start"), std::string::npos)
      << sup.snapshot().last_exit;
}

TEST_F(Supervisor, StopEndsTheWholeProcessGroup) {
  supervisor::Supervisor sup;
  sup.start({{"/bin/sh", "-c", "sleep 300 & echo $! > child.pid; wait"}, dir_, {}, {}});
  for (int i = 0; i < 50 && !fs::exists(dir_ / "child.pid"); ++i)
    std::this_thread::sleep_for(20ms);
  std::this_thread::sleep_for(50ms);
  const pid_t child = std::stoi(*read_file(dir_ / "child.pid", 100));
  sup.stop(500ms);
  std::this_thread::sleep_for(100ms);
  // Gone, or a zombie waiting for init to reap it: either way no longer running.
  auto stat = read_file("/proc/" + std::to_string(child) + "/stat", 4096);
  const bool alive = stat && stat->find(") Z ") == std::string::npos;
  EXPECT_FALSE(alive) << "the runtime's own child survived";
}

// Voluntary context switches of every thread of this process: how often they went to sleep.
long voluntary_switches() {
  long total = 0;
  for (const auto& task : fs::directory_iterator("/proc/self/task")) {
    std::ifstream status(task.path() / "status");
    for (std::string line; std::getline(status, line);)
      if (line.starts_with("voluntary_ctxt_switches:")) total += std::stol(line.substr(24));
  }
  return total;
}

TEST_F(Supervisor, SleepsWhileTheChildRunsAndStillSeesItsExit) {
  supervisor::Supervisor sup;
  sup.set_restarts(false);
  sup.start({{"/bin/sh", "-c", "sleep 1.5; exit 4"}, dir_, {}, {}});
  std::this_thread::sleep_for(100ms);
  const long before = voluntary_switches();
  std::this_thread::sleep_for(1000ms);
  // This thread's own sleep is one; a monitor that polled every 50 ms would add about 20.
  EXPECT_LE(voluntary_switches() - before, 4) << "the monitor woke up while nothing happened";
  const auto until = std::chrono::steady_clock::now() + 5s;
  while (sup.snapshot().exits == 0 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(10ms);
  EXPECT_EQ(sup.snapshot().last_exit, "exit 4");
  EXPECT_FALSE(sup.snapshot().running);
}

TEST(Hwinfo, ReadsDmiAndDeviceTree) {
  const fs::path root = fs::temp_directory_path() / ("ef-hw-" + std::to_string(::getpid()));
  fs::create_directories(root / "sys/class/dmi/id");
  fs::create_directories(root / "proc/device-tree");
  std::ofstream(root / "sys/class/dmi/id/sys_vendor") << "Advantech\n";
  std::ofstream(root / "proc/device-tree/model") << std::string("Jetson Orin\0", 12);
  std::ofstream(root / "proc/device-tree/serial-number") << std::string("1423\0", 5);
  std::ofstream(root / "proc/cpuinfo") << "processor\t: 0\nmodel name\t: Cortex-A78AE\n";
  std::ofstream(root / "proc/meminfo") << "MemTotal:       16314880 kB\n";
  auto f = hwinfo::collect(root, root);
  EXPECT_EQ(f.make, "Advantech");
  EXPECT_EQ(f.model, "Jetson Orin");
  EXPECT_EQ(f.serial, "1423");
  EXPECT_EQ(f.cpu, "Cortex-A78AE");
  EXPECT_EQ(f.memory_bytes, 16314880ull * 1024);
  EXPECT_GT(f.disk_bytes, 0u);
  fs::remove_all(root);
}

// Blob downloads against a server that misbehaves.
class BlobDownload : public Dir {
 protected:
  void serve(std::function<testing::Reply(const testing::Request&)> handler) {
    server_.route("/blobs/", [this, handler](const testing::Request& r) {
      std::lock_guard lock(mu_);
      seen_.push_back(r);
      return handler(r);
    });
  }
  Status fetch(blob_download::Limits limits = {}) {
    http_client::HttpClient client;
    return blob_download::fetch_blob(client, server_.url("/blobs/" + sha_), sha_, content_.size(),
                                     dir_ / "cache", {}, limits);
  }
  std::string cached() { return *read_file(dir_ / "cache" / sha_, 1 << 24); }

  std::string content_ = std::string(300000, 'b') + "end";
  std::string sha_ = crypto::sha256_hex(content_);
  testing::TestHttpServer server_;
  std::mutex mu_;
  std::vector<testing::Request> seen_;
};

TEST_F(BlobDownload, DownloadsAndVerifies) {
  serve([this](const testing::Request&) { return testing::Reply{.body = content_}; });
  ASSERT_TRUE(fetch());
  EXPECT_EQ(cached(), content_);
  ASSERT_TRUE(fetch());  // already there: no second request
  EXPECT_EQ(seen_.size(), 1u);
}

TEST_F(BlobDownload, ResumesAnInterruptedDownloadWithRange) {
  int calls = 0;
  serve([&](const testing::Request&) {
    return testing::Reply{.body = content_, .close_after_bytes = ++calls == 1 ? 100000 : SIZE_MAX};
  });
  auto first = fetch();
  ASSERT_FALSE(first);
  EXPECT_EQ(first.error().code, Errc::network);
  EXPECT_EQ(blob_download::bytes_on_disk(dir_ / "cache", sha_), 100000u);
  ASSERT_TRUE(fetch());
  EXPECT_EQ(cached(), content_);
  ASSERT_EQ(seen_.size(), 2u);
  EXPECT_EQ(seen_[1].headers.at("range"), "bytes=100000-");
}

TEST_F(BlobDownload, StartsOverWhenTheServerIgnoresRange) {
  int calls = 0;
  serve([&](const testing::Request&) {
    return testing::Reply{.body = content_,
                          .close_after_bytes = ++calls == 1 ? 5000 : SIZE_MAX,
                          .honour_range = false};
  });
  ASSERT_FALSE(fetch());
  ASSERT_TRUE(fetch());
  EXPECT_EQ(cached(), content_);
}

TEST_F(BlobDownload, RefusesEndlessData) {
  serve([this](const testing::Request&) {
    return testing::Reply{.body = content_, .endless = true};
  });
  auto st = fetch();
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Errc::too_large);
  EXPECT_FALSE(fs::exists(dir_ / "cache" / sha_));
  EXPECT_FALSE(fs::exists(dir_ / "cache" / (sha_ + ".partial")));
}

TEST_F(BlobDownload, GivesUpOnATricklingServer) {
  serve([this](const testing::Request&) {
    return testing::Reply{.body = content_, .delay_per_byte = 20ms};
  });
  auto st = fetch({.min_bytes_per_second = 1000, .low_speed_window = 1s});
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Errc::timeout);
  EXPECT_FALSE(fs::exists(dir_ / "cache" / sha_));
}

TEST_F(BlobDownload, EnforcesATotalDeadline) {
  // Fast enough for the low-speed check, too slow for the deadline.
  serve([this](const testing::Request&) {
    return testing::Reply{.body = content_, .delay_per_byte = 1ms};
  });
  auto st = fetch({.min_bytes_per_second = 10,
                   .low_speed_window = 30s,
                   .deadline_base = 1s,
                   .assumed_bytes_per_second = 1 << 30});
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Errc::timeout);
}

TEST_F(BlobDownload, RefusesTheWrongBytesAndDropsThem) {
  serve([this](const testing::Request&) {
    std::string evil = content_;
    evil[1000] = 'X';
    return testing::Reply{.body = evil};
  });
  auto st = fetch();
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Errc::mismatch);
  EXPECT_FALSE(fs::exists(dir_ / "cache" / sha_));
  EXPECT_FALSE(fs::exists(dir_ / "cache" / (sha_ + ".partial")));
}

TEST_F(BlobDownload, ReportsMissingBlobsAndGarbage) {
  serve([](const testing::Request&) { return testing::Reply{.status = 404, .body = "nope"}; });
  EXPECT_EQ(fetch().error().code, Errc::not_found);
  testing::TestHttpServer garbage;
  garbage.route("/blobs/", [](const testing::Request&) {
    return testing::Reply{.body = "\x01\x02\x03", .raw = true};
  });
  http_client::HttpClient client;
  EXPECT_FALSE(blob_download::fetch_blob(client, garbage.url("/blobs/" + sha_), sha_,
                                         content_.size(), dir_ / "cache", {}));
}

// The runtime figures the agent reports come from the runtime's Prometheus exposition.
TEST(RuntimeStats, ReadsTheFiguresOfTheCurrentModel) {
  const std::string text =
      "# HELP edgefleet_runtime_frames_per_second Frames scored per second.\n"
      "# TYPE edgefleet_runtime_frames_per_second gauge\n"
      "edgefleet_runtime_frames_per_second 29.5\n"
      "edgefleet_runtime_uptime_seconds 120.25\n"
      "edgefleet_runtime_frames_processed_total{model_version=\"ae-1\"} 1000\n"
      "edgefleet_runtime_frames_processed_total{model_version=\"ae-2\"} 500\n"
      "edgefleet_runtime_frames_dropped_total{reason=\"queue_full\"} 2\n"
      "edgefleet_runtime_frames_dropped_total{reason=\"camera_overrun\"} 1\n"
      "edgefleet_runtime_inference_duration_recent_seconds{model_version=\"ae-1\",quantile=\"0."
      "99\"} "
      "0.009\n"
      "edgefleet_runtime_inference_duration_recent_seconds{model_version=\"ae-2\",quantile=\"0.5\"}"
      " "
      "0.002\n"
      "edgefleet_runtime_inference_duration_recent_seconds{model_version=\"ae-2\",quantile=\"0."
      "99\"} "
      "0.004\n"
      "edgefleet_runtime_other_total 7\n";
  auto stats = runtime_link::parse_stats(text, "ae-2");
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_EQ(stats->frames_per_second, 29.5);
  EXPECT_EQ(stats->uptime_seconds, 120.25);
  EXPECT_EQ(stats->frames_processed, 1500);  // the runtime's total, over every model it ran
  EXPECT_EQ(stats->frames_dropped, 3);
  EXPECT_EQ(stats->latency_p99_seconds, 0.004);

  // No samples yet for a model: p99 is unknown, not another model's figure.
  auto fresh = runtime_link::parse_stats(text, "ae-3");
  ASSERT_TRUE(fresh);
  EXPECT_FALSE(fresh->latency_p99_seconds);
  // A NaN quantile (an empty window) is unknown too.
  auto nan = runtime_link::parse_stats(
      "edgefleet_runtime_inference_duration_recent_seconds{model_version=\"a\",quantile=\"0.99\"} "
      "NaN\n",
      "a");
  ASSERT_TRUE(nan);
  EXPECT_FALSE(nan->latency_p99_seconds);
}

TEST(RuntimeStats, RefusesBrokenLinesOfKnownSeries) {
  for (const char* bad :
       {"edgefleet_runtime_frames_per_second\n", "edgefleet_runtime_frames_per_second fast\n",
        "edgefleet_runtime_frames_per_second 1x\n",
        "edgefleet_runtime_frames_dropped_total{reason=\"q} 1\n",
        "edgefleet_runtime_frames_dropped_total{reason} 1\n",
        "edgefleet_runtime_frames_dropped_total{reason=\"q\" 1\n"}) {
    auto stats = runtime_link::parse_stats(bad, "a");
    EXPECT_FALSE(stats) << bad;
    if (!stats) {
      EXPECT_NE(stats.error().message.find("runtime metrics line"), std::string::npos);
    }
  }
  // Unknown series are skipped whatever they hold.
  EXPECT_TRUE(runtime_link::parse_stats("something_else{{{ nonsense\n\n# comment\n", "a"));
}

}  // namespace
}  // namespace ef
