// A run's figures: the table (Markdown, printed and written into a README between markers), the
// per-second time series as CSV, and PNG plots of it rendered by gnuplot (plots.gp) when gnuplot
// is installed.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "core/common/result.hpp"
#include "monitor.hpp"

namespace ef::scale {

struct Figures {
  int devices = 0, replicas = 0, generators = 0, threads = 0, max_wait = 0;
  double steady_s = 0, enrol_s = 0, connect_s = 0, checkins_per_s = 0;
  double telemetry_per_s = -1;  // -1: telemetry off
  long remote_writes = 0;       // requests the replicas relayed to the remote-write sink
  long errors = 0, io_failures = 0, io_failures_before_kill = 0;
  double assign_cli_ms = 0, assign_p50_ms = 0, assign_max_ms = 0;
  long updated = 0, duplicates = 0;
  double failover_s = -1;  // -1: no replica was killed
  std::vector<double> replica_mib, replica_cpu_percent;
  double kib_per_device = 0, postgres_mib = 0, generator_kib_per_device = 0;
  std::string command, machine;
};

std::string markdown(const Figures& f);
Status write_csv(const std::filesystem::path& file, const std::vector<Sample>& samples);
// "" when the PNGs were rendered, else why not.
std::string render_plots(const std::filesystem::path& csv, const std::filesystem::path& out_dir,
                         int replicas);
// Replaces the text between "<!-- scale-run:begin -->" and "<!-- scale-run:end -->" in the file,
// or appends both markers with the text when the file has none.
Status update_readme(const std::filesystem::path& file, const std::string& text);

}  // namespace ef::scale
