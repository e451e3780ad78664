// Shift schedules per site, for per-cell figures per shift (docs/telemetry.md, "Shifts"). In core
// because the server (its gauge and API) and the CLI (its report's shift windows) both use it.
//
// A schedule file (edgefleet-server --shifts FILE) is JSON:
//   {"sites": {"plant-a": {"utc_offset": "+01:00",
//                          "shifts": [{"name": "early", "start": "06:00"}, ...]}},
//    "default": {"utc_offset": "+00:00", "shifts": [...]}}
// Each shift lasts until the next one starts, the last of the day wrapping past midnight to the
// first; one shift alone lasts 24 h. A site not listed under "sites" follows "default" (optional).
// The offset is fixed: a daylight-saving change is a change of this file (no time-zone database).
// parse() refuses anything doubtful: unknown keys, bad times or offsets, empty lists, duplicate
// names or start times, names outside [a-z0-9_-]{1,32}, files over 64 KiB.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/result.hpp"
#include "core/json/json.hpp"

namespace ef::shifts {

constexpr std::size_t kMaxFileBytes = 64 * 1024;

struct Shift {
  std::string name;
  int start_minute = 0;  // minutes after local midnight, 0..1439
};

struct SiteSchedule {
  int utc_offset_minutes = 0;  // local = UTC + offset
  std::vector<Shift> shifts;   // sorted by start_minute, at least one
};

// One occurrence of a shift: [start_unix, end_unix) in Unix seconds.
struct ShiftWindow {
  std::string name;
  std::int64_t start_unix = 0;
  std::int64_t end_unix = 0;
};

class Schedules {
 public:
  // Parses a schedule file's text; errors name the field ("sites.plant-a.shifts[1].start: ...").
  static Result<Schedules> parse(std::string_view text);

  // The schedule that applies to site (its own, else the default), or null when none does.
  const SiteSchedule* for_site(std::string_view site) const;
  // The shift running at unix_seconds; not_found when no schedule applies to site.
  Result<ShiftWindow> shift_at(std::string_view site, std::int64_t unix_seconds) const;
  // The shift that ended when the one running at unix_seconds started.
  Result<ShiftWindow> previous(std::string_view site, std::int64_t unix_seconds) const;
  // The latest occurrence of shift `name` that started at or before unix_seconds (the running one
  // when it is running); not_found when the site's schedule has no such shift.
  Result<ShiftWindow> latest(std::string_view site, std::string_view name,
                             std::int64_t unix_seconds) const;

  const std::map<std::string, SiteSchedule, std::less<>>& sites() const { return sites_; }
  const std::optional<SiteSchedule>& fallback() const { return default_; }

  // The schedules as the file gives them (GET /api/v1/shifts); parse(to_json().dump()) round-trips.
  json::Json to_json() const;

 private:
  std::map<std::string, SiteSchedule, std::less<>> sites_;
  std::optional<SiteSchedule> default_;
};

// "HH:MM" (00:00..23:59) -> minutes; "+HH:MM" / "-HH:MM" (up to 14:00) -> signed minutes.
Result<int> parse_clock(std::string_view text);
Result<int> parse_offset(std::string_view text);
std::string format_clock(int minutes);
std::string format_offset(int minutes);

}  // namespace ef::shifts
