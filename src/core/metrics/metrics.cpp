#include "core/metrics/metrics.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>

namespace ef::metrics {

namespace {

enum Type { kCounter, kGauge, kHistogram, kSummary, kGaugeFn };

const char* type_name(int type) {
  switch (type) {
    case kCounter:
      return "counter";
    case kHistogram:
      return "histogram";
    case kSummary:
      return "summary";
    default:
      return "gauge";
  }
}

void append_escaped(std::string& out, std::string_view text, bool quote) {
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (quote && c == '"') {
      out += "\\\"";
    } else {
      out += c;
    }
  }
}

// Writes {a="x",b="y"[,extra_name="extra_value"]}, or nothing for no labels at all.
void append_labels(std::string& out, const Labels& labels, std::string_view extra_name = {},
                   std::string_view extra_value = {}) {
  if (labels.empty() && extra_name.empty()) return;
  out += '{';
  bool first = true;
  for (const auto& [name, value] : labels) {
    if (!first) out += ',';
    first = false;
    out += name;
    out += "=\"";
    append_escaped(out, value, true);
    out += '"';
  }
  if (!extra_name.empty()) {
    if (!first) out += ',';
    out += extra_name;
    out += "=\"";
    out += extra_value;
    out += '"';
  }
  out += '}';
}

void append_sample(std::string& out, std::string_view name, std::string_view suffix,
                   const Labels& labels, double value, std::string_view extra_name = {},
                   std::string_view extra_value = {}) {
  out += name;
  out += suffix;
  append_labels(out, labels, extra_name, extra_value);
  out += ' ';
  out += format_value(value);
  out += '\n';
}

bool is_name_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// The series names a family writes.
std::vector<std::string> exposed_names(std::string_view name, int type) {
  const std::string base(name);
  switch (type) {
    case kHistogram:
      return {base + "_bucket", base + "_sum", base + "_count"};
    case kSummary:
      return {base, base + "_sum", base + "_count"};
    default:
      return {base};
  }
}

}  // namespace

bool valid_metric_name(std::string_view name) {
  if (name.empty() || !(is_name_start(name[0]) || name[0] == ':')) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return is_name_start(c) || is_digit(c) || c == ':'; });
}

bool valid_label_name(std::string_view name) {
  if (name.empty() || !is_name_start(name[0]) || name.starts_with("__")) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return is_name_start(c) || is_digit(c); });
}

std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buffer[64];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, v);
  if (ec != std::errc()) return "NaN";
  return std::string(buffer, end);
}

void Counter::inc(double amount) {
  if (!(amount > 0)) return;  // also drops NaN: a counter never goes down
  value_.fetch_add(amount, std::memory_order_relaxed);
}

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)),
      counts_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1)) {}

void Histogram::observe(double v) {
  if (std::isnan(v)) return;
  const auto index = static_cast<std::size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v) -
                                              bounds_.begin());
  counts_[index].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot s;
  s.upper_bounds = bounds_;
  s.cumulative.resize(bounds_.size() + 1);
  std::uint64_t running = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    running += counts_[i].load(std::memory_order_relaxed);
    s.cumulative[i] = running;
  }
  s.count = running;
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

void Summary::observe_at(double v, Clock::time_point now) {
  if (std::isnan(v)) return;
  std::lock_guard lock(mutex_);
  window_.add(v, now);
  sum_ += v;
  ++count_;
}

WindowStats Summary::window_stats(Clock::time_point now) const {
  std::lock_guard lock(mutex_);
  return window_.stats(now);
}

double Summary::sum() const {
  std::lock_guard lock(mutex_);
  return sum_;
}

std::uint64_t Summary::count() const {
  std::lock_guard lock(mutex_);
  return count_;
}

struct Registry::Family {
  std::string name;
  std::string help;
  int type = kCounter;
  std::vector<std::string> label_names;
  std::vector<double> bounds;
  struct Child {
    Labels labels;
    std::unique_ptr<Counter> counter;
    std::unique_ptr<Gauge> gauge;
    std::unique_ptr<Histogram> histogram;
    std::unique_ptr<Summary> summary;
    std::function<double()> read;
    std::function<GaugeReadings()> read_all;
  };
  std::deque<Child> children;

  Child* find(const Labels& labels) {
    for (auto& child : children) {
      if (child.labels == labels) return &child;
    }
    return nullptr;
  }
};

