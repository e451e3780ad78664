// The last N results of the pipeline, for the HMI's result list and operator overrides.
//
// A ring ordered by sequence number: push() appends (sequences must increase) and forgets the
// oldest beyond the capacity. Thread-safe: the inference thread pushes, the HMI reads and marks
// overrides.
#pragma once

#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "core/common/result.hpp"
#include "runtime/inspection/result.hpp"

namespace ef::inspection {

class RecentResults {
 public:
  explicit RecentResults(std::size_t capacity);  // at least 1

  void push(FrameResult result);
  // Results with sequence > after, oldest first, at most limit.
  std::vector<FrameResult> after(std::uint64_t after, std::size_t limit) const;
  // Records an operator's decision on a kept result and returns it. not_found: not kept (too
  // old, dropped or not yet scored); exists: already overridden; invalid_argument: the model
  // already decided that.
  Result<FrameResult> set_override(std::uint64_t sequence, Decision decision,
                                   const std::string& operator_id);
  std::size_t capacity() const { return capacity_; }

 private:
  const std::size_t capacity_;
  mutable std::mutex mutex_;
  std::deque<FrameResult> results_;
};

}  // namespace ef::inspection
