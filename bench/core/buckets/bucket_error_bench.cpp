// How far the fleet quantile that histogram_quantile computes from summed classic buckets lands
// from the exact quantile of all the fleet's samples, for candidate bucket lists and simulated
// fleets (see README.md). Seeded: the same build prints the same table.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "core/metrics/buckets.hpp"
#include "histogram_quantile.hpp"

namespace {

using Rng = std::mt19937_64;
// Fills one device's observations; the device's own parameters are drawn from the same generator.
using DeviceSampler = std::function<void(Rng&, std::vector<double>&, std::size_t)>;

struct Profile {
  std::string name;
  DeviceSampler device;
};

struct Candidate {
  std::string name;
  std::vector<double> bounds;
};

struct Options {
  int trials = 40;
  std::size_t devices = 50;
  std::size_t per_device = 7500;  // 5 minutes at 25 fps
  std::vector<double> latency_proposal;
  std::vector<double> score_proposal;
  double max_p99_error = 0;  // percent; > 0: exit 1 when the proposed latency list does worse
};

double uniform(Rng& rng, double lo, double hi) {
  return std::uniform_real_distribution<double>(lo, hi)(rng);
}

double lognormal(Rng& rng, double median, double sigma) {
  return median * std::exp(sigma * std::normal_distribution<double>(0, 1)(rng));
}

double beta(Rng& rng, double a, double b) {
  const double x = std::gamma_distribution<double>(a, 1)(rng);
  const double y = std::gamma_distribution<double>(b, 1)(rng);
  return x / (x + y);
}

void lognormal_device(Rng& rng, std::vector<double>& out, std::size_t n, double median_lo,
                      double median_hi, double factor) {
  const double median = uniform(rng, median_lo, median_hi);
  const double sigma = uniform(rng, 0.2, 0.5);
  for (std::size_t i = 0; i < n; ++i)
    out.push_back(factor * lognormal(rng, median, sigma));
}

std::vector<Profile> latency_profiles() {
  return {
      {"fast",
       [](Rng& rng, auto& out, std::size_t n) { lognormal_device(rng, out, n, 0.002, 0.008, 1); }},
      {"mid",
       [](Rng& rng, auto& out, std::size_t n) { lognormal_device(rng, out, n, 0.015, 0.060, 1); }},
      {"slow-tail",  // a fifth of the devices put 2 % of frames at 150-400 ms
       [](Rng& rng, auto& out, std::size_t n) {
         const bool slow = uniform(rng, 0, 1) < 0.2;
         const double median = uniform(rng, 0.025, 0.060), sigma = uniform(rng, 0.25, 0.5);
         for (std::size_t i = 0; i < n; ++i)
           out.push_back(slow && uniform(rng, 0, 1) < 0.02 ? uniform(rng, 0.150, 0.400)
                                                           : lognormal(rng, median, sigma));
       }},
      {"bimodal",  // cache hit ~4 ms, miss ~40 ms; misses 5-30 % of frames per device
       [](Rng& rng, auto& out, std::size_t n) {
         const double miss = uniform(rng, 0.05, 0.30);
         const double hit_median = uniform(rng, 0.003, 0.005);
         const double miss_median = uniform(rng, 0.030, 0.050);
         for (std::size_t i = 0; i < n; ++i)
           out.push_back(uniform(rng, 0, 1) < miss ? lognormal(rng, miss_median, 0.3)
                                                   : lognormal(rng, hit_median, 0.3));
       }},
      {"throttled",  // the mid fleet with a quarter of the devices three times slower
       [](Rng& rng, auto& out, std::size_t n) {
         const double factor = uniform(rng, 0, 1) < 0.25 ? 3 : 1;
         lognormal_device(rng, out, n, 0.015, 0.060, factor);
       }},
      {"pareto",  // scale 5-20 ms, tail index 1.5-3 (p99 of a device 4.6-21.5 x its scale)
       [](Rng& rng, auto& out, std::size_t n) {
         const double scale = uniform(rng, 0.005, 0.020), alpha = uniform(rng, 1.5, 3.0);
         for (std::size_t i = 0; i < n; ++i)
           out.push_back(scale * std::pow(1 - uniform(rng, 0, 1), -1 / alpha));
       }},
  };
}

void good_scores(Rng& rng, std::vector<double>& out, std::size_t n, double shift, double reject) {
  const double scale = uniform(rng, 0.9, 1.1);  // devices differ a little (light, camera)
  for (std::size_t i = 0; i < n; ++i) {
    const double s = uniform(rng, 0, 1) < reject ? lognormal(rng, 1.7, 0.3) : beta(rng, 2, 8) * 2;
    out.push_back(shift * scale * s);
  }
}

std::vector<Profile> score_profiles() {
  return {
      {"beta(2,8)*2", [](Rng& rng, auto& out, std::size_t n) { good_scores(rng, out, n, 1, 0); }},
      {"2% rejects",  // rejects lognormal around 1.7 (mostly 1-3)
       [](Rng& rng, auto& out, std::size_t n) { good_scores(rng, out, n, 1, 0.02); }},
      {"drift +30%",
       [](Rng& rng, auto& out, std::size_t n) { good_scores(rng, out, n, 1.3, 0.02); }},
  };
}

// from, from * factor, ... up to the first bound >= to, each rounded to 6 decimals.
std::vector<double> geometric(double from, double to, double factor) {
  std::vector<double> out;
  for (double b = from;; b *= factor) {
    out.push_back(std::round(b * 1e6) / 1e6);
    if (b >= to * (1 - 1e-9)) break;
  }
  return out;
}

constexpr double kQuantiles[] = {0.5, 0.95, 0.99};
constexpr std::size_t kP99 = 2;

// errors[candidate][profile][quantile] = relative error of each trial.
using Errors = std::vector<std::vector<std::vector<std::vector<double>>>>;
// exact_p99[profile] = the exact fleet p99 of each trial.
using ExactP99 = std::vector<std::vector<double>>;

std::vector<double> simulate_fleet(const Profile& profile, const Options& o, std::uint64_t seed) {
  Rng rng(seed);
  std::vector<double> samples;
  samples.reserve(o.devices * o.per_device);
  for (std::size_t d = 0; d < o.devices; ++d)
    profile.device(rng, samples, o.per_device);
  // Faster or slower hardware and models move the whole fleet: a factor 0.7-1.4 (log-uniform)
  // lets the quantile fall anywhere inside a bucket instead of where one profile happens to put it.
  const double speed = std::exp(uniform(rng, std::log(0.7), std::log(1.4)));
  for (double& s : samples)
    s *= speed;
  // Summing the devices' bucket counts gives the buckets of the pooled samples: pool directly.
  std::sort(samples.begin(), samples.end());
  return samples;
}

Errors measure(const std::vector<Profile>& profiles, const std::vector<Candidate>& candidates,
               const Options& o, std::uint64_t seed_base, ExactP99& exact_p99) {
  exact_p99.assign(profiles.size(), {});
  Errors errors(candidates.size(), std::vector<std::vector<std::vector<double>>>(
                                       profiles.size(), std::vector<std::vector<double>>(3)));
  for (std::size_t p = 0; p < profiles.size(); ++p) {
    for (int t = 0; t < o.trials; ++t) {
      const auto samples = simulate_fleet(profiles[p], o, seed_base + 1000 * p + t);
      exact_p99[p].push_back(ef::bench::exact_quantile_sorted(samples, kQuantiles[kP99]));
      for (std::size_t c = 0; c < candidates.size(); ++c) {
        const auto buckets = ef::bench::bucketize_sorted(samples, candidates[c].bounds);
        for (std::size_t q = 0; q < 3; ++q) {
          const double exact = ef::bench::exact_quantile_sorted(samples, kQuantiles[q]);
          const double estimate = ef::bench::histogram_quantile(kQuantiles[q], buckets);
          errors[c][p][q].push_back(std::abs(estimate - exact) / exact);
        }
      }
    }
  }
  return errors;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

double worst(const std::vector<double>& v) {
  return *std::max_element(v.begin(), v.end());
}

void print_header(const std::vector<Profile>& profiles) {
  std::printf("%-26s %7s", "candidate", "buckets");
  for (const auto& p : profiles)
    std::printf(" %13s", p.name.c_str());
  std::printf(" %7s\n", "worst");
}

// One row per candidate: "median/worst" relative error of quantile q per profile, in percent.
void print_rows(const std::vector<Profile>& profiles, const std::vector<Candidate>& candidates,
                const Errors& errors, std::size_t q) {
  for (std::size_t c = 0; c < candidates.size(); ++c) {
    std::printf("%-26s %7zu", candidates[c].name.c_str(), candidates[c].bounds.size());
    double overall = 0;
    for (std::size_t p = 0; p < profiles.size(); ++p) {
      const auto& e = errors[c][p][q];
      overall = std::max(overall, worst(e));
      std::printf("   %5.1f/%5.1f", 100 * median(e), 100 * worst(e));
    }
    std::printf(" %6.1f%%\n", 100 * overall);
  }
}

// Where the quantile being estimated lies: the range of exact fleet p99s per profile.
void print_exact_p99(const std::vector<Profile>& profiles, const ExactP99& exact) {
  std::printf("exact p99, lowest-highest:");
  for (std::size_t p = 0; p < profiles.size(); ++p) {
    const auto [lo, hi] = std::minmax_element(exact[p].begin(), exact[p].end());
    std::printf("  %s %.4g-%.4g", profiles[p].name.c_str(), *lo, *hi);
  }
  std::printf("\n");
}

std::string join(const std::vector<double>& bounds) {
  std::ostringstream out;
  for (std::size_t i = 0; i < bounds.size(); ++i)
    out << (i ? ", " : "") << bounds[i];
  return out.str();
}

}  // namespace

namespace {

// "a,b,c": finite numbers, strictly ascending; anything else ends the run.
std::vector<double> parse_list(const char* text) {
  std::vector<double> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    char* end = nullptr;
    const double v = std::strtod(item.c_str(), &end);
    if (item.empty() || *end != '\0' || !std::isfinite(v)) {
      out.clear();
      break;
    }
    out.push_back(v);
  }
  if (out.empty() ||
      std::adjacent_find(out.begin(), out.end(), std::greater_equal<>()) != out.end()) {
    std::fprintf(stderr, "bucket_error_bench: a bound list is finite ascending numbers, a,b,c\n");
    std::exit(2);
  }
  return out;
}

[[noreturn]] void usage() {
  std::fprintf(
      stderr,
      "usage: bucket_error_bench [--trials N] [--devices N] [--latency a,b,..] [--score a,b,..] "
      "[--max-p99-error PERCENT]\n  (default lists: src/core/metrics/buckets.hpp)\n");
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  o.latency_proposal = ef::metrics::kInferenceLatencySecondsBuckets;
  o.score_proposal = ef::metrics::kRelativeAnomalyScoreBuckets;
  if (argc % 2 == 0) usage();  // every flag takes a value
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--trials")
      o.trials = std::max(1, std::atoi(argv[i + 1]));
    else if (flag == "--devices")  // a cell or a site instead of the fleet
      o.devices = static_cast<std::size_t>(std::max(1, std::atoi(argv[i + 1])));
    else if (flag == "--latency")
      o.latency_proposal = parse_list(argv[i + 1]);
    else if (flag == "--score")
      o.score_proposal = parse_list(argv[i + 1]);
    else if (flag == "--max-p99-error")
      o.max_p99_error = std::atof(argv[i + 1]);
    else
      usage();
  }
  return o;
}

