#include "cli/cell_report/cell_report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "core/common/time.hpp"

namespace ef::cell_report {

namespace {

Result<shifts::ShiftWindow> window_for(const shifts::Schedules& schedules, std::string_view which,
                                       const std::string& site, std::int64_t now) {
  if (which == "current") return schedules.shift_at(site, now);
  if (which == "previous") return schedules.previous(site, now);
  return schedules.latest(site, which, now);
}

// Every site not listed falls to the default: site!~"a|b" (an anchored RE2 with quoted names).
std::string not_listed(const shifts::Schedules& schedules) {
  std::string alternatives;
  for (const auto& [name, schedule] : schedules.sites()) {
    if (!alternatives.empty()) alternatives += '|';
    for (char c : name) {
      if (std::string_view("\\.+*?()|[]{}^$").find(c) != std::string_view::npos)
        alternatives += '\\';
      alternatives += c;
    }
  }
  return alternatives.empty() ? "site=~\".+\"" : "site!~" + promql_string(alternatives);
}

std::string iso(std::int64_t t) {
  return format_utc(UtcTime(std::chrono::seconds(t)));
}

}  // namespace

Result<std::vector<Group>> plan(const shifts::Schedules& schedules, std::string_view which,
                                const std::string& site, std::int64_t now) {
  // Each group: (a site to compute the window for, its selector).
  std::vector<std::pair<std::string, std::string>> members;
  if (!site.empty()) {
    members.push_back({site, "site=" + promql_string(site)});
  } else {
    for (const auto& [name, schedule] : schedules.sites())
      members.push_back({name, "site=" + promql_string(name)});
    // Any name that is not listed stands for the default group.
    if (schedules.fallback()) members.push_back({"", not_listed(schedules)});
  }
  std::vector<Group> out;
  std::optional<Error> last_error;
  for (const auto& [member, selector] : members) {
    auto window = window_for(schedules, which, member, now);
    if (!window) {
      last_error = window.error();
      continue;
    }
    out.push_back({selector, *window, std::min(window->end_unix, now)});
  }
  if (out.empty()) {
    return last_error ? *last_error
                      : make_error(Errc::not_found, "the server's shift schedules list no site");
  }
  return out;
}

std::optional<double> CellFigures::reject_rate() const {
  if (decisions <= 0) return std::nullopt;
  return rejects / decisions;
}

std::optional<double> CellFigures::override_rate() const {
  if (decisions <= 0) return std::nullopt;
  return overrides / decisions;
}

double CellFigures::per_hour() const {
  const auto seconds = std::max<std::int64_t>(until - start, 1);
  return decisions * 3600.0 / static_cast<double>(seconds);
}

std::vector<std::string> queries(const Group& group) {
  const std::string range =
      "[" + std::to_string(std::max<std::int64_t>(group.until - group.window.start_unix, 1)) + "s]";
  const std::string sel = "{" + group.selector + "}";
  return {
      "sum by (site, cell, decision) (increase(edgefleet_runtime_decisions_total" + sel + range +
          "))",
      "sum by (site, cell) (increase(edgefleet_runtime_overrides_total" + sel + range + "))",
      "sum by (site, cell) (increase(edgefleet_runtime_operator_interactions_total" + sel + range +
          "))",
  };
}

namespace {

using Cells = std::map<std::pair<std::string, std::string>, CellFigures>;

// Adds one sample of answer `query_index` (see queries()) to its cell.
Status add_sample(Cells& cells, const Group& group, std::size_t query_index, const Sample& s) {
  auto site = s.labels.find("site");
  auto cell = s.labels.find("cell");
  if (site == s.labels.end() || cell == s.labels.end()) return {};  // a series without a cell
  if (!std::isfinite(s.value) || s.value < 0) {
    return make_error(Errc::malformed,
                      "Prometheus gave a non-finite or negative increase for cell " + site->second +
                          "/" + cell->second);
  }
  auto& c = cells[{site->second, cell->second}];
  c.site = site->second;
  c.cell = cell->second;
  c.shift = group.window.name;
  c.start = group.window.start_unix;
  c.end = group.window.end_unix;
  c.until = group.until;
  if (query_index == 0) {
    c.decisions += s.value;
    auto decision = s.labels.find("decision");
    if (decision != s.labels.end() && decision->second == "reject") c.rejects += s.value;
  } else if (query_index == 1) {
    c.overrides += s.value;
  } else {
    c.interactions += s.value;
  }
  return {};
}

}  // namespace

Result<std::vector<CellFigures>> collect(const std::vector<Group>& groups, const QueryFn& query) {
  Cells cells;
  for (const auto& group : groups) {
    const auto promql = queries(group);
    for (std::size_t q = 0; q < promql.size(); ++q) {
      EF_TRY(auto samples, query(promql[q], group.until));
      for (const auto& s : samples)
        EF_CHECK(add_sample(cells, group, q, s));
    }
  }
  std::vector<CellFigures> out;
  for (auto& [key, figures] : cells)
    out.push_back(std::move(figures));
  return out;
}

namespace {

std::string fixed(double v, int decimals) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, v);
  return buffer;
}

std::string percent(std::optional<double> ratio) {
  return ratio ? fixed(*ratio * 100, 2) : "-";
}

json::Json nullable(std::optional<double> v) {
  return v ? json::Json(*v) : json::Json(nullptr);
}

}  // namespace

std::string table(const std::vector<CellFigures>& cells) {
  std::vector<std::vector<std::string>> rows = {{"SITE", "CELL", "SHIFT", "START", "END",
                                                 "DECISIONS", "REJECTS", "REJECT%", "OVERRIDES",
                                                 "OVERRIDE%", "PER_HOUR", "INTERACTIONS"}};
  for (const auto& c : cells) {
    rows.push_back({c.site, c.cell, c.shift, iso(c.start),
                    iso(c.end) + (c.until < c.end ? " (running)" : ""), fixed(c.decisions, 0),
                    fixed(c.rejects, 0), percent(c.reject_rate()), fixed(c.overrides, 0),
                    percent(c.override_rate()), fixed(c.per_hour(), 1), fixed(c.interactions, 0)});
  }
  std::vector<std::size_t> width(rows.front().size(), 0);
  for (const auto& row : rows)
    for (std::size_t i = 0; i < row.size(); ++i)
      width[i] = std::max(width[i], row[i].size());
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      // Text columns left-aligned, figures right-aligned.
      const std::string pad(width[i] - row[i].size(), ' ');
      line += (i < 5 ? row[i] + pad : pad + row[i]) + (i + 1 < row.size() ? "  " : "");
    }
    while (!line.empty() && line.back() == ' ')
      line.pop_back();
    out += line + "\n";
  }
  return out;
}

json::Json to_json(const std::vector<CellFigures>& cells) {
  json::Json list = json::Json::array();
  for (const auto& c : cells) {
    list.push_back({{"site", c.site},
                    {"cell", c.cell},
                    {"shift", c.shift},
                    {"start", iso(c.start)},
                    {"end", iso(c.end)},
                    {"until", iso(c.until)},
                    {"running", c.until < c.end},
                    {"decisions", c.decisions},
                    {"rejects", c.rejects},
                    {"reject_rate", nullable(c.reject_rate())},
                    {"overrides", c.overrides},
                    {"override_rate", nullable(c.override_rate())},
                    {"decisions_per_hour", c.per_hour()},
                    {"operator_interactions", c.interactions}});
  }
  return {{"cells", std::move(list)}};
}

}  // namespace ef::cell_report
