#include "core/telemetry/dictionary.hpp"

#include <utility>

#include "core/metrics/buckets.hpp"
#include "core/metrics/metrics.hpp"
#include "core/telemetry/batch_wire.hpp"

namespace ef::telemetry {
namespace {

// Frozen with kDictionaryId 0x45460001: edit only together with a new id.
const char* const kSimpleNames[] = {
    "edgefleet_device_cpu_usage_ratio",
    "edgefleet_device_memory_total_bytes",
    "edgefleet_device_memory_available_bytes",
    "edgefleet_device_uptime_seconds",
    "edgefleet_agent_spool_bytes",
    "edgefleet_agent_spool_pending_scrapes",
    "edgefleet_agent_spool_evicted_scrapes_total",
    "edgefleet_agent_resident_memory_bytes",
    "edgefleet_runtime_frames_per_second",
    "edgefleet_runtime_uptime_seconds",
    "edgefleet_runtime_healthy",
    "edgefleet_runtime_camera_connected",
    "edgefleet_runtime_camera_brightness_mean",
    "edgefleet_runtime_camera_brightness_stddev",
    "edgefleet_runtime_camera_reconnects_total",
    "edgefleet_runtime_last_inference_timestamp_seconds",
};

struct Labelled {
  const char* name;
  metrics::Labels labels;
};

std::vector<Labelled> labelled_series() {
  return {
      {"edgefleet_device_disk_total_bytes", {{"mount", "data"}}},
      {"edgefleet_device_disk_free_bytes", {{"mount", "data"}}},
      {"edgefleet_device_temperature_celsius", {{"sensor", "thermal_zone0/x86_pkg_temp"}}},
      {"edgefleet_device_temperature_celsius", {{"sensor", "hwmon/coretemp/Package id 0"}}},
      {"edgefleet_device_cpu_throttle_events_total", {{"scope", "core"}}},
      {"edgefleet_device_cpu_throttle_events_total", {{"scope", "package"}}},
      {"edgefleet_device_gpu_utilization_ratio", {{"gpu", "0"}}},
      {"edgefleet_device_gpu_memory_used_bytes", {{"gpu", "0"}}},
      {"edgefleet_device_gpu_memory_total_bytes", {{"gpu", "0"}}},
      {"edgefleet_device_gpu_temperature_celsius", {{"gpu", "0"}}},
      {"edgefleet_agent_updates_total", {{"result", "committed"}}},
      {"edgefleet_agent_updates_total", {{"result", "failed"}}},
      {"edgefleet_agent_updates_total", {{"result", "rolled_back"}}},
      {"edgefleet_runtime_frames_dropped_total", {{"reason", "queue_full"}}},
      {"edgefleet_runtime_frames_dropped_total", {{"reason", "camera_overrun"}}},
      {"edgefleet_runtime_frames_invalid_total", {{"reason", "unreadable"}}},
      {"edgefleet_runtime_frames_invalid_total", {{"reason", "wrong_size"}}},
      {"edgefleet_runtime_frames_invalid_total", {{"reason", "inference_error"}}},
      {"edgefleet_runtime_model_swaps_total", {{"result", "swapped"}}},
      {"edgefleet_runtime_model_swaps_total", {{"result", "failed"}}},
  };
}

// The per-model series; the version itself is unknown here, so a placeholder stands for it.
void add_model_series(std::vector<Series>& out) {
  const std::pair<std::string, std::string> v = {"model_version", "0"};
  auto add = [&](std::string name, metrics::Labels labels) {
    labels.push_back(v);
    sort_labels(labels);
    out.push_back({std::move(name), std::move(labels), {}});
  };
  add("edgefleet_runtime_frames_processed_total", {});
  const std::pair<const char*, const std::vector<double>*> histograms[] = {
      {"edgefleet_runtime_inference_duration_seconds", &metrics::kInferenceLatencySecondsBuckets},
      {"edgefleet_runtime_anomaly_score_ratio", &metrics::kRelativeAnomalyScoreBuckets}};
  for (const auto& [base, bounds] : histograms) {
    for (double le : *bounds)
      add(std::string(base) + "_bucket", {{"le", metrics::format_value(le)}});
    add(std::string(base) + "_bucket", {{"le", "+Inf"}});
    add(std::string(base) + "_sum", {});
    add(std::string(base) + "_count", {});
  }
  for (const char* base : {"edgefleet_runtime_inference_duration_recent_seconds",
                           "edgefleet_runtime_anomaly_score_ratio_recent"}) {
    for (const char* q : {"0.5", "0.95", "0.99"})
      add(base, {{"quantile", q}});
    add(std::string(base) + "_sum", {});
    add(std::string(base) + "_count", {});
  }
  add("edgefleet_runtime_anomaly_score_ratio_recent_mean", {});
  add("edgefleet_runtime_decisions_total", {{"decision", "pass"}});
  add("edgefleet_runtime_decisions_total", {{"decision", "reject"}});
  add("edgefleet_runtime_model_info",
      {{"model_name", "0"}, {"release", "0"}, {"backend", "opencv_dnn"}});
  add("edgefleet_runtime_overrides_total", {{"from", "pass"}, {"to", "reject"}});
  add("edgefleet_runtime_overrides_total", {{"from", "reject"}, {"to", "pass"}});
  add("edgefleet_runtime_operator_interactions_total", {{"kind", "override"}});
}

}  // namespace

std::vector<Series> dictionary_inventory() {
  std::vector<Series> out;
  for (const char* name : kSimpleNames)
    out.push_back({name, {}, {}});
  for (auto& [name, labels] : labelled_series())
    out.push_back({name, std::move(labels), {}});
  add_model_series(out);
  return out;
}

const std::string& dictionary_content() {
  static const std::string content = [] {
    Batch batch;
    batch.series = dictionary_inventory();
    return serialize_batch(batch);
  }();
  return content;
}

}  // namespace ef::telemetry