// The lists in use before issue 19's measurements, kept here to compare against.
const std::vector<double> kLatencyBefore = {0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015,
                                            0.02,  0.03,  0.05,  0.1,   0.25,   1.0};
const std::vector<double> kScoreBefore = {0.1, 0.25, 0.4,  0.5, 0.6, 0.7, 0.8,
                                          0.9, 1.0,  1.25, 1.5, 2.0, 4.0};
// client_golang's DefBuckets (the Python and Java clients use the same).
const std::vector<double> kDefBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

// Returns the worst relative p99 error of the proposed list.
double latency_report(const Options& o) {
  const auto profiles = latency_profiles();
  const std::vector<Candidate> candidates = {
      {"DefBuckets (client libs)", kDefBuckets},
      {"edgefleet before", kLatencyBefore},
      {"geometric x1.25 1ms-2.5s", geometric(0.001, 2.5, 1.25)},
      {"geometric x1.2 1ms-2.5s", geometric(0.001, 2.5, 1.2)},
      {"geometric x1.15 1ms-2.5s", geometric(0.001, 2.5, 1.15)},
      {"geometric x1.1 1ms-2.5s", geometric(0.001, 2.5, 1.1)},
      {"proposed", o.latency_proposal},
  };
  ExactP99 exact;
  const auto errors = measure(profiles, candidates, o, 1, exact);
  std::printf(
      "\nLatency: fleet p99 from summed buckets vs exact p99, relative error %%, "
      "median/worst of %d trials\n",
      o.trials);
  print_header(profiles);
  print_rows(profiles, candidates, errors, kP99);
  print_exact_p99(profiles, exact);
  for (std::size_t q : {std::size_t{0}, std::size_t{1}}) {
    std::printf("proposed, p%.0f:\n", 100 * kQuantiles[q]);
    print_rows(profiles, {candidates.back()}, {errors.back()}, q);
  }
  std::printf("proposed = %s\n", join(o.latency_proposal).c_str());
  double overall = 0;
  for (const auto& profile : errors.back())
    overall = std::max(overall, worst(profile[kP99]));
  return overall;
}

