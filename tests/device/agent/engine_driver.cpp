// Test driver: runs the agent's update engine alone (no enrollment, no check-in) so tests can
// kill it with SIGKILL at any fail point and start it again, as a power cut would.
//
//   engine_driver --data DIR --trust-root ROOT --metadata-url URL --blobs-url URL --release V
//
// It recovers whatever the journal says, applies release V, prints the check-in report as one
// JSON line, stops the runtime and exits 0 (1 when the update failed or rolled back; stderr then
// says "apply: <error code>: <message>").
#include <CLI/CLI.hpp>
#include <iostream>
#include <thread>

#include "core/common/fs.hpp"
#include "device/agent/fail_point.hpp"
#include "device/agent/update_engine.hpp"

int main(int argc, char** argv) {
  std::string data, root, metadata_url, blobs_url, version;
  int deadline_poll_ms = 100;
  CLI::App app{"engine driver"};
  app.add_option("--data", data)->required();
  app.add_option("--trust-root", root)->required();
  app.add_option("--metadata-url", metadata_url)->required();
  app.add_option("--blobs-url", blobs_url)->required();
  app.add_option("--release", version)->required();
  app.add_option("--poll-ms", deadline_poll_ms);
  CLI11_PARSE(app, argc, argv);

  if (auto armed = ef::agent::arm_fail_point_from_environment(); !armed) {
    std::cerr << armed.error().message << "\n";
    return 2;
  }
  ef::supervisor::Supervisor supervisor;
  auto journal = ef::update_journal::Journal::open(data);
  if (!journal) {
    std::cerr << journal.error().message << "\n";
    return 2;
  }
  ef::agent::EngineConfig config;
  config.data_dir = data;
  config.device_id = "driver";
  config.control_socket = std::filesystem::path(data) / "run" / "runtime.sock";
  config.trust_root_json = *ef::read_file(root, 1 << 20);
  config.health_poll = std::chrono::milliseconds(deadline_poll_ms);
  config.download_limits.min_bytes_per_second = 1000;
  config.download_limits.low_speed_window = std::chrono::seconds(2);
  ef::agent::UpdateEngine engine(config, std::move(*journal), supervisor);
  int rc = 0;
  if (auto st = engine.recover(); !st) {
    std::cerr << "recover: " << st.error().message << "\n";
    rc = 1;
  }
  (void)engine.note_desired(version);
  if (auto st = engine.apply({version, metadata_url, blobs_url}); !st) {
    // The code first, so tests can assert it: "apply: rolled_back: release 1.2.0 rolled back: ..."
    std::cerr << "apply: " << ef::errc_name(st.error().code) << ": " << st.error().message << "\n";
    rc = 1;
  }
  // Report what the runtime says once it is up (it may just have been started).
  for (int i = 0; i < 50 && engine.model_version().empty(); ++i) {
    engine.refresh_runtime_facts();
    if (engine.model_version().empty()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::cout << engine.report().dump() << std::endl;
  return rc;
}
