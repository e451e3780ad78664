// edgefleet status|wait: what the fleet is doing now, read from the server's inventory (the
// devices' own reports), and waiting for a rollout to land. Both use only GET /api/v1/inventory,
// so a read-only token is enough.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <set>
#include <thread>

#include "commands.hpp"
#include "server_flags.hpp"

namespace ef::cli {
namespace {

using Row = std::map<std::string, std::string>;

std::vector<Row> fetch_rows(fleet_client::Client& client, const std::string& site,
                            const std::string& cell, const std::string& command) {
  std::string path = "/api/v1/inventory?format=json";
  if (!site.empty()) path += "&site=" + http_client::url_encode(site);
  if (!cell.empty()) path += "&cell=" + http_client::url_encode(cell);
  auto reply = must(client.call("GET", path), command);
  std::vector<Row> rows;
  if (!reply.json.contains("devices") || !reply.json["devices"].is_array())
    fail(command + ": the server's inventory has no device list");
  for (const auto& d : reply.json["devices"]) {
    Row row;
    if (!d.is_object()) continue;
    for (const auto& [k, v] : d.items())
      row[k] = v.is_string() ? v.get<std::string>() : std::string();
    rows.push_back(std::move(row));
  }
  return rows;
}

std::string get(const Row& row, const std::string& key) {
  auto it = row.find(key);
  return it == row.end() ? std::string() : it->second;
}

std::string or_dash(std::string s) {
  return s.empty() ? "-" : s;
}

// What the device is doing, in one word: its update phase (with progress) or "running".
std::string state_of(const Row& r) {
  const std::string phase = get(r, "update_phase");
  if (get(r, "enrollment") == "revoked") return "revoked";
  if (get(r, "enrollment") == "registered") return "not enrolled";
  if (phase.empty() || phase == "idle") return get(r, "release").empty() ? "no release" : "running";
  if (phase == "downloading") return "downloading " + get(r, "update_progress") + "%";
  return phase;
}

std::string shorten(std::string s, std::size_t n) {
  if (s.size() <= n) return s;
  return s.substr(0, n - 3) + "...";
}

void print_table(const std::vector<Row>& rows, bool wide) {
  std::printf("%-16s %-10s %-9s %-9s %-18s %-16s %7s %8s %7s  %s\n", "DEVICE", "CONNECTION",
              "RELEASE", "ASSIGNED", "MODEL", "STATE", "FRAMES/S", "P99 MS", "DROPPED",
              "LAST FAILURE");
  for (const auto& r : rows) {
    std::printf("%-16s %-10s %-9s %-9s %-18s %-16s %7s %8s %7s  %s\n",
                shorten(get(r, "id"), 16).c_str(), or_dash(get(r, "status")).c_str(),
                or_dash(get(r, "release")).c_str(), or_dash(get(r, "assigned_release")).c_str(),
                shorten(or_dash(get(r, "model_version")), 18).c_str(),
                shorten(state_of(r), 16).c_str(), or_dash(get(r, "frames_per_second")).c_str(),
                or_dash(get(r, "latency_p99_ms")).c_str(),
                or_dash(get(r, "frames_dropped")).c_str(),
                (wide ? or_dash(get(r, "last_failure_reason"))
                      : shorten(or_dash(get(r, "last_failure_reason")), 60))
                    .c_str());
  }
  std::fflush(stdout);
}

void add_status(CLI::App& app) {
  auto* status = app.add_subcommand(
      "status", "one line per device: release, model, state, frames/s, p99 latency, last failure");
  static fleet_client::Overrides flags;
  static std::string site, cell;
  static double watch = 0;
  static bool as_json = false, wide = false;
  status->add_option("--site", site);
  status->add_option("--cell", cell);
  status->add_option("--watch", watch, "redraw every this many seconds until interrupted");
  status->add_flag("--json", as_json, "print the inventory rows as JSON");
  status->add_flag("--wide", wide, "do not shorten the failure reasons");
  add_server_flags(status, &flags);
  status->callback([] {
    auto client = connect(flags, "status");
    const bool tty = ::isatty(STDOUT_FILENO) == 1;
    for (;;) {
      auto rows = fetch_rows(client, site, cell, "status");
      if (as_json) {
        json::Json list = json::Json::array();
        for (const auto& r : rows)
          list.push_back(json::Json(r));
        std::cout << list.dump(2) << std::endl;
      } else {
        if (watch > 0 && tty) std::printf("\033[H\033[2J");
        print_table(rows, wide);
      }
      if (watch <= 0) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<long>(watch * 1000)));
      if (!tty && !as_json) std::printf("\n");
    }
  });
}

// The rows wait looks at: the named devices (all must exist) or every enrolled device.
std::vector<Row> select(const std::vector<Row>& rows, const std::vector<std::string>& ids) {
  std::vector<Row> out;
  if (ids.empty()) {
    for (const auto& r : rows)
      if (get(r, "enrollment") != "revoked") out.push_back(r);
    return out;
  }
  for (const auto& id : ids) {
    bool found = false;
    for (const auto& r : rows) {
      if (get(r, "id") == id) {
        out.push_back(r);
        found = true;
      }
    }
    if (!found) fail("wait: no device " + id);
  }
  return out;
}

