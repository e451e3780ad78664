// Idle control-plane traffic of one device (issue 19, "quiet when idle"), with real processes on
// 127.0.0.1: edgefleet-server, edgefleet-agent (telemetry off, so only the check-in connection
// is counted) and its stand-in runtime.
//
//   build/bench/device/agent/idle_traffic_bench [hold_seconds=10] [cycles=6]
//
// The agent's check-ins are held `hold_seconds` (agent --checkin-wait, server --max-wait); the
// bench lets `cycles` holds pass and reads the kernel's counters of the server's end of the
// device's TCP connection (`ss -ti`: payload bytes and segments both ways, ACKs and keep-alive
// probes included). What one idle cycle costs does not depend on how long it was held, so the
// month is extrapolated for the agent's default hold, plus the TCP keep-alive probes that the
// agent's socket sends while a hold is longer than their idle time (two segments each, no
// payload). Bytes on the wire count 52 bytes of IPv4 + TCP header (with timestamps) per segment,
// no link layer.
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>
#include <regex>
#include <thread>

#include "fleet_processes.hpp"

namespace fs = std::filesystem;
using ef::json::Json;

namespace {

constexpr double kHeaderBytesPerSegment = 52;
constexpr double kSecondsPerMonth = 30.0 * 86400;
// The agent's defaults (apps/edgefleet-agent, src/device/server_link).
constexpr double kDefaultHoldSeconds = 900;
constexpr double kKeepaliveIdleSeconds = 240;
constexpr double kDefaultFiguresEverySeconds = 3600;

struct SocketCounters {
  double bytes = 0, segments = 0;  // both directions

  double wire_bytes() const { return bytes + kHeaderBytesPerSegment * segments; }
};

double field(const std::string& text, const std::string& name) {
  const std::regex re("\\b" + name + ":([0-9]+)");
  std::smatch m;
  return std::regex_search(text, m, re) ? std::stod(m[1]) : 0;
}

// The server's established sockets on `port`, by the device's address:port.
std::map<std::string, SocketCounters> read_counters(int port) {
  const auto out = ef::testing::run_command(
      "ss -tniH state established '( sport = :" + std::to_string(port) + " )'");
  std::map<std::string, SocketCounters> sockets;
  const std::regex entry_re(":" + std::to_string(port) + "\\s+(\\S+)\\s*\\n([^\\n]*)");
  for (std::sregex_iterator it(out.out.begin(), out.out.end(), entry_re), end; it != end; ++it) {
    const std::string info = (*it)[2];
    sockets[(*it)[1]] = {field(info, "bytes_sent") + field(info, "bytes_received"),
                         field(info, "segs_out") + field(info, "segs_in")};
  }
  return sockets;
}

int port_of(const std::string& url) {
  return std::stoi(url.substr(url.rfind(':') + 1));
}

// Bytes and segments of one idle check-in cycle, over `cycles` holds of an agent started with
// `figures_every` (seconds between check-ins that carry the live figures); nullopt when a
// connection opened or closed during the window (its bytes cannot be counted).
std::optional<SocketCounters> measure_cycle(ef::testing::Fleet& fleet, int hold, int cycles,
                                            int figures_every) {
  const pid_t agent =
      fleet.start_agent("idle-1", {},
                        {"--checkin-wait", std::to_string(hold), "--report-figures-every",
                         std::to_string(figures_every), "--no-telemetry"});
  // The first (full) report and its answer pass; the CLI's connections close.
  fleet.wait_for_device(
      "idle-1", [](const Json& d) { return d.contains("report"); }, std::chrono::seconds(60));
  std::this_thread::sleep_for(std::chrono::seconds(hold + 2));
  const int port = port_of(fleet.url());
  const auto before = read_counters(port);
  std::this_thread::sleep_for(std::chrono::seconds(hold * cycles));
  const auto after = read_counters(port);
  ef::testing::stop_process(agent);
  SocketCounters total;
  for (const auto& [peer, c] : after) {
    const auto old = before.find(peer);
    if (old == before.end()) return std::nullopt;
    total.bytes += (c.bytes - old->second.bytes) / cycles;
    total.segments += (c.segments - old->second.segments) / cycles;
  }
  if (after.size() != before.size()) return std::nullopt;
  return total;
}

void print_cycle(const char* what, const SocketCounters& c) {
  std::printf("  %-42s %5.0f bytes TLS payload, %4.1f segments, %5.0f bytes on the wire\n", what,
              c.bytes, c.segments, c.wire_bytes());
}

}  // namespace

int main(int argc, char** argv) {
  const int hold = argc > 1 ? std::stoi(argv[1]) : 10;
  const int cycles = argc > 2 ? std::stoi(argv[2]) : 6;
  if (ef::testing::run_command("ss -V").exit_code != 0) {
    std::printf("ss (Debian's iproute2) is not installed: idle_traffic_bench skipped\n");
    return 0;
  }
  ef::testing::Fleet fleet(fs::temp_directory_path() /
                           ("ef-idle-bench-" + std::to_string(::getpid())));
  fleet.start_server({"--max-wait", std::to_string(hold)});
  fleet.add_device("idle-1");
  const auto plain = measure_cycle(fleet, hold, cycles, 86'400);
  const auto with_figures = measure_cycle(fleet, hold, cycles, 1);
  if (!plain || !with_figures) {
    std::printf("a connection opened or closed during a window: run again\n");
    return 1;
  }
  const double holds_per_month = kSecondsPerMonth / kDefaultHoldSeconds;
  const double figure_holds = kSecondsPerMonth / kDefaultFiguresEverySeconds;
  const double probes_per_hold =
      std::ceil((kDefaultHoldSeconds - kKeepaliveIdleSeconds) / kKeepaliveIdleSeconds);
  const double probe_bytes = 2 * kHeaderBytesPerSegment;
  const double month = plain->wire_bytes() * (holds_per_month - figure_holds) +
                       with_figures->wire_bytes() * figure_holds +
                       probes_per_hold * probe_bytes * holds_per_month;
  std::printf(
      "idle control-plane traffic of one device (telemetry off), on 127.0.0.1, %d holds of "
      "%d s per row, on kept-alive TLS connections\n",
      cycles, hold);
  print_cycle("an idle check-in ({} and its 304)", *plain);
  print_cycle("one carrying the live figures", *with_figures);
  std::printf("  a TCP keep-alive probe and its answer       %5.0f bytes on the wire\n",
              probe_bytes);
  std::printf(
      "  a month at the defaults (%.0f s holds, figures every %.0f s, %.0f probes per hold): "
      "%.2f MB per device (goal <= 3)\n",
      kDefaultHoldSeconds, kDefaultFiguresEverySeconds, probes_per_hold, month / 1e6);
  std::printf("  the same with 300 s holds: %.2f MB; with 25 s holds and no keep-alive: %.2f MB\n",
              (plain->wire_bytes() + probe_bytes) * kSecondsPerMonth / 300 / 1e6,
              plain->wire_bytes() * kSecondsPerMonth / 25 / 1e6);
  return 0;
}
