// The pipeline's metrics (names and meanings in docs/runtime.md), registered once so that the
// per-frame path only touches handles, never the registry's lock.
//
// register_pipeline_metrics() registers the pipeline-wide series; the read-at-scrape gauges read
// a shared Readings, so a scrape that comes after the pipeline is gone reads valid memory.
// register_model_metrics() registers one model version's series, when a model is installed.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "core/common/result.hpp"
#include "core/metrics/metrics.hpp"
#include "runtime/camera/camera.hpp"
#include "runtime/inspection/rate_meter.hpp"
#include "runtime/model/model.hpp"

namespace ef::inspection {

// What the read-at-scrape gauges need. Written by the pipeline's threads, read by scrapes.
struct Readings {
  metrics::Summary brightness{metrics::WindowOptions{}};
  RateMeter rate;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  std::shared_ptr<camera::Camera> camera;
  std::atomic<std::int64_t> last_inference_ns{0};  // steady clock; 0: none yet
  std::chrono::milliseconds healthy_within{3000};

  // A successful inference at most healthy_within before now.
  bool inferring(std::chrono::steady_clock::time_point now) const;
  void inferred_at(std::chrono::steady_clock::time_point when);
};

struct PipelineMetrics {
  metrics::Counter* dropped_queue_full = nullptr;
  metrics::Counter* dropped_overrun = nullptr;
  metrics::Counter* invalid_unreadable = nullptr;
  metrics::Counter* invalid_size = nullptr;
  metrics::Counter* invalid_inference = nullptr;
  metrics::Counter* reconnects = nullptr;
  metrics::Counter* swaps_ok = nullptr;
  metrics::Counter* swaps_failed = nullptr;
  metrics::Gauge* last_inference = nullptr;
};

Result<PipelineMetrics> register_pipeline_metrics(metrics::Registry& registry,
                                                  std::shared_ptr<Readings> readings);

// One model version's series, labelled model_version (model_info also by name, release, backend).
struct ModelMetrics {
  metrics::Counter* frames = nullptr;
  metrics::Histogram* latency = nullptr;
  metrics::Summary* latency_recent = nullptr;
  metrics::Histogram* score = nullptr;
  metrics::Summary* score_recent = nullptr;
  metrics::Counter* pass = nullptr;
  metrics::Counter* reject = nullptr;
  metrics::Gauge* info = nullptr;
};

Result<ModelMetrics> register_model_metrics(metrics::Registry& registry, const model::Model& model,
                                            const std::string& release);

}  // namespace ef::inspection
