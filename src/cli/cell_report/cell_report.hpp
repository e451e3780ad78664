// `edgefleet report cells --shift`: per cell figures over a shift (docs/telemetry.md, "Shifts").
//
// plan() turns the server's shift schedules into query groups: one per site listed in the
// schedules, plus one for every other site (they share the default schedule, hence its windows),
// each with the shift window asked for. collect() asks Prometheus, per group, for each cell's
// increase of the raw runtime counters over the window (ending now for a running shift):
// decisions by outcome, overrides and operator interactions. Raw counters rather than the
// cell_shift:* recording rules because samples a device replays after an outage reach
// Prometheus after the rules ran; increase() over the window still counts them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli/cell_report/prometheus_query.hpp"
#include "core/json/json.hpp"
#include "core/shifts/shift_schedule.hpp"

namespace ef::cell_report {

struct Group {
  std::string selector;  // PromQL label matchers for the group's sites, e.g. site="plant-a"
  shifts::ShiftWindow window;
  std::int64_t until = 0;  // min(window end, now): the running shift is counted up to now
};

// which: "current", "previous" or a shift name (its latest occurrence, running or ended). With a
// site, only that site's group. Groups whose schedule has no such shift are left out; none left
// is not_found.
Result<std::vector<Group>> plan(const shifts::Schedules& schedules, std::string_view which,
                                const std::string& site, std::int64_t now);

struct CellFigures {
  std::string site, cell, shift;
  std::int64_t start = 0, end = 0, until = 0;
  double decisions = 0, rejects = 0, overrides = 0, interactions = 0;

  // Rates over decisions; nullopt when the cell decided nothing.
  std::optional<double> reject_rate() const;
  std::optional<double> override_rate() const;
  double per_hour() const;  // decisions per hour of the window counted (start .. until)
};

// The PromQL for one group: decisions by outcome, overrides, interactions (in that order).
std::vector<std::string> queries(const Group& group);

// Every cell with any figure in the groups' windows, sorted by site then cell.
Result<std::vector<CellFigures>> collect(const std::vector<Group>& groups, const QueryFn& query);

std::string table(const std::vector<CellFigures>& cells);
json::Json to_json(const std::vector<CellFigures>& cells);

}  // namespace ef::cell_report
