#include "core/trust/verify.hpp"

#include <algorithm>
#include <set>

#include "core/common/path.hpp"

namespace ef::trust {

Status verify_threshold(const Envelope& env, const KeyMap& keys, const RoleKeys& role,
                        std::string_view role_name) {
  std::set<std::string> signed_by;  // key fingerprints, so one key never counts twice
  for (const auto& sig : env.signatures) {
    if (std::find(role.keyids.begin(), role.keyids.end(), sig.keyid) == role.keyids.end()) continue;
    auto key = keys.find(sig.keyid);
    if (key == keys.end()) continue;
    if (key->second.verify(env.canonical_signed, sig.sig))
      signed_by.insert(key->second.fingerprint());
  }
  if (static_cast<std::int64_t>(signed_by.size()) >= role.threshold) return {};
  return make_error(Errc::bad_signature, printable(role_name) + " is signed by " +
                                             std::to_string(signed_by.size()) + " of its keys, " +
                                             std::to_string(role.threshold) + " required");
}

}  // namespace ef::trust
