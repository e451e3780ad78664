#include "synthetic_device.hpp"

#include <algorithm>
#include <cmath>
#include <memory>

#include "core/metrics/buckets.hpp"
#include "core/metrics/metrics.hpp"

namespace ef::bench {
namespace {

using Rng = std::mt19937_64;

double normal(Rng& rng, double mean, double sd) {
  return std::normal_distribution(mean, sd)(rng);
}
double poisson(Rng& rng, double mean) {
  return static_cast<double>(std::poisson_distribution<long>(mean)(rng));
}

// A gauge that drifts around a level and stays within [lo, hi].
auto drift(double level, double step, double lo, double hi) {
  return [=](Rng& rng, double previous) {
    const double pulled = previous + 0.1 * (level - previous) + normal(rng, 0, step);
    return std::clamp(pulled, lo, hi);
  };
}

// A counter that grows by a Poisson amount per round (mean may be well below 1: rare events).
auto counter(double mean_per_round) {
  return [=](Rng& rng, double previous) { return previous + poisson(rng, mean_per_round); };
}

auto constant() {
  return [](Rng&, double previous) { return previous; };
}

}  // namespace

SyntheticDevice::SyntheticDevice(std::uint64_t seed, std::int64_t start_ms)
    : rng_(seed), next_ms_(start_ms) {
  add_system();
  add_agent();
  add_runtime();
  add_model("2.3.0", false);
  add_model("2.4.1", true);
}

void SyntheticDevice::add(std::string name, metrics::Labels labels, double initial, Step step) {
  telemetry::sort_labels(labels);
  series_.push_back({std::move(name), std::move(labels), {}});
  values_.push_back(initial);
  steps_.push_back(std::move(step));
}

void SyntheticDevice::add_system() {
  const std::string p = "edgefleet_device_";
  add(p + "cpu_usage_ratio", {}, 0.35, drift(0.35, 0.05, 0, 1));
  add(p + "memory_total_bytes", {}, 16'663'535'616, constant());
  add(p + "memory_available_bytes", {}, 9.1e9, [](Rng& rng, double v) {
    return std::round(std::clamp(v + normal(rng, 0, 2e7), 4e9, 1.2e10) / 4096) * 4096;
  });
  add(p + "disk_total_bytes", {{"mount", "data"}}, 250'790'436'864, constant());
  add(p + "disk_free_bytes", {{"mount", "data"}}, 1.8e11, [](Rng& rng, double v) {
    return v - 4096 * poisson(rng, 30);  // the spool and logs eat the disk slowly
  });
  add(p + "temperature_celsius", {{"sensor", "thermal_zone0/x86_pkg_temp"}}, 58,
      [](Rng& rng, double v) { return std::round(drift(58, 1.0, 30, 95)(rng, v)); });
  add(p + "temperature_celsius", {{"sensor", "hwmon/coretemp/Package id 0"}}, 57,
      [](Rng& rng, double v) { return std::round(drift(57, 1.0, 30, 95)(rng, v)); });
  add(p + "cpu_throttle_events_total", {{"scope", "core"}}, 12, counter(0.02));
  add(p + "cpu_throttle_events_total", {{"scope", "package"}}, 3, counter(0.01));
  add(p + "uptime_seconds", {}, 86'400 * 3.5,
      [](Rng& rng, double v) { return std::round((v + 15 + normal(rng, 0, 0.01)) * 100) / 100; });
  add(p + "gpu_utilization_ratio", {{"gpu", "0"}}, 0.6, drift(0.6, 0.05, 0, 1));
  add(p + "gpu_memory_used_bytes", {{"gpu", "0"}}, 2.1e9, [](Rng& rng, double v) {
    return std::round(std::clamp(v + normal(rng, 0, 1e6), 1e9, 4e9) / 1048576) * 1048576;
  });
  add(p + "gpu_memory_total_bytes", {{"gpu", "0"}}, 8'589'934'592, constant());
  add(p + "gpu_temperature_celsius", {{"gpu", "0"}}, 61,
      [](Rng& rng, double v) { return std::round(drift(61, 1.0, 30, 95)(rng, v)); });
}

void SyntheticDevice::add_agent() {
  const std::string p = "edgefleet_agent_";
  add(p + "spool_bytes", {}, 48'000,
      [](Rng& rng, double v) { return std::max(0.0, v + std::round(normal(rng, 0, 3000))); });
  add(p + "spool_pending_scrapes", {}, 0, [](Rng& rng, double) { return poisson(rng, 0.3); });
  add(p + "spool_evicted_scrapes_total", {}, 0, constant());
  add(p + "resident_memory_bytes", {}, 23'150'592, [](Rng& rng, double v) {
    return std::round(std::clamp(v + normal(rng, 0, 40'000), 2e7, 3e7) / 4096) * 4096;
  });
  add(p + "updates_total", {{"result", "committed"}}, 7, constant());
  add(p + "updates_total", {{"result", "failed"}}, 1, constant());
  add(p + "updates_total", {{"result", "rolled_back"}}, 1, constant());
}

void SyntheticDevice::add_runtime() {
  const std::string p = "edgefleet_runtime_";
  add(p + "frames_per_second", {}, 25, drift(25, 0.3, 0, 30));
  add(p + "uptime_seconds", {}, 86'400 * 1.2,
      [](Rng& rng, double v) { return v + 15 + normal(rng, 0, 0.005); });
  add(p + "healthy", {}, 1, constant());
  add(p + "camera_connected", {}, 1, constant());
  add(p + "camera_brightness_mean", {}, 131.4, drift(131, 0.4, 0, 255));
  add(p + "camera_brightness_stddev", {}, 3.2, drift(3.2, 0.1, 0, 50));
  add(p + "frames_dropped_total", {{"reason", "queue_full"}}, 41, counter(0.4));
  add(p + "frames_dropped_total", {{"reason", "camera_overrun"}}, 5, counter(0.05));
  add(p + "frames_invalid_total", {{"reason", "unreadable"}}, 0, constant());
  add(p + "frames_invalid_total", {{"reason", "wrong_size"}}, 0, constant());
  add(p + "frames_invalid_total", {{"reason", "inference_error"}}, 2, counter(0.003));
  add(p + "camera_reconnects_total", {}, 1, counter(0.002));
  add(p + "model_swaps_total", {{"result", "swapped"}}, 1, constant());
  add(p + "model_swaps_total", {{"result", "failed"}}, 0, constant());
  add(p + "last_inference_timestamp_seconds", {}, 0, constant());  // set per round
}

void SyntheticDevice::add_histogram(const std::string& base, const metrics::Labels& labels,
                                    const std::vector<double>& bounds, double median, double spread,
                                    bool live) {
  // One draw of the round's observations, shared by every bucket, _sum and _count.
  struct Round {
    std::vector<double> cumulative;
    double sum = 0, count = 0;
  };
  auto round = std::make_shared<Round>();
  auto draw = [=, this](Rng& rng) {
    round->cumulative.assign(bounds.size() + 1, 0);
    round->sum = 0;
    std::lognormal_distribution<double> d(std::log(median), spread);
    const auto n = static_cast<int>(frames_this_round_);
    for (int i = 0; i < n; ++i) {
      const double x = d(rng);
      round->sum += x;
      for (std::size_t b = 0; b <= bounds.size(); ++b) {
        if (b == bounds.size() || x <= bounds[b]) round->cumulative[b] += 1;
      }
    }
    round->count = n;
  };
  const double seed_frames = 2.6e6;  // what the counters start at (1.2 days at 25 fps)
  for (std::size_t b = 0; b <= bounds.size(); ++b) {
    metrics::Labels l = labels;
    l.emplace_back("le", b == bounds.size() ? "+Inf" : metrics::format_value(bounds[b]));
    const double share =
        b == bounds.size()
            ? 1.0
            : 0.5 * std::erfc(-std::log(bounds[b] / median) / (spread * std::sqrt(2.0)));
    add(base + "_bucket", l, std::round(seed_frames * share), [=](Rng& rng, double v) {
      if (!live) return v;
      if (b == 0) draw(rng);
      return v + round->cumulative[b];
    });
  }
  add(base + "_sum", labels, seed_frames * median * 1.1,
      [=](Rng&, double v) { return live ? v + round->sum : v; });
  add(base + "_count", labels, seed_frames,
      [=](Rng&, double v) { return live ? v + round->count : v; });
}

void SyntheticDevice::add_summary(const std::string& base, const metrics::Labels& labels,
                                  double median, bool live) {
  const std::pair<const char*, double> quantiles[] = {{"0.5", 1.0}, {"0.95", 1.6}, {"0.99", 2.3}};
  for (const auto& [q, factor] : quantiles) {
    metrics::Labels l = labels;
    l.emplace_back("quantile", q);
    const double level = median * factor;
    add(base, l, level,
        [=](Rng& rng, double v) { return live ? level * std::exp(normal(rng, 0, 0.03)) : v; });
  }
  add(base + "_sum", labels, 7500 * median * 1.1, [=](Rng& rng, double v) {
    return live ? 7500 * median * 1.1 * std::exp(normal(rng, 0, 0.01)) : v;
  });
  add(base + "_count", labels, 7500,
      [](Rng& rng, double v) { return std::round(std::max(0.0, v + normal(rng, 0, 30))); });
}

void SyntheticDevice::add_model(const std::string& version, bool live) {
  const std::string p = "edgefleet_runtime_";
  const metrics::Labels v = {{"model_version", version}};
  add(p + "frames_processed_total", v, 2.6e6, [=, this](Rng& rng, double prev) {
    if (!live) return prev;
    frames_this_round_ = poisson(rng, 25 * 15);
    return prev + frames_this_round_;
  });
  add_histogram(p + "inference_duration_seconds", v, metrics::kInferenceLatencySecondsBuckets,
                0.008, 0.35, live);
  add_summary(p + "inference_duration_recent_seconds", v, 0.008, live);
  add_histogram(p + "anomaly_score_ratio", v, metrics::kRelativeAnomalyScoreBuckets, 0.45, 0.4,
                live);
  add_summary(p + "anomaly_score_ratio_recent", v, 0.45, live);
  add(p + "anomaly_score_ratio_recent_mean", v, 0.47,
      [=](Rng& rng, double prev) { return live ? 0.47 * std::exp(normal(rng, 0, 0.02)) : prev; });
  add(p + "decisions_total", {v[0], {"decision", "pass"}}, 2.58e6,
      [=, this](Rng& rng, double prev) {
        return live ? prev + frames_this_round_ - poisson(rng, 2) : prev;
      });
  add(p + "decisions_total", {v[0], {"decision", "reject"}}, 2.1e4,
      [=](Rng& rng, double prev) { return live ? prev + poisson(rng, 2) : prev; });
  add(p + "model_info",
      {v[0],
       {"model_name", "cap-inspect"},
       {"release", live ? "2026.11.2" : "2026.10.1"},
       {"backend", "opencv_dnn"}},
      live ? 1 : 0, constant());
  add(p + "overrides_total", {v[0], {"from", "reject"}, {"to", "pass"}}, 12,
      [=](Rng& rng, double prev) { return live ? prev + poisson(rng, 0.01) : prev; });
  if (live) add(p + "operator_interactions_total", {{"kind", "override"}}, 12, counter(0.01));
}

telemetry::Batch SyntheticDevice::scrape() {
  const std::int64_t now = next_ms_ + static_cast<std::int64_t>(rng_() % 40);  // ms of jitter
  next_ms_ += 15'000;
  telemetry::Batch out;
  out.first_sequence = out.last_sequence = ++sequence_;
  out.series.reserve(series_.size());
  for (std::size_t i = 0; i < series_.size(); ++i) {
    values_[i] = steps_[i](rng_, values_[i]);
    if (series_[i].name == "edgefleet_runtime_last_inference_timestamp_seconds") {
      values_[i] = static_cast<double>(now - 37) / 1000.0;
    }
    telemetry::Series s = series_[i];
    s.points = {{now, values_[i]}};
    out.series.push_back(std::move(s));
  }
  return out;
}

telemetry::Batch SyntheticDevice::batch(int rounds) {
  std::vector<telemetry::Batch> parts;
  for (int i = 0; i < rounds; ++i)
    parts.push_back(scrape());
  return telemetry::merge(std::move(parts));
}

}  // namespace ef::bench
