// The full report a simulated agent sends in a check-in body, as the real agent does when it
// starts: its releases, its model, a fixed hardware description and, when it has one running, its
// runtime's figures. Shared by the server benchmarks (bench/server, bench/scale) so both send the
// same document. The same AgentState gives the same bytes every time; a different
// frames_processed gives a different report (how server_bench makes the server store each one).
#pragma once

#include <optional>
#include <string>

namespace ef::bench {

struct AgentState {
  std::optional<std::string> installed_release;  // JSON null when none is installed
  std::string model_version;
  std::optional<double> frames_processed;  // a "runtime" section only when set
};

std::string full_report(const AgentState& agent);

}  // namespace ef::bench
