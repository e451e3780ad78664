#include "runtime/inspection/recent_results.hpp"

#include <algorithm>

namespace ef::inspection {

RecentResults::RecentResults(std::size_t capacity)
    : capacity_(std::max<std::size_t>(capacity, 1)) {}

void RecentResults::push(FrameResult result) {
  std::lock_guard lock(mutex_);
  results_.push_back(std::move(result));
  if (results_.size() > capacity_) results_.pop_front();
}

std::vector<FrameResult> RecentResults::after(std::uint64_t after, std::size_t limit) const {
  std::lock_guard lock(mutex_);
  auto it = std::upper_bound(results_.begin(), results_.end(), after,
                             [](std::uint64_t s, const FrameResult& r) { return s < r.sequence; });
  std::vector<FrameResult> out;
  for (; it != results_.end() && out.size() < limit; ++it)
    out.push_back(*it);
  return out;
}

Result<FrameResult> RecentResults::set_override(std::uint64_t sequence, Decision decision,
                                                const std::string& operator_id) {
  std::lock_guard lock(mutex_);
  auto it = std::lower_bound(results_.begin(), results_.end(), sequence,
                             [](const FrameResult& r, std::uint64_t s) { return r.sequence < s; });
  if (it == results_.end() || it->sequence != sequence) {
    return make_error(Errc::not_found, "frame " + std::to_string(sequence) +
                                           " is not among the last " + std::to_string(capacity_) +
                                           " scored frames (too old, dropped or not yet scored)");
  }
  if (it->override_decision) {
    return make_error(Errc::exists, "frame " + std::to_string(sequence) +
                                        " was already overridden to " +
                                        decision_name(*it->override_decision));
  }
  if (it->decision == decision) {
    return make_error(Errc::invalid_argument, "the model already decided " +
                                                  std::string(decision_name(decision)) +
                                                  " for frame " + std::to_string(sequence));
  }
  it->override_decision = decision;
  it->override_operator = operator_id;
  return *it;
}

}  // namespace ef::inspection
