// Signature thresholds: is this metadata signed by enough distinct keys of its role?
#pragma once

#include <string_view>

#include "core/common/result.hpp"
#include "core/trust/metadata.hpp"

namespace ef::trust {

// Succeeds when at least role.threshold distinct keys among role.keyids made a valid signature
// over env.canonical_signed. Each key counts once, however many key ids name it; signatures by
// keys outside the role, or that do not verify, count for nothing (and do not fail the check on
// their own). The error says how many valid signatures there were and how many were needed.
Status verify_threshold(const Envelope& env, const KeyMap& keys, const RoleKeys& role,
                        std::string_view role_name);

}  // namespace ef::trust
