#include "server/telemetry_ingest/stamp.hpp"

#include <algorithm>
#include <array>
#include <set>
#include <string_view>

namespace ef::telemetry_ingest {

namespace {

constexpr std::array<std::string_view, 6> kIdentityLabels = {"cell", "device",  "instance",
                                                             "job",  "release", "site"};
constexpr std::array<std::string_view, 3> kPrefixes = {"edgefleet_device_", "edgefleet_agent_",
                                                       "edgefleet_runtime_"};

std::int64_t to_ms(UtcTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

// The history entry in effect at t: the newest whose `since` is not after t, else the oldest
// (samples from before the first report belong to what the device ran then, the best we know).
const store::RunningVersion* running_at(const std::vector<store::RunningVersion>& history,
                                        std::int64_t t) {
  if (history.empty()) return nullptr;
  auto it = std::upper_bound(
      history.begin(), history.end(), t,
      [](std::int64_t v, const store::RunningVersion& r) { return v < to_ms(r.since); });
  return it == history.begin() ? &history.front() : &*std::prev(it);
}

std::optional<std::string> label(const telemetry::Series& s, std::string_view name) {
  for (const auto& [k, v] : s.labels)
    if (k == name) return v;
  return std::nullopt;
}

const char* refusal(const telemetry::Series& s) {
  if (std::none_of(kPrefixes.begin(), kPrefixes.end(),
                   [&](std::string_view p) { return s.name.starts_with(p); })) {
    return "foreign_metric";
  }
  for (const auto& [k, v] : s.labels)
    if (std::find(kIdentityLabels.begin(), kIdentityLabels.end(), k) != kIdentityLabels.end())
      return "forged_label";
  return nullptr;
}

struct Stamper {
  const store::Device& device;
  const std::vector<store::RunningVersion>& history;
  Stamped out;

  // Splits s's points by the release (and, for series without their own, the model version) in
  // effect at each point, and appends the stamped pieces.
  void add(telemetry::Series s, bool own_model_version) {
    std::map<std::pair<std::string, std::string>, telemetry::Series> pieces;
    for (const auto& p : s.points) {
      const auto* r = running_at(history, p.timestamp_ms);
      const std::string release = r ? r->release : "";
      const std::string model = own_model_version || !r ? "" : r->model_version;
      auto& piece = pieces[{release, model}];
      if (piece.points.empty()) piece = stamped_copy(s, release, model);
      piece.points.push_back(p);
    }
    for (auto& [key, piece] : pieces) {
      out.accepted_samples += piece.points.size();
      out.series.push_back(std::move(piece));
    }
  }

  telemetry::Series stamped_copy(const telemetry::Series& s, const std::string& release,
                                 const std::string& model) const {
    telemetry::Series c{s.name, s.labels, {}};
    auto put = [&](std::string_view k, const std::string& v) {
      if (!v.empty()) c.labels.emplace_back(std::string(k), v);
    };
    put("device", device.id);
    put("site", device.site);
    put("cell", device.cell);
    put("release", release);
    put("model_version", model);
    telemetry::sort_labels(c.labels);
    return c;
  }
};

std::uint64_t drop_points_outside(telemetry::Series& s, std::int64_t low, std::int64_t high,
                                  std::map<std::string, std::uint64_t>& refused) {
  std::uint64_t dropped = 0;
  std::erase_if(s.points, [&](const telemetry::Point& p) {
    const char* reason = p.timestamp_ms > high  ? "future_timestamp"
                         : p.timestamp_ms < low ? "too_old"
                                                : nullptr;
    if (reason) ++refused[reason], ++dropped;
    return reason != nullptr;
  });
  return dropped;
}

}  // namespace

Result<Stamped> stamp(telemetry::Batch batch, const store::Device& device,
                      const std::vector<store::RunningVersion>& history, const StampLimits& limits,
                      std::int64_t now_ms) {
  std::set<std::string> reported_models;
  for (const auto& r : history)
    if (!r.model_version.empty()) reported_models.insert(r.model_version);
  Stamper st{device, history, {}};
  const std::int64_t high = now_ms + limits.max_future.count();
  const std::int64_t low = now_ms - limits.max_age.count();
  std::size_t kept = 0;
  for (auto& s : batch.series) {
    const char* reason = refusal(s);
    if (!reason && kept >= limits.max_series) reason = "series_limit";
    if (reason) {
      st.out.refused_samples[reason] += s.points.size();
      continue;
    }
    const auto model = label(s, "model_version");
    if (model && !reported_models.contains(*model)) {
      return make_error(Errc::refused, "model_version '" + *model + "' of " + s.name +
                                           " was never reported by device " + device.id +
                                           ": check in first");
    }
    ++kept;
    drop_points_outside(s, low, high, st.out.refused_samples);
    if (!s.points.empty()) st.add(std::move(s), model.has_value());
  }
  return std::move(st.out);
}

}  // namespace ef::telemetry_ingest
