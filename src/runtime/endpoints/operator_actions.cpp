#include "runtime/endpoints/operator_actions.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace ef::runtime {

namespace {

bool valid_kind(const std::string& kind) {
  if (kind.empty() || kind.size() > 32) return false;
  return std::all_of(kind.begin(), kind.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

bool valid_operator(const std::string& id) {
  if (id.size() > 64) return false;
  return std::all_of(id.begin(), id.end(),
                     [](char c) { return static_cast<unsigned char>(c) >= 0x20 && c != 0x7f; });
}

}  // namespace

OperatorActions::OperatorActions(inspection::RecentResults& results, metrics::Registry& registry)
    : results_(results), registry_(registry) {}

Result<inspection::FrameResult> OperatorActions::override_decision(std::uint64_t sequence,
                                                                   inspection::Decision decision,
                                                                   const std::string& operator_id) {
  if (!valid_operator(operator_id)) {
    return make_error(Errc::invalid_argument, "operator must be at most 64 printable characters");
  }
  EF_TRY(auto result, results_.set_override(sequence, decision, operator_id));
  auto counter = registry_.counter("edgefleet_runtime_overrides_total",
                                   "Operator overrides of model decisions.",
                                   {{"model_version", result.model_version},
                                    {"from", inspection::decision_name(result.decision)},
                                    {"to", inspection::decision_name(decision)}});
  if (counter) (*counter)->inc();
  EF_CHECK(record_interaction("override"));
  spdlog::info("operator '{}' overrode frame {} from {} to {}", operator_id, sequence,
               inspection::decision_name(result.decision), inspection::decision_name(decision));
  return result;
}

Status OperatorActions::record_interaction(const std::string& kind) {
  if (!valid_kind(kind)) {
    return make_error(Errc::invalid_argument, "interaction kind must be 1-32 of a-z 0-9 _");
  }
  std::string label = kind;
  {
    std::lock_guard lock(mutex_);
    if (!kinds_.contains(kind)) {
      if (kinds_.size() >= kMaxInteractionKinds) {
        label = "other";  // bounded label cardinality
      } else {
        kinds_.insert(kind);
      }
    }
  }
  EF_TRY(auto counter,
         registry_.counter("edgefleet_runtime_operator_interactions_total",
                           "Interactions reported by the line's HMI.", {{"kind", label}}));
  counter->inc();
  return {};
}

}  // namespace ef::runtime
