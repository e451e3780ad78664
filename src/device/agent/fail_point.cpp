#include "device/agent/fail_point.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <iostream>
#include <string>

namespace ef::agent {

namespace {

struct Armed {
  std::string_view name;  // one of kFailPoints, or empty: disarmed
  int remaining = 0;
};

Armed g_armed;  // written once by arm_fail_point_from_environment(), before threads start

}  // namespace

Result<std::string_view> arm_fail_point_from_environment() {
  const char* env = std::getenv("EDGEFLEET_FAIL_POINT");
  if (env == nullptr || *env == '\0') return std::string_view();
  if (!EF_FAIL_POINTS) {
    std::cerr << "edgefleet-agent: EDGEFLEET_FAIL_POINT ignored: built without fail points\n";
    return std::string_view();
  }
  const std::string_view spec(env);
  const auto colon = spec.find(':');
  const std::string_view name = spec.substr(0, colon);
  const auto known = std::find(kFailPoints.begin(), kFailPoints.end(), name);
  if (known == kFailPoints.end()) {
    return make_error(Errc::invalid_argument,
                      "EDGEFLEET_FAIL_POINT: no fail point named '" + std::string(name) + "'");
  }
  int count = 1;
  if (colon != std::string_view::npos) {
    const std::string_view n = spec.substr(colon + 1);
    const auto [end, ec] = std::from_chars(n.data(), n.data() + n.size(), count);
    if (ec != std::errc() || end != n.data() + n.size() || count < 1) {
      return make_error(Errc::invalid_argument, "EDGEFLEET_FAIL_POINT: '" + std::string(n) +
                                                    "' is not a count (1 or more)");
    }
  }
  g_armed = {*known, count};
  std::cerr << "edgefleet-agent: fail point " << *known << " armed (hit " << count
            << "): this process will kill itself there\n";
  return *known;
}

#if EF_FAIL_POINTS
void fail_point(std::string_view name) {
  if (g_armed.name.empty() || g_armed.name != name) return;
  if (--g_armed.remaining > 0) return;
  static const char msg[] = "edgefleet-agent: fail point reached, killing myself\n";
  (void)!::write(2, msg, sizeof msg - 1);
  ::raise(SIGKILL);
}
#endif

}  // namespace ef::agent