Registry::Registry() = default;
Registry::~Registry() = default;

Result<Registry::Family*> Registry::family(std::string_view name, std::string_view help, int type,
                                           const Labels& labels,
                                           const std::vector<double>* bounds) {
  const std::string where = "metric " + std::string(name);
  if (!valid_metric_name(name)) {
    return make_error(Errc::invalid_argument,
                      where + ": not a valid Prometheus metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)");
  }
  std::vector<std::string> label_names;
  std::set<std::string_view> seen;
  for (const auto& [label, value] : labels) {
    if (!valid_label_name(label)) {
      return make_error(Errc::invalid_argument,
                        where + ": label name '" + label +
                            "' is not valid ([a-zA-Z_][a-zA-Z0-9_]*, no leading __)");
    }
    if ((type == kHistogram && label == "le") || (type == kSummary && label == "quantile")) {
      return make_error(Errc::invalid_argument, where + ": label name '" + label + "' is reserved");
    }
    if (!seen.insert(label).second) {
      return make_error(Errc::invalid_argument, where + ": label '" + label + "' given twice");
    }
    label_names.push_back(label);
  }
  if (bounds) {
    for (std::size_t i = 0; i < bounds->size(); ++i) {
      if (!std::isfinite((*bounds)[i]) || (i > 0 && !((*bounds)[i - 1] < (*bounds)[i]))) {
        return make_error(Errc::invalid_argument,
                          where + ": bucket bounds must be finite and strictly increasing");
      }
    }
  }
  for (auto& family : families_) {
    if (family->name != name) continue;
    // gauge and gauge_fn children may share a family: both expose as gauges.
    const bool both_gauges = (family->type == kGauge || family->type == kGaugeFn) &&
                             (type == kGauge || type == kGaugeFn);
    if (family->type != type && !both_gauges) {
      return make_error(Errc::exists,
                        where + ": already registered as a " + type_name(family->type));
    }
    if (family->help != help) {
      return make_error(Errc::exists, where + ": already registered with different help text");
    }
    if (family->label_names != label_names) {
      return make_error(Errc::invalid_argument,
                        where + ": every series of a metric needs the same label names");
    }
    if (bounds && family->bounds != *bounds) {
      return make_error(Errc::invalid_argument,
                        where + ": already registered with different bucket bounds");
    }
    return family.get();
  }
  // Exposed series names must not collide with another family's (a histogram "x" and a gauge
  // "x_count" would be ambiguous to a parser).
  for (const auto& mine : exposed_names(name, type)) {
    for (const auto& family : families_) {
      for (const auto& theirs : exposed_names(family->name, family->type)) {
        if (mine == theirs) {
          return make_error(Errc::exists, where + ": its series " + mine +
                                              " would collide with metric " + family->name);
        }
      }
    }
  }
  auto family = std::make_unique<Family>();
  family->name = std::string(name);
  family->help = std::string(help);
  family->type = type;
  family->label_names = std::move(label_names);
  if (bounds) family->bounds = *bounds;
  families_.push_back(std::move(family));
  return families_.back().get();
}

Result<Counter*> Registry::counter(std::string_view name, std::string_view help,
                                   const Labels& labels) {
  std::lock_guard lock(mutex_);
  EF_TRY(Family * family, family(name, help, kCounter, labels, nullptr));
  if (auto* child = family->find(labels)) return child->counter.get();
  auto& child = family->children.emplace_back();
  child.labels = labels;
  child.counter = std::make_unique<Counter>();
  return child.counter.get();
}

Result<Gauge*> Registry::gauge(std::string_view name, std::string_view help, const Labels& labels) {
  std::lock_guard lock(mutex_);
  EF_TRY(Family * family, family(name, help, kGauge, labels, nullptr));
  if (auto* child = family->find(labels)) {
    if (!child->gauge) {
      return make_error(Errc::exists, "metric " + std::string(name) +
                                          ": this series is already a read-at-scrape gauge");
    }
    return child->gauge.get();
  }
  auto& child = family->children.emplace_back();
  child.labels = labels;
  child.gauge = std::make_unique<Gauge>();
  return child.gauge.get();
}

Result<Histogram*> Registry::histogram(std::string_view name, std::string_view help,
                                       const std::vector<double>& upper_bounds,
                                       const Labels& labels) {
  std::lock_guard lock(mutex_);
  EF_TRY(Family * family, family(name, help, kHistogram, labels, &upper_bounds));
  if (auto* child = family->find(labels)) return child->histogram.get();
  auto& child = family->children.emplace_back();
  child.labels = labels;
  child.histogram = std::make_unique<Histogram>(upper_bounds);
  return child.histogram.get();
}

