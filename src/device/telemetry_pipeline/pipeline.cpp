#include "device/telemetry_pipeline/pipeline.hpp"

#include <malloc.h>

#include <charconv>
#include <fstream>
#include <string>

#include "core/telemetry/batch_codec.hpp"

namespace ef::telemetry_pipeline {

namespace {

telemetry::Series gauge(std::string name, double value, std::int64_t t,
                        metrics::Labels labels = {}) {
  return {std::move(name), std::move(labels), {{t, value}}};
}

// VmRSS from /proc/self/status, in bytes; nullopt when unreadable.
std::optional<double> resident_bytes() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (!line.starts_with("VmRSS:")) continue;
    std::size_t i = 6;
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t'))
      ++i;
    std::uint64_t kib = 0;
    const auto [end, ec] = std::from_chars(line.data() + i, line.data() + line.size(), kib);
    if (ec == std::errc()) return double(kib) * 1024.0;
  }
  return std::nullopt;
}

// Drops points that do not come after the previous one of their series (the device clock went
// back between rounds): the server refuses a batch whose series go back in time.
std::uint64_t keep_increasing(telemetry::Batch& batch) {
  std::uint64_t dropped = 0;
  for (auto& s : batch.series) {
    std::int64_t last = INT64_MIN;
    std::erase_if(s.points, [&](const telemetry::Point& p) {
      if (p.timestamp_ms > last) {
        last = p.timestamp_ms;
        return false;
      }
      ++dropped;
      return true;
    });
  }
  std::erase_if(batch.series, [](const telemetry::Series& s) { return s.points.empty(); });
  return dropped;
}

}  // namespace

std::int64_t unix_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Result<std::unique_ptr<Pipeline>> Pipeline::open(Options options, Collect collect, Send send,
                                                 const UpdateCounts* updates) {
  // The spool bounds its sealed batches; the open log (at most backlog_rounds rounds, about
  // 40 KB at 140 series) lives in the last eighth, so the folder as a whole stays in bounds.
  EF_TRY(auto spool, spool::Spool::open({.dir = options.dir,
                                         .max_bytes = options.max_spool_bytes / 8 * 7,
                                         .sync = options.sync}));
  return std::unique_ptr<Pipeline>(new Pipeline(std::move(options), std::move(spool),
                                                std::move(collect), std::move(send), updates));
}

Pipeline::Pipeline(Options options, spool::Spool spool, Collect collect, Send send,
                   const UpdateCounts* updates)
    : options_(std::move(options)),
      spool_(std::move(spool)),
      collect_(std::move(collect)),
      send_(std::move(send)),
      updates_(updates),
      backoff_({.initial = options_.min_backoff, .max = options_.max_backoff, .jitter = true}) {}

std::vector<telemetry::Series> Pipeline::own_figures(std::int64_t t) const {
  const auto s = spool_.stats();
  std::vector<telemetry::Series> out;
  out.push_back(gauge("edgefleet_agent_spool_bytes", double(s.bytes), t));
  out.push_back(gauge("edgefleet_agent_spool_segments", double(s.segments), t));
  out.push_back(gauge("edgefleet_agent_spool_pending_scrapes", double(s.pending_records), t));
  out.push_back(
      gauge("edgefleet_agent_spool_evicted_scrapes_total", double(s.evicted_records_total), t));
  out.push_back(
      gauge("edgefleet_agent_telemetry_dropped_batches_total", double(dropped_batches_), t));
  out.push_back(gauge("edgefleet_agent_telemetry_clock_skips_total", double(clock_skips_), t));
  out.push_back(
      gauge("edgefleet_agent_telemetry_corrupt_rounds_total", double(corrupt_rounds_), t));
  if (auto rss = resident_bytes())
    out.push_back(gauge("edgefleet_agent_resident_memory_bytes", *rss, t));
  if (updates_) {
    out.push_back(gauge("edgefleet_agent_updates_total", double(updates_->committed), t,
                        {{"result", "committed"}}));
    out.push_back(gauge("edgefleet_agent_updates_total", double(updates_->failed), t,
                        {{"result", "failed"}}));
    out.push_back(gauge("edgefleet_agent_updates_total", double(updates_->rolled_back), t,
                        {{"result", "rolled_back"}}));
  }
  return out;
}

Status Pipeline::round(std::int64_t now_ms) {
  auto st = collect_spool_deliver(now_ms);
  // The round's temporaries are gone by now; a few syscalls every 15 s.
  if (options_.trim_heap) ::malloc_trim(0);
  return st;
}

Status Pipeline::collect_spool_deliver(std::int64_t now_ms) {
  telemetry::Batch scrape;
  scrape.series = collect_ ? collect_(now_ms) : std::vector<telemetry::Series>{};
  auto own = own_figures(now_ms);
  std::move(own.begin(), own.end(), std::back_inserter(scrape.series));
  for (auto& s : scrape.series)
    telemetry::sort_labels(s.labels);
  EF_TRY(auto record, telemetry::encode_batch(scrape));
  EF_CHECK(spool_.append(record));
  EF_CHECK(seal_if_due());
  deliver(now_ms);
  return {};
}

// Seals one- or ten-minute batches (see the contract); a record that no longer decodes (flash
// corruption the CRC did not catch) is left out rather than blocking the spool.
Status Pipeline::seal_if_due() {
  const auto stats = spool_.stats();
  // While the server is away one short batch stays sealed as the probe that finds it back.
  const bool long_batches = !delivering_ && stats.segments > 0;
  const auto due = std::uint64_t(long_batches ? options_.backlog_rounds : options_.live_rounds);
  if (stats.open_records < due) return {};
  return spool_.seal([this](const std::vector<spool::Record>& records) -> Result<std::string> {
    std::vector<telemetry::Batch> batches;
    for (const auto& r : records) {
      auto b = telemetry::decode_batch(r.bytes);
      if (!b) {
        ++corrupt_rounds_;
        continue;
      }
      b->first_sequence = b->last_sequence = r.sequence;
      batches.push_back(std::move(*b));
    }
    auto merged = telemetry::merge(std::move(batches));
    merged.first_sequence = records.front().sequence;
    merged.last_sequence = records.back().sequence;
    clock_skips_ += keep_increasing(merged);
    return telemetry::encode_batch(merged);
  });
}

void Pipeline::retry_now() {
  next_attempt_ms_ = 0;
  backoff_.reset();
}

// Sends the oldest batches; after a failure waits a jittered, growing back-off (up to
// Options::max_backoff) before trying again, so a fleet does not come back in step.
void Pipeline::deliver(std::int64_t now_ms) {
  if (now_ms < next_attempt_ms_) return;
  for (std::size_t i = 0; i < options_.max_batches_per_round; ++i) {
    auto oldest = spool_.oldest();
    if (!oldest || !*oldest) return;
    const auto outcome = send_((*oldest)->bytes);
    if (outcome == Delivery::retry_later) {
      delivering_ = false;
      next_attempt_ms_ = now_ms + backoff_.next().count();
      return;
    }
    delivering_ = true;
    backoff_.reset();
    if (outcome == Delivery::refused) ++dropped_batches_;
    if (!spool_.remove((*oldest)->id)) return;
  }
}

}  // namespace ef::telemetry_pipeline
