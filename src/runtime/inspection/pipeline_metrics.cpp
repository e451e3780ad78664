#include "runtime/inspection/pipeline_metrics.hpp"

#include "core/metrics/buckets.hpp"

namespace ef::inspection {

using SteadyClock = std::chrono::steady_clock;

bool Readings::inferring(SteadyClock::time_point now) const {
  const auto last = last_inference_ns.load(std::memory_order_relaxed);
  return last != 0 && now.time_since_epoch() - std::chrono::nanoseconds(last) <= healthy_within;
}

void Readings::inferred_at(SteadyClock::time_point when) {
  rate.tick(when);
  last_inference_ns.store(
      std::chrono::duration_cast<std::chrono::nanoseconds>(when.time_since_epoch()).count(),
      std::memory_order_relaxed);
}

namespace {

Status register_gauges(metrics::Registry& r, const std::shared_ptr<Readings>& readings) {
  EF_CHECK(r.gauge_fn("edgefleet_runtime_frames_per_second",
                      "Frames scored per second over the last 10 seconds.", {},
                      [readings] { return readings->rate.per_second(10); }));
  EF_CHECK(r.gauge_fn(
      "edgefleet_runtime_uptime_seconds", "Seconds since the runtime started.", {}, [readings] {
        return std::chrono::duration<double>(SteadyClock::now() - readings->started).count();
      }));
  EF_CHECK(r.gauge_fn("edgefleet_runtime_healthy",
                      "1 while the runtime is up and inferring, else 0.", {},
                      [readings] { return readings->inferring(SteadyClock::now()) ? 1.0 : 0.0; }));
  EF_CHECK(r.gauge_fn("edgefleet_runtime_camera_connected", "1 while the camera delivers frames.",
                      {}, [readings] { return readings->camera->connected() ? 1.0 : 0.0; }));
  EF_CHECK(r.gauge_fn("edgefleet_runtime_camera_brightness_mean",
                      "Mean frame brightness (0-255) over the last 5 minutes: exposure level.", {},
                      [readings] { return readings->brightness.window_stats().mean; }));
  EF_CHECK(r.gauge_fn(
      "edgefleet_runtime_camera_brightness_stddev",
      "Standard deviation of frame brightness over the last 5 minutes: exposure stability.", {},
      [readings] { return readings->brightness.window_stats().stddev; }));
  return {};
}

}  // namespace

Result<PipelineMetrics> register_pipeline_metrics(metrics::Registry& r,
                                                  std::shared_ptr<Readings> readings) {
  PipelineMetrics m;
  const std::string dropped_help = "Frames the camera produced that were never scored.";
  EF_TRY(m.dropped_queue_full, r.counter("edgefleet_runtime_frames_dropped_total", dropped_help,
                                         {{"reason", "queue_full"}}));
  EF_TRY(m.dropped_overrun, r.counter("edgefleet_runtime_frames_dropped_total", dropped_help,
                                      {{"reason", "camera_overrun"}}));
  const std::string invalid_help = "Frames refused: unreadable, wrong size, or the model failed.";
  EF_TRY(m.invalid_unreadable, r.counter("edgefleet_runtime_frames_invalid_total", invalid_help,
                                         {{"reason", "unreadable"}}));
  EF_TRY(m.invalid_size, r.counter("edgefleet_runtime_frames_invalid_total", invalid_help,
                                   {{"reason", "wrong_size"}}));
  EF_TRY(m.invalid_inference, r.counter("edgefleet_runtime_frames_invalid_total", invalid_help,
                                        {{"reason", "inference_error"}}));
  EF_TRY(m.reconnects, r.counter("edgefleet_runtime_camera_reconnects_total",
                                 "Times the camera came back after a failure."));
  const std::string swaps_help = "Model hot-swaps by outcome.";
  EF_TRY(m.swaps_ok,
         r.counter("edgefleet_runtime_model_swaps_total", swaps_help, {{"result", "swapped"}}));
  EF_TRY(m.swaps_failed,
         r.counter("edgefleet_runtime_model_swaps_total", swaps_help, {{"result", "failed"}}));
  EF_TRY(m.last_inference, r.gauge("edgefleet_runtime_last_inference_timestamp_seconds",
                                   "Unix time of the last successful inference (0: none yet)."));
  EF_CHECK(register_gauges(r, readings));
  return m;
}

Result<ModelMetrics> register_model_metrics(metrics::Registry& r, const model::Model& model,
                                            const std::string& release) {
  const auto& meta = model.metadata();
  const metrics::Labels v = {{"model_version", meta.version}};
  ModelMetrics m;
  EF_TRY(m.frames, r.counter("edgefleet_runtime_frames_processed_total", "Frames scored.", v));
  EF_TRY(m.latency, r.histogram("edgefleet_runtime_inference_duration_seconds",
                                "Per-frame inference time: preprocessing, model, decision.",
                                metrics::kInferenceLatencySecondsBuckets, v));
  EF_TRY(m.latency_recent,
         r.summary("edgefleet_runtime_inference_duration_recent_seconds",
                   "Per-frame inference time, quantiles over the last 5 minutes.", v));
  EF_TRY(m.score, r.histogram("edgefleet_runtime_anomaly_score_ratio",
                              "Anomaly score divided by the model's threshold (1 = reject line).",
                              metrics::kRelativeAnomalyScoreBuckets, v));
  EF_TRY(m.score_recent,
         r.summary("edgefleet_runtime_anomaly_score_ratio_recent",
                   "Anomaly score / threshold, quantiles over the last 5 minutes.", v));
  metrics::Summary* recent_scores = m.score_recent;
  EF_CHECK(r.gauge_fn("edgefleet_runtime_anomaly_score_ratio_recent_mean",
                      "Mean anomaly score / threshold over the last 5 minutes.", v,
                      [recent_scores] { return recent_scores->window_stats().mean; }));
  const std::string decisions_help = "Decisions of the model (before operator overrides).";
  EF_TRY(m.pass, r.counter("edgefleet_runtime_decisions_total", decisions_help,
                           {{"model_version", meta.version}, {"decision", "pass"}}));
  EF_TRY(m.reject, r.counter("edgefleet_runtime_decisions_total", decisions_help,
                             {{"model_version", meta.version}, {"decision", "reject"}}));
  EF_TRY(m.info, r.gauge("edgefleet_runtime_model_info",
                         "1 for the model scoring frames now, 0 for models it replaced.",
                         {{"model_version", meta.version},
                          {"model_name", meta.name},
                          {"release", release},
                          {"backend", model.backend_name()}}));
  return m;
}

}  // namespace ef::inspection
