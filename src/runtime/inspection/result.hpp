// What the inspection pipeline decides about one frame.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/common/result.hpp"

namespace ef::inspection {

enum class Decision { pass, reject };
const char* decision_name(Decision d);
Result<Decision> parse_decision(std::string_view text);

struct FrameResult {
  std::uint64_t sequence = 0;  // frames handed over by the camera, counted from 1
  std::string model_version;   // the model that scored this frame
  double score = 0;
  double threshold = 0;
  Decision decision = Decision::pass;              // the model's: score > threshold rejects
  double latency_seconds = 0;                      // preprocessing + inference + decision
  std::chrono::steady_clock::time_point captured;  // when the camera delivered the frame
  std::chrono::system_clock::time_point decided_at;
  std::string origin;  // file name or synthetic frame index
  std::string truth;   // synthetic camera ground truth, if any
  // Set when an operator overrides the decision on the line's HMI.
  std::optional<Decision> override_decision;
  std::string override_operator;
};

}  // namespace ef::inspection