void score_report(const Options& o) {
  const auto profiles = score_profiles();
  const std::vector<Candidate> candidates = {
      {"edgefleet before", kScoreBefore},
      {"proposed", o.score_proposal},
  };
  ExactP99 exact;
  const auto errors = measure(profiles, candidates, o, 1000000, exact);
  std::printf("\nAnomaly score / threshold: relative error %%, median/worst of %d trials\n",
              o.trials);
  for (std::size_t q = 0; q < 3; ++q) {
    std::printf("p%.0f:\n", 100 * kQuantiles[q]);
    print_header(profiles);
    print_rows(profiles, candidates, errors, q);
  }
  print_exact_p99(profiles, exact);
  std::printf("proposed = %s\n", join(o.score_proposal).c_str());
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  std::printf(
      "bucket_error_bench: %zu devices x %zu observations, %d seeded trials per profile; "
      "histogram_quantile as PromQL computes it on classic buckets\n",
      o.devices, o.per_device, o.trials);
  const double latency_p99_worst = latency_report(o);
  score_report(o);
  if (o.max_p99_error > 0 && 100 * latency_p99_worst > o.max_p99_error) {
    std::fprintf(
        stderr,
        "bucket_error_bench: proposed latency list: worst fleet p99 error %.1f %% > %.1f %%\n",
        100 * latency_p99_worst, o.max_p99_error);
    return 1;
  }
  return 0;
}
