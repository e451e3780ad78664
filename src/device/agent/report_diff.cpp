#include "device/agent/report_diff.hpp"

namespace ef::agent {

namespace {
constexpr const char* kRuntime = "runtime";
// Live figures: they change at every look, so they alone never make a report worth sending.
// ("hardware" carries disk_free_bytes.)
bool is_live(const std::string& key) {
  return key == kRuntime || key == "hardware";
}
}  // namespace

json::Json ReportDiff::next(const json::Json& full, Clock::time_point now) {
  pending_at_ = now;
  if (!acked_.is_object()) {
    pending_ = full;
    return pending_;
  }
  json::Json body = json::Json::object();
  for (const auto& [key, value] : full.items()) {
    if (is_live(key)) continue;
    if (!acked_.contains(key) || acked_[key] != value) body[key] = value;
  }
  const bool due = now - runtime_sent_ >= runtime_every_;
  // The runtime starting or stopping is news, not a figure.
  const bool appeared = full.contains(kRuntime) &&
                        acked_.value(kRuntime, json::Json()).is_null() != full[kRuntime].is_null();
  if (!body.empty() || due || appeared) {
    for (const auto& [key, value] : full.items())
      if (is_live(key)) body[key] = value;
  }
  pending_ = body;
  return body;
}

void ReportDiff::acknowledged() {
  if (!pending_.is_object()) return;
  if (!acked_.is_object()) acked_ = json::Json::object();
  for (const auto& [key, value] : pending_.items())
    acked_[key] = value;
  if (pending_.contains(kRuntime) || pending_.contains("hardware")) runtime_sent_ = pending_at_;
  pending_ = nullptr;
}

void ReportDiff::lost() {
  acked_ = nullptr;
  pending_ = nullptr;
}

}  // namespace ef::agent
