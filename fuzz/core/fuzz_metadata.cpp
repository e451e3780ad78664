// libFuzzer target for the TUF metadata parsers: any input must be refused or parsed cleanly,
// never crash, leak, overflow or hang; what parses must re-encode canonically and stably.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/trust/metadata.hpp"
#include "core/trust/trusted_set.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto env = ef::trust::parse_envelope(input, ef::trust::kMaxTargetsBytes);
  if (!env) return 0;
  // Canonical encoding is a fixed point: parsing it again gives the same bytes.
  auto again = ef::json::parse_strict("[" + env->canonical_signed + "]");
  if (env->signed_json.is_object() && again) {
    auto recoded = ef::json::canonical((*again)[0]);
    if (!recoded || *recoded != env->canonical_signed) __builtin_trap();
  }
  (void)ef::trust::parse_root(env->signed_json);
  (void)ef::trust::parse_timestamp(env->signed_json);
  (void)ef::trust::parse_snapshot(env->signed_json);
  if (auto targets = ef::trust::parse_targets(env->signed_json); targets && targets->delegations) {
    (void)targets->delegations->roles_for("releases/1.0.0/model/model.onnx");
  }
  // A root that parses is also checked as a trust anchor (signature thresholds).
  (void)ef::trust::TrustedSet::create(input, ef::utc_now());
  return 0;
}
