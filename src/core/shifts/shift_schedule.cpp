#include "core/shifts/shift_schedule.hpp"

#include <algorithm>
#include <cstdio>
#include <set>

#include "core/json/reader.hpp"

namespace ef::shifts {

namespace {

constexpr std::int64_t kDay = 86400;
constexpr int kMaxOffsetMinutes = 14 * 60;
constexpr std::size_t kMaxShiftsPerDay = 48;
constexpr std::size_t kMaxSites = 4096;
constexpr std::size_t kMaxSiteNameBytes = 128;

Error bad(const std::string& where, const std::string& what) {
  return make_error(Errc::malformed, where + ": " + what);
}

bool digit(char c) {
  return c >= '0' && c <= '9';
}

// "HH:MM" with hours <= max_hours; -1 when not.
int clock_minutes(std::string_view t, int max_hours) {
  if (t.size() != 5 || t[2] != ':' || !digit(t[0]) || !digit(t[1]) || !digit(t[3]) || !digit(t[4]))
    return -1;
  const int h = (t[0] - '0') * 10 + (t[1] - '0');
  const int m = (t[3] - '0') * 10 + (t[4] - '0');
  if (h > max_hours || m > 59) return -1;
  return h * 60 + m;
}

bool valid_shift_name(std::string_view name) {
  if (name.empty() || name.size() > 32) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || digit(c) || c == '_' || c == '-';
  });
}

// Floor division for negative Unix times.
std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)) ? 1 : 0);
}

Result<Shift> parse_shift(const json::Json& value, const std::string& where) {
  json::ObjectReader r(value, where);
  EF_CHECK(r.valid());
  EF_TRY(auto name, r.string("name"));
  if (!valid_shift_name(name))
    return bad(r.path("name"), "\"" + name + "\" must match [a-z0-9_-]{1,32}");
  EF_TRY(auto start, r.string("start"));
  auto minutes = parse_clock(start);
  if (!minutes) return std::move(minutes).error().context(r.path("start"));
  EF_CHECK(r.finish());
  return Shift{std::move(name), *minutes};
}

Status check_unique(const std::vector<Shift>& shifts, const std::string& where) {
  std::set<std::string> names;
  std::set<int> starts;
  for (const auto& s : shifts) {
    if (!names.insert(s.name).second) return bad(where, "shift name \"" + s.name + "\" repeated");
    if (!starts.insert(s.start_minute).second)
      return bad(where, "two shifts start at " + format_clock(s.start_minute));
  }
  return {};
}

Result<SiteSchedule> parse_site(const json::Json& value, const std::string& where) {
  json::ObjectReader r(value, where);
  EF_CHECK(r.valid());
  SiteSchedule site;
  EF_TRY(auto offset, r.string("utc_offset"));
  auto minutes = parse_offset(offset);
  if (!minutes) return std::move(minutes).error().context(r.path("utc_offset"));
  site.utc_offset_minutes = *minutes;
  EF_TRY(auto list, r.optional_array("shifts"));
  if (list == nullptr || list->empty())
    return bad(r.path("shifts"), "at least one shift is required");
  if (list->size() > kMaxShiftsPerDay)
    return bad(r.path("shifts"), "more than " + std::to_string(kMaxShiftsPerDay) + " shifts");
  for (std::size_t i = 0; i < list->size(); ++i) {
    EF_TRY(auto shift, parse_shift((*list)[i], r.path("shifts") + "[" + std::to_string(i) + "]"));
    site.shifts.push_back(std::move(shift));
  }
  EF_CHECK(check_unique(site.shifts, r.path("shifts")));
  EF_CHECK(r.finish());
  std::sort(site.shifts.begin(), site.shifts.end(),
            [](const Shift& a, const Shift& b) { return a.start_minute < b.start_minute; });
  return site;
}

json::Json site_json(const SiteSchedule& site) {
  json::Json list = json::Json::array();
  for (const auto& s : site.shifts)
    list.push_back({{"name", s.name}, {"start", format_clock(s.start_minute)}});
  return {{"utc_offset", format_offset(site.utc_offset_minutes)}, {"shifts", std::move(list)}};
}

}  // namespace

Result<int> parse_clock(std::string_view text) {
  const int m = clock_minutes(text, 23);
  if (m < 0) return bad("\"" + std::string(text) + "\"", "not a time of day HH:MM (00:00-23:59)");
  return m;
}

Result<int> parse_offset(std::string_view text) {
  const bool sign = !text.empty() && (text[0] == '+' || text[0] == '-');
  const int m = sign ? clock_minutes(text.substr(1), 14) : -1;
  if (m < 0 || m > kMaxOffsetMinutes)
    return bad("\"" + std::string(text) + "\"", "not a UTC offset +HH:MM or -HH:MM (up to 14:00)");
  return text[0] == '-' ? -m : m;
}

