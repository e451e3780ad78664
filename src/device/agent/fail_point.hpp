// Named fail points on the real update path, for crash-safety tests.
//
// A fail point fires only when armed twice over, so a production agent cannot die at one by
// accident:
//   1. at build time: the CMake option EF_FAIL_POINTS (ON by default, so the crash tests run).
//      A device image built with -DEF_FAIL_POINTS=OFF has none: fail_point() compiles to nothing
//      and the environment variable is ignored (with a warning);
//   2. at start: the program calls arm_fail_point_from_environment(), which reads
//      EDGEFLEET_FAIL_POINT=<name>[:<n>]. Until then, and without the variable, fail_point() does
//      nothing. The agent's main() and the tests' engine_driver call it; nothing else does.
// Once armed, the process kills itself with SIGKILL the n-th time (1st by default) it reaches
// fail point <name>, exactly as a power cut would stop it there. An unknown name or a bad count
// is an error at start, never a test that silently runs disarmed. Arm before starting threads.
#pragma once

#include <array>
#include <string_view>

#include "core/common/result.hpp"

namespace ef::agent {

// Every fail point on the update path, in the order an update reaches them.
inline constexpr std::array<std::string_view, 21> kFailPoints = {
    "update_started",   "release_verified",   "download_journaled", "blob_partial",
    "blob_downloaded",  "downloads_complete", "staging_journaled",  "staged",
    "switch_journaled", "current_switched",   "trial_journaled",    "swap_requested",
    "runtime_started",  "health_passed",      "commit_journaled",   "committed",
    "cleaned",          "rollback_journaled", "rollback_switched",  "rollback_runtime_started",
    "rollback_done"};

// Arms the fail point named by EDGEFLEET_FAIL_POINT, if set. Returns the armed name (empty when
// none), or invalid_argument for an unknown name or count.
Result<std::string_view> arm_fail_point_from_environment();

#if EF_FAIL_POINTS
void fail_point(std::string_view name);
#else
inline void fail_point(std::string_view) {}
#endif

}  // namespace ef::agent
