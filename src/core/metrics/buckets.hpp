// Histogram bucket bounds fixed fleet-wide.
//
// Fleet percentiles come from summing every device's buckets and running histogram_quantile, so
// every device must use the same bounds, and the bounds must sit close together wherever a
// fleet quantile may fall: PromQL interpolates linearly inside a bucket, and the error grows with
// the bucket's width. Measured by bench/core/buckets (bucket_error_bench, README there): 50
// devices x 7,500 observations, six latency profiles x 200 seeded trials, fleet p99 from summed
// buckets vs the exact p99 of all samples. Changing a list splits the fleet's series: do it only
// with a new metric name (nothing was in the field when these were chosen).
#pragma once

#include <vector>

namespace ef::metrics {

// Per-frame inference latency in seconds: geometric, each bound 1.25 x the previous (rounded to 3
// digits, so 1.26 at most), 1 ms to 1 s, then 2.5 s (a fleet p99 over a second is an outage, not
// a figure to read closely). Fleet p99 error: median 1.4-2.7 % per profile, worst 4.6 % (the 13
// bounds used before: worst 147 %, the client libraries' DefBuckets 66 %); p95 worst 3.4 %, p50
// 1.3 %. Cost: 33 bounds + +Inf + _sum + _count = 36 series per model version per device.
inline const std::vector<double> kInferenceLatencySecondsBuckets = {
    0.001,   0.00125, 0.00156, 0.00195, 0.00244, 0.00305, 0.00381, 0.00477, 0.00596,
    0.00745, 0.00931, 0.0116,  0.0146,  0.0182,  0.0227,  0.0284,  0.0355,  0.0444,
    0.0555,  0.0694,  0.0867,  0.108,   0.136,   0.169,   0.212,   0.265,   0.331,
    0.414,   0.517,   0.646,   0.808,   1.0,     2.5};

// Anomaly score relative to the model's threshold (1.0 = the reject line, a bound, so the share
// above it is exact): steps of 0.1 from 0.2 to 1.2 where pass turns to reject, wider for
// clearly bad frames, one bucket for clearly good ones below 0.2. Fleet p95 and p99 error <= 1.4 %
// over three score profiles (the 13 bounds used before: p95 5.4 %, p99 14.8 %). 18 bounds = 21
// series per model version per device.
inline const std::vector<double> kRelativeAnomalyScoreBuckets = {
    0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.35, 1.5, 1.7, 2.0, 2.5, 3.0, 4.0};

}  // namespace ef::metrics