Result<Summary*> Registry::summary(std::string_view name, std::string_view help,
                                   const Labels& labels, WindowOptions window) {
  std::lock_guard lock(mutex_);
  EF_TRY(Family * family, family(name, help, kSummary, labels, nullptr));
  if (auto* child = family->find(labels)) return child->summary.get();
  auto& child = family->children.emplace_back();
  child.labels = labels;
  child.summary = std::make_unique<Summary>(window);
  return child.summary.get();
}

Status Registry::gauge_fn(std::string_view name, std::string_view help, const Labels& labels,
                          std::function<double()> read) {
  std::lock_guard lock(mutex_);
  EF_TRY(Family * family, family(name, help, kGaugeFn, labels, nullptr));
  if (auto* child = family->find(labels)) {
    if (!child->read) {
      return make_error(Errc::exists, "metric " + std::string(name) +
                                          ": this series is already a settable gauge");
    }
    child->read = std::move(read);
    return {};
  }
  auto& child = family->children.emplace_back();
  child.labels = labels;
  child.read = std::move(read);
  return {};
}

Status Registry::gauges_fn(std::string_view name, std::string_view help,
                           const std::vector<std::string>& label_names,
                           std::function<GaugeReadings()> read) {
  Labels shape;
  for (const auto& n : label_names)
    shape.emplace_back(n, "");
  std::lock_guard lock(mutex_);
  EF_TRY(Family * family, family(name, help, kGaugeFn, shape, nullptr));
  if (!family->children.empty()) {
    return make_error(Errc::exists, "metric " + std::string(name) + ": already registered");
  }
  family->children.emplace_back().read_all = std::move(read);
  return {};
}

namespace {

bool same_label_names(const Labels& labels, const std::vector<std::string>& names) {
  if (labels.size() != names.size()) return false;
  for (std::size_t i = 0; i < names.size(); ++i)
    if (labels[i].first != names[i]) return false;
  return true;
}

}  // namespace

std::string Registry::expose() const {
  std::lock_guard lock(mutex_);
  std::string out;
  out.reserve(families_.size() * 256);
  const auto now = Clock::now();
  for (const auto& family : families_) {
    out += "# HELP ";
    out += family->name;
    out += ' ';
    append_escaped(out, family->help, false);
    out += "\n# TYPE ";
    out += family->name;
    out += ' ';
    out += type_name(family->type);
    out += '\n';
    const std::string& name = family->name;
    for (const auto& child : family->children) {
      if (child.counter) {
        append_sample(out, name, "", child.labels, child.counter->value());
      } else if (child.gauge) {
        append_sample(out, name, "", child.labels, child.gauge->value());
      } else if (child.read) {
        append_sample(out, name, "", child.labels, child.read());
      } else if (child.read_all) {
        for (const auto& [labels, value] : child.read_all())
          if (same_label_names(labels, family->label_names))
            append_sample(out, name, "", labels, value);
      } else if (child.histogram) {
        const auto snap = child.histogram->snapshot();
        for (std::size_t i = 0; i < snap.upper_bounds.size(); ++i) {
          append_sample(out, name, "_bucket", child.labels, static_cast<double>(snap.cumulative[i]),
                        "le", format_value(snap.upper_bounds[i]));
        }
        append_sample(out, name, "_bucket", child.labels, static_cast<double>(snap.count), "le",
                      "+Inf");
        append_sample(out, name, "_sum", child.labels, snap.sum);
        append_sample(out, name, "_count", child.labels, static_cast<double>(snap.count));
      } else if (child.summary) {
        const auto stats = child.summary->window_stats(now);
        const double quantiles[] = {stats.p50, stats.p95, stats.p99};
        for (std::size_t i = 0; i < std::size(kSummaryQuantiles); ++i) {
          append_sample(out, name, "", child.labels, quantiles[i], "quantile",
                        format_value(kSummaryQuantiles[i]));
        }
        append_sample(out, name, "_sum", child.labels, child.summary->sum());
        append_sample(out, name, "_count", child.labels,
                      static_cast<double>(child.summary->count()));
      }
    }
  }
  return out;
}

}  // namespace ef::metrics
