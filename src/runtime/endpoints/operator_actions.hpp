// What the line's operator does on the HMI: overrides a model's decision on a recent frame, and
// other interactions the panel reports (acknowledging an alarm, ...).
//
// The override itself is recorded on the pipeline's recent results (where /v1/results shows it);
// this unit checks the operator's input and counts both kinds of action:
// edgefleet_runtime_overrides_total{model_version, from, to} and
// edgefleet_runtime_operator_interactions_total{kind} (an override counts as kind "override").
// Interaction kinds are label values, so their number is bounded: past 32 distinct kinds, new ones
// count as "other". Thread-safe; results and registry must outlive it.
#pragma once

#include <cstdint>
#include <mutex>
#include <set>
#include <string>

#include "core/common/result.hpp"
#include "core/metrics/metrics.hpp"
#include "runtime/inspection/recent_results.hpp"
#include "runtime/inspection/result.hpp"

namespace ef::runtime {

class OperatorActions {
 public:
  static constexpr std::size_t kMaxInteractionKinds = 32;

  OperatorActions(inspection::RecentResults& results, metrics::Registry& registry);

  // invalid_argument: an operator id over 64 characters or with control characters, or the model
  // already decided that; not_found: the frame is not kept; exists: already overridden.
  Result<inspection::FrameResult> override_decision(std::uint64_t sequence,
                                                    inspection::Decision decision,
                                                    const std::string& operator_id);
  // kind: 1-32 of [a-z0-9_], else invalid_argument.
  Status record_interaction(const std::string& kind);

 private:
  inspection::RecentResults& results_;
  metrics::Registry& registry_;
  std::mutex mutex_;
  std::set<std::string> kinds_;
};

}  // namespace ef::runtime
