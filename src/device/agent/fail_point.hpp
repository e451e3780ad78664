// Named fail points on the real update path, for crash-safety tests.
//
// EDGEFLEET_FAIL_POINT=<name>[:<n>] makes the agent kill itself with SIGKILL the n-th time (1st by
// default) it reaches fail point <name>, exactly as a power cut would stop it there. Without the
// variable a fail point costs one comparison. Every journaled step of an update has one.
#pragma once

#include <string_view>

namespace ef::agent {

void fail_point(std::string_view name);

}  // namespace ef::agent
