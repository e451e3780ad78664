#include "report.hpp"

#include <cstdio>
#include <fstream>
#include <sstream>

#include "run_command.hpp"

namespace ef::scale {

namespace fs = std::filesystem;

namespace {
std::string fixed(double v, int decimals = 1) {
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", decimals, v);
  return text;
}

std::string joined(const std::vector<double>& values, const char* unit, int decimals = 0) {
  std::string out;
  for (double v : values)
    out += (out.empty() ? "" : " / ") + fixed(v, decimals) + unit;
  return out;
}
}  // namespace

std::string markdown(const Figures& f) {
  std::ostringstream t;
  t << "| figure | value |\n| --- | --- |\n"
    << "| devices (mTLS long-polls, own key and certificate) | " << f.devices << " |\n"
    << "| replicas (`--threads " << f.threads << "`) / generator processes | " << f.replicas
    << " / " << f.generators << " |\n"
    << "| enrolment (register + CSR), all devices | " << fixed(f.enrol_s) << " s |\n"
    << "| connect all (handshake, check-in, parked) | " << fixed(f.connect_s) << " s |\n"
    << "| steady state: check-ins/s (long-polls renewed every " << f.max_wait << " s) | "
    << fixed(f.checkins_per_s) << " over " << fixed(f.steady_s, 0) << " s |\n"
    << "| steady state: telemetry batches/s (one a device a minute) / remote writes relayed | "
    << (f.telemetry_per_s < 0 ? std::string("off")
                              : fixed(f.telemetry_per_s) + " / " + std::to_string(f.remote_writes))
    << " |\n"
    << "| errors (answers other than 200/304) | " << f.errors << " |\n"
    << "| connection failures before the kill / in all | " << f.io_failures_before_kill << " / "
    << f.io_failures << " |\n"
    << "| assign to all: devices answered 200 with the release | " << f.updated << " of "
    << f.devices << " (" << f.duplicates << " got it more than once) |\n"
    << "| assign to all: CLI took / answers p50 / max after its start | "
    << fixed(f.assign_cli_ms, 0) << " / " << fixed(f.assign_p50_ms, 0) << " / "
    << fixed(f.assign_max_ms, 0) << " ms |\n"
    << "| failover: one replica SIGKILLed, its devices parked on the others after | "
    << (f.failover_s < 0 ? std::string("not run") : fixed(f.failover_s) + " s") << " |\n"
    << "| server RSS per replica (steady) | " << joined(f.replica_mib, " MiB") << " |\n"
    << "| server memory per parked device | " << fixed(f.kib_per_device) << " KiB |\n"
    << "| server CPU per replica (steady, % of a core) | " << joined(f.replica_cpu_percent, "%", 1)
    << " |\n"
    << "| PostgreSQL memory (Pss of all its processes) | " << fixed(f.postgres_mib) << " MiB |\n"
    << "| generator memory per simulated device | " << fixed(f.generator_kib_per_device)
    << " KiB |\n";
  return t.str();
}

Status write_csv(const fs::path& file, const std::vector<Sample>& samples) {
  std::ofstream out(file, std::ios::trunc);
  const std::size_t replicas = samples.empty() ? 0 : samples.front().replicas.size();
  out << "t_s,phase,connected,checkins,errors,io_failures,updates,connect_p99_ms,telemetry";
  for (std::size_t r = 0; r < replicas; ++r)
    out << ",replica" << r << "_mib,replica" << r << "_cpu_s";
  out << ",postgres_mib,generators_mib\n";
  for (const auto& s : samples) {
    out << fixed(s.t) << ',' << s.phase << ',' << s.connected << ',' << s.checkins << ','
        << s.errors << ',' << s.io_failures << ',' << s.updates << ',' << fixed(s.p99_ms) << ','
        << s.telemetry;
    for (const auto& r : s.replicas) {  // a killed replica's are left empty: no line to zero
      if (r.rss_kib == 0)
        out << ",,";
      else
        out << ',' << fixed(r.rss_kib / 1024.0) << ',' << fixed(r.cpu_seconds, 2);
    }
    out << ',' << fixed(s.postgres.rss_kib / 1024.0) << ',' << fixed(s.generators.rss_kib / 1024.0)
        << '\n';
  }
  out.close();
  if (!out) return make_error(Errc::io, "writing " + file.string());
  return {};
}

std::string render_plots(const fs::path& csv, const fs::path& out_dir, int replicas) {
  if (testing::run_command("command -v gnuplot").exit_code != 0)
    return "gnuplot is not installed (apt-get install gnuplot-nox): CSV only";
  const std::string script = std::string(EF_SOURCE_DIR) + "/bench/scale/plots.gp";
  auto r =
      testing::run_command("gnuplot -e \"csv='" + csv.string() + "'; out='" + out_dir.string() +
                           "'; replicas=" + std::to_string(replicas) + "\" " + script);
  return r.exit_code == 0 ? "" : "gnuplot failed: " + r.err;
}

Status update_readme(const fs::path& file, const std::string& text) {
  std::ifstream in(file);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string readme = ss.str();
  const std::string begin = "<!-- scale-run:begin -->", end = "<!-- scale-run:end -->";
  const auto b = readme.find(begin), e = readme.find(end);
  if (b == std::string::npos || e == std::string::npos || e < b) {
    readme += "\n" + begin + "\n" + text + end + "\n";
  } else {
    readme.replace(b + begin.size(), e - b - begin.size(), "\n" + text);
  }
  std::ofstream out(file, std::ios::trunc);
  out << readme;
  out.close();
  if (!out) return make_error(Errc::io, "writing " + file.string());
  return {};
}

}  // namespace ef::scale
