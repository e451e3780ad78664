// Histogram bucket bounds fixed fleet-wide.
//
// Fleet percentiles come from summing every device's buckets and running histogram_quantile, so
// every device must use the same bounds, and the bounds must sit close together around the values
// expected (13 hand-picked buckets gave ~9 % error on a fleet p99 in simulation, the client
// libraries' default buckets 58 %; see the telemetry research). Changing a list splits the fleet's
// series: do it only with a new metric name.
#pragma once

#include <vector>

namespace ef::metrics {

// Per-frame inference latency in seconds: a small CPU model takes 1-20 ms, an overloaded or
// throttled device tens to hundreds.
inline const std::vector<double> kInferenceLatencySecondsBuckets = {
    0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.1, 0.25, 1.0};

// Anomaly score relative to the model's threshold (1.0 = the reject line): dense around 1 where
// pass turns to reject, coarser for clearly good and clearly bad frames.
inline const std::vector<double> kRelativeAnomalyScoreBuckets = {
    0.1, 0.25, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.25, 1.5, 2.0, 4.0};

}  // namespace ef::metrics
