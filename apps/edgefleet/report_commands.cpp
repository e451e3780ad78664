// edgefleet report cells --shift current|previous|NAME: per cell figures over a shift (reject
// rate, override rate, throughput, operator interactions). The shift schedules come from the
// server (GET /api/v1/shifts, a read-only token is enough), the figures from Prometheus
// (--prometheus or EDGEFLEET_PROMETHEUS_URL). See docs/telemetry.md, "Shifts".
#include <cstdlib>
#include <iostream>

#include "cli/cell_report/cell_report.hpp"
#include "commands.hpp"
#include "core/common/time.hpp"
#include "server_flags.hpp"

namespace ef::cli {
namespace {

struct ReportOptions {
  std::string shift;
  std::string site;
  std::string prometheus;
  std::string output = "table";
  std::string at;  // YYYY-MM-DDTHH:MM:SSZ; empty: now
};

std::string prometheus_url(const ReportOptions& o) {
  if (!o.prometheus.empty()) return o.prometheus;
  if (const char* env = std::getenv("EDGEFLEET_PROMETHEUS_URL"); env != nullptr && *env != '\0')
    return env;
  fail(
      "report cells: say where Prometheus is: --prometheus http://HOST:9090 or "
      "EDGEFLEET_PROMETHEUS_URL");
}

shifts::Schedules fetch_schedules(const fleet_client::Overrides& flags) {
  auto client = connect(flags, "report cells");
  auto reply = must(client.call("GET", "/api/v1/shifts"), "report cells");
  auto schedules = shifts::Schedules::parse(reply.json.is_null() ? reply.body : reply.json.dump());
  if (!schedules) fail("report cells: the server's shift schedules: " + schedules.error().message);
  return std::move(*schedules);
}

std::int64_t report_time(const ReportOptions& o) {
  if (o.at.empty()) return utc_now().time_since_epoch().count();
  auto t = parse_utc(o.at);
  if (!t) fail("report cells: --at wants YYYY-MM-DDTHH:MM:SSZ, not " + o.at);
  return t->time_since_epoch().count();
}

void run_cells(const fleet_client::Overrides& flags, const ReportOptions& o) {
  const auto url = prometheus_url(o);
  const auto schedules = fetch_schedules(flags);
  auto groups = cell_report::plan(schedules, o.shift, o.site, report_time(o));
  if (!groups) fail("report cells: " + groups.error().message);
  auto cells = cell_report::collect(*groups, cell_report::prometheus_http(url));
  if (!cells) fail("report cells: " + cells.error().message);
  if (o.output == "json") {
    std::cout << cell_report::to_json(*cells).dump(2) << std::endl;
  } else if (cells->empty()) {
    std::cout << "no cell reported decisions, overrides or interactions in that shift\n";
  } else {
    std::cout << cell_report::table(*cells) << std::flush;
  }
}

void add_report_group(CLI::App& app) {
  auto& report = subcommand(app, "report", "figures from Prometheus over the fleet's telemetry");
  auto* cells = report.add_subcommand(
      "cells",
      "per cell over a shift: decisions, reject and override rates, decisions per hour, "
      "operator interactions");
  static fleet_client::Overrides flags;
  static ReportOptions o;
  cells->add_option("--shift", o.shift, "current, previous, or a shift's name (its latest run)")
      ->required();
  cells->add_option("--site", o.site, "only this site");
  cells->add_option("--prometheus", o.prometheus,
                    "Prometheus base URL, http://HOST:9090 (or EDGEFLEET_PROMETHEUS_URL)");
  cells->add_option("--output,-o", o.output, "table or json")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
  cells->add_option("--at", o.at, "report as of this UTC time, YYYY-MM-DDTHH:MM:SSZ (default now)");
  add_server_flags(cells, &flags);
  cells->callback([] { run_cells(flags, o); });
}

const CommandGroup group("report", add_report_group);

}  // namespace
}  // namespace ef::cli