std::string format_clock(int minutes) {
  char out[32];
  std::snprintf(out, sizeof out, "%02d:%02d", minutes / 60, minutes % 60);
  return out;
}

std::string format_offset(int minutes) {
  return (minutes < 0 ? "-" : "+") + format_clock(minutes < 0 ? -minutes : minutes);
}

Result<Schedules> Schedules::parse(std::string_view text) {
  if (text.size() > kMaxFileBytes)
    return make_error(Errc::too_large,
                      "shift schedule file over " + std::to_string(kMaxFileBytes / 1024) + " KiB");
  EF_TRY(auto doc, json::parse_strict(text, {.max_bytes = kMaxFileBytes, .max_depth = 8}));
  json::ObjectReader r(doc, "");
  EF_CHECK(r.valid());
  Schedules out;
  EF_TRY(auto sites, r.optional_object("sites"));
  EF_TRY(auto fallback, r.optional_object("default"));
  EF_CHECK(r.finish());
  if (sites == nullptr && fallback == nullptr)
    return bad("document", "neither \"sites\" nor \"default\" is given");
  if (sites != nullptr) {
    if (!sites->is_object()) return bad("sites", "must be an object of site name to schedule");
    if (sites->size() > kMaxSites) return bad("sites", "too many sites");
    for (const auto& [name, value] : sites->items()) {
      if (name.empty() || name.size() > kMaxSiteNameBytes)
        return bad("sites", "a site name must be 1 to 128 bytes");
      EF_TRY(auto site, parse_site(value, "sites." + name));
      out.sites_.emplace(name, std::move(site));
    }
  }
  if (fallback != nullptr) {
    EF_TRY(auto site, parse_site(*fallback, "default"));
    out.default_ = std::move(site);
  }
  return out;
}

const SiteSchedule* Schedules::for_site(std::string_view site) const {
  if (auto it = sites_.find(site); it != sites_.end()) return &it->second;
  return default_ ? &*default_ : nullptr;
}

Result<ShiftWindow> Schedules::shift_at(std::string_view site, std::int64_t unix_seconds) const {
  const SiteSchedule* schedule = for_site(site);
  if (schedule == nullptr)
    return make_error(Errc::not_found, "no shift schedule for site \"" + std::string(site) + "\"");
  const std::int64_t offset = std::int64_t{schedule->utc_offset_minutes} * 60;
  const std::int64_t local = unix_seconds + offset;
  const std::int64_t midnight = floor_div(local, kDay) * kDay;  // local midnight, local seconds
  const auto& shifts = schedule->shifts;
  // The last shift starting at or before now today; before the first, yesterday's last one.
  std::int64_t start = 0;
  std::size_t i = shifts.size();
  while (i > 0 && midnight + shifts[i - 1].start_minute * 60 > local)
    --i;
  if (i == 0) {
    i = shifts.size() - 1;
    start = midnight - kDay + shifts[i].start_minute * 60;
  } else {
    --i;
    start = midnight + shifts[i].start_minute * 60;
  }
  const bool last = i + 1 == shifts.size();
  const std::int64_t end =
      last ? start - shifts[i].start_minute * 60 + kDay + shifts.front().start_minute * 60
           : start + (shifts[i + 1].start_minute - shifts[i].start_minute) * 60;
  return ShiftWindow{shifts[i].name, start - offset, end - offset};
}

Result<ShiftWindow> Schedules::previous(std::string_view site, std::int64_t unix_seconds) const {
  EF_TRY(auto current, shift_at(site, unix_seconds));
  return shift_at(site, current.start_unix - 1);
}

Result<ShiftWindow> Schedules::latest(std::string_view site, std::string_view name,
                                      std::int64_t unix_seconds) const {
  EF_TRY(auto window, shift_at(site, unix_seconds));
  const std::size_t count = for_site(site)->shifts.size();
  for (std::size_t step = 0; step < count; ++step) {
    if (window.name == name) return window;
    EF_TRY(window, shift_at(site, window.start_unix - 1));
  }
  return make_error(Errc::not_found, "site \"" + std::string(site) + "\" has no shift \"" +
                                         std::string(name) + "\"");
}

json::Json Schedules::to_json() const {
  json::Json sites = json::Json::object();
  for (const auto& [name, site] : sites_)
    sites[name] = site_json(site);
  json::Json out = {{"sites", std::move(sites)}};
  if (default_) out["default"] = site_json(*default_);
  return out;
}

}  // namespace ef::shifts