bool rolled_back(const Row& r, const std::string& release) {
  return get(r, "last_update_release") == release && get(r, "last_update_outcome") == "rolled_back";
}

bool refused(const Row& r, const std::string& release) {
  // A release the device would not install (verification, disk space): reported as the failure.
  // A transient download failure ends in "(will retry)" and is not final.
  const std::string reason = get(r, "last_failure_reason");
  return reason.starts_with("release " + release + ":") && !reason.ends_with("(will retry)");
}

// What `edgefleet wait` waits for: exactly one of the three.
struct WaitGoal {
  bool online = false;
  std::string release;
  std::string rolled_back_release;
};

// Whether device r reached the goal; a device that failed a --release goal ends the wait.
bool reached(const Row& r, const WaitGoal& goal) {
  const bool idle = get(r, "update_phase").empty() || get(r, "update_phase") == "idle";
  if (goal.online) return get(r, "enrollment") == "active" && get(r, "status") == "online";
  if (!goal.release.empty()) {
    if (rolled_back(r, goal.release) || refused(r, goal.release)) {
      fail("wait: " + get(r, "id") + " did not take release " + goal.release + ": " +
           or_dash(get(r, "last_failure_reason")));
    }
    return get(r, "release") == goal.release && idle;
  }
  return rolled_back(r, goal.rolled_back_release) && idle &&
         get(r, "release") != goal.rolled_back_release;
}

std::string reached_text(const Row& r, const WaitGoal& goal) {
  if (goal.online) return "enrolled and online";
  if (goal.release.empty()) {
    return "rolled back to " + or_dash(get(r, "release")) + ": " + get(r, "last_failure_reason");
  }
  return "runs " + goal.release + ", model " + or_dash(get(r, "model_version"));
}

struct WaitOptions {
  std::string site, cell;
  std::vector<std::string> ids;
  std::chrono::milliseconds timeout{600000};
  std::chrono::milliseconds table_every{0};  // 0: no table while waiting
};

void wait_for(fleet_client::Client& client, const WaitGoal& goal, const WaitOptions& options) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const auto deadline = start + options.timeout;
  auto last_table = start;
  std::set<std::string> announced;
  for (;;) {
    auto rows = select(fetch_rows(client, options.site, options.cell, "wait"), options.ids);
    if (rows.empty()) fail("wait: no devices to wait for");
    std::vector<std::string> pending;
    for (const auto& r : rows) {
      const std::string id = get(r, "id");
      if (!reached(r, goal)) {
        pending.push_back(id + " (" + or_dash(get(r, "release")) + ", " + state_of(r) + ")");
      } else if (announced.insert(id).second) {
        const double s = std::chrono::duration<double>(Clock::now() - start).count();
        std::printf("%6.1f s  %s: %s\n", s, id.c_str(), reached_text(r, goal).c_str());
        std::fflush(stdout);
      }
    }
    if (options.table_every.count() > 0 &&
        (pending.empty() || Clock::now() - last_table >= options.table_every)) {
      last_table = Clock::now();
      std::printf("\n");
      print_table(rows, false);
      std::printf("\n");
    }
    if (pending.empty()) return;
    if (Clock::now() >= deadline) {
      std::string list;
      for (const auto& p : pending)
        list += (list.empty() ? "" : ", ") + p;
      fail("wait: timed out after " + std::to_string(options.timeout.count() / 1000) +
           " s; still waiting for " + list);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

void add_wait(CLI::App& app) {
  auto* wait = app.add_subcommand(
      "wait",
      "wait until devices committed a release (--release) or rolled it back (--rolled-back); "
      "exit 1 when a device fails it or the time is up");
  static fleet_client::Overrides flags;
  static WaitGoal goal;
  static WaitOptions options;
  static double timeout = 600, table_every = 0;
  wait->add_flag("--online", goal.online, "every device enrolled and checked in");
  wait->add_option("--release", goal.release, "every device runs this release");
  wait->add_option("--rolled-back", goal.rolled_back_release,
                   "every device tried this release and rolled back");
  wait->add_option("--table-every", table_every,
                   "print the status table every this many seconds while waiting");
  wait->add_option("DEVICES", options.ids, "device ids (default: every device not revoked)");
  wait->add_option("--site", options.site);
  wait->add_option("--cell", options.cell);
  wait->add_option("--timeout", timeout, "give up after this many seconds")->capture_default_str();
  add_server_flags(wait, &flags);
  wait->callback([] {
    if (int(goal.online) + int(!goal.release.empty()) + int(!goal.rolled_back_release.empty()) != 1)
      fail("wait: give one of --online, --release V or --rolled-back V");
    options.timeout = std::chrono::milliseconds(static_cast<long>(timeout * 1000));
    options.table_every = std::chrono::milliseconds(static_cast<long>(table_every * 1000));
    auto client = connect(flags, "wait");
    wait_for(client, goal, options);
  });
}

void add_status_group(CLI::App& app) {
  add_status(app);
  add_wait(app);
}

const CommandGroup group("status", add_status_group);

}  // namespace
}  // namespace ef::cli
