// libFuzzer target for the shift schedule parser (edgefleet-server --shifts FILE). Any input is
// refused or parsed; what parses round-trips through to_json(), and at several instants every
// site's shift window contains the instant, lasts at most a day, and starts where the previous
// one ended.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/shifts/shift_schedule.hpp"

namespace {

void check_windows(const ef::shifts::Schedules& s, std::string_view site) {
  for (std::int64_t t : {std::int64_t{0}, std::int64_t{-1}, std::int64_t{1796256000},
                         std::int64_t{1796256000 + 86399}, std::int64_t{4102444800}}) {
    auto w = s.shift_at(site, t);
    if (!w) std::abort();
    if (!(w->start_unix <= t && t < w->end_unix && w->end_unix - w->start_unix <= 86400))
      std::abort();
    auto p = s.previous(site, t);
    if (!p || p->end_unix != w->start_unix) std::abort();
    auto again = s.latest(site, w->name, t);
    if (!again || again->start_unix != w->start_unix) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = ef::shifts::Schedules::parse(text);
  if (!parsed) return 0;
  auto again = ef::shifts::Schedules::parse(parsed->to_json().dump());
  if (!again || again->to_json() != parsed->to_json()) std::abort();
  for (const auto& [site, schedule] : parsed->sites())
    check_windows(*parsed, site);
  if (parsed->fallback()) check_windows(*parsed, "a site not listed");
  return 0;
}
