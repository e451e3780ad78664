#include "agent_report.hpp"

#include "core/json/json.hpp"

namespace ef::bench {

std::string full_report(const AgentState& agent) {
  json::Json report{{"agent_version", "0.1.0"},
                    {"installed_release", nullptr},
                    {"trial_release", nullptr},
                    {"model_version", agent.model_version},
                    {"update", nullptr},
                    {"hardware",
                     {{"make", "bench"},
                      {"model", "sim"},
                      {"serial", "0"},
                      {"cpu", "x86_64"},
                      {"memory_bytes", 8LL << 30},
                      {"disk_bytes", 64LL << 30},
                      {"disk_free_bytes", 32LL << 30}}}};
  if (agent.installed_release) report["installed_release"] = *agent.installed_release;
  if (agent.frames_processed)
    report["runtime"] = {{"frames_per_second", 29.97},
                         {"latency_p99_seconds", 0.0055},
                         {"frames_processed", *agent.frames_processed},
                         {"frames_dropped", 0},
                         {"uptime_seconds", 3600},
                         {"restarts", 0}};
  return report.dump();
}

}  // namespace ef::bench
