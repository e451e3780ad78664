#include "server/prometheus_relay/relay.hpp"

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <iostream>
#include <mutex>
#include <optional>
#include <thread>

#include "core/common/backoff.hpp"
#include "core/common/time.hpp"
#include "core/spool/spool.hpp"
#include "core/telemetry/batch_codec.hpp"
#include "core/telemetry/remote_write.hpp"
#include "server/prometheus_relay/remote_write_client.hpp"

namespace ef::prometheus_relay {

namespace {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A segment is its records framed as [u32 little-endian length][record], oldest first.
Result<std::string> frame_records(const std::vector<spool::Record>& records) {
  std::string out;
  for (const auto& r : records) {
    const auto n = static_cast<std::uint32_t>(r.bytes.size());
    char length[4] = {char(n & 0xff), char((n >> 8) & 0xff), char((n >> 16) & 0xff),
                      char((n >> 24) & 0xff)};
    out.append(length, 4);
    out += r.bytes;
  }
  return out;
}

Result<std::vector<std::string_view>> unframe_records(std::string_view segment) {
  std::vector<std::string_view> out;
  while (!segment.empty()) {
    if (segment.size() < 4) return make_error(Errc::malformed, "truncated relay segment");
    const auto* b = reinterpret_cast<const unsigned char*>(segment.data());
    const std::size_t n = b[0] | (b[1] << 8) | (b[2] << 16) | (std::size_t(b[3]) << 24);
    if (segment.size() - 4 < n) return make_error(Errc::malformed, "truncated relay record");
    out.push_back(segment.substr(4, n));
    segment.remove_prefix(4 + n);
  }
  return out;
}

// What one segment becomes: remote-write bodies, each with its sample count.
struct Prepared {
  std::uint64_t segment_id = 0;
  std::vector<std::pair<std::string, std::uint64_t>> requests;
  std::size_t next = 0;  // requests before it were taken by Prometheus
  std::int64_t oldest_ms = 0;
};

}  // namespace

struct Relay::Impl {
  Options options;
  HttpUrl url;
  std::mutex mutex;  // guards spool and stopping
  std::condition_variable wake;
  spool::Spool spool;
  bool stopping = false;
  std::thread worker;
  RemoteWriteClient client;
  Backoff backoff;
  std::optional<Prepared> current;
  // Shared with the registry's readers, which may outlive the relay.
  struct Gauges {
    std::atomic<std::uint64_t> queue_bytes{0};
    std::atomic<std::int64_t> oldest_pending_ms{0};
  };
  std::shared_ptr<Gauges> gauges = std::make_shared<Gauges>();
  std::atomic<std::uint64_t>& queue_bytes = gauges->queue_bytes;
  std::atomic<std::int64_t>& oldest_pending_ms = gauges->oldest_pending_ms;
  metrics::Counter* relayed = nullptr;
  metrics::Counter* dropped_old = nullptr;
  metrics::Counter* dropped_rejected = nullptr;
  metrics::Counter* dropped_corrupt = nullptr;

  Impl(Options o, HttpUrl u, spool::Spool s)
      : options(std::move(o)),
        url(u),
        spool(std::move(s)),
        client(std::move(u), options.request_timeout),
        backoff({.initial = options.min_backoff, .max = options.max_backoff, .jitter = true}) {}

  Status register_metrics(metrics::Registry& r);
  void run();
  void seal_if_any();
  Result<std::optional<spool::Segment>> oldest();
  Prepared prepare(const spool::Segment& segment);
  bool deliver(Prepared& p);
  void wait_for(std::chrono::milliseconds d);
};

Status Relay::Impl::register_metrics(metrics::Registry& r) {
  const std::string help = "Telemetry samples by what became of them, and why.";
  const auto samples = "edgefleet_server_telemetry_samples_total";
  EF_TRY(relayed, r.counter(samples, help, {{"outcome", "relayed"}, {"reason", ""}}));
  EF_TRY(dropped_old,
         r.counter(samples, help, {{"outcome", "dropped"}, {"reason", "older_than_window"}}));
  EF_TRY(dropped_rejected,
         r.counter(samples, help, {{"outcome", "dropped"}, {"reason", "rejected"}}));
  EF_TRY(dropped_corrupt,
         r.counter(samples, help, {{"outcome", "dropped"}, {"reason", "corrupt"}}));
  EF_CHECK(r.gauge_fn("edgefleet_server_telemetry_queue_bytes",
                      "Telemetry waiting on the server's disk for Prometheus.", {},
                      [g = gauges] { return double(g->queue_bytes.load()); }));
  return r.gauge_fn("edgefleet_server_telemetry_relay_oldest_age_seconds",
                    "Age of the oldest sample the relay could not send yet (0: none waiting).", {},
                    [g = gauges] {
                      const auto oldest = g->oldest_pending_ms.load();
                      return oldest == 0 ? 0.0 : double(now_ms() - oldest) / 1000.0;
                    });
}

void Relay::Impl::wait_for(std::chrono::milliseconds d) {
  std::unique_lock lock(mutex);
  wake.wait_for(lock, d, [this] { return stopping; });
}

void Relay::Impl::seal_if_any() {
  std::lock_guard lock(mutex);
  if (spool.stats().open_records == 0) return;
  if (auto st = spool.seal(frame_records); !st)
    std::cerr << "edgefleet-server: telemetry queue: " << st.error().message << std::endl;
  queue_bytes = spool.stats().bytes;
}

Result<std::optional<spool::Segment>> Relay::Impl::oldest() {
  std::lock_guard lock(mutex);
  return spool.oldest();
}

// Decodes a segment, drops what Prometheus would refuse as too old, and cuts the rest into
// requests of at most max_samples_per_request.
Prepared Relay::Impl::prepare(const spool::Segment& segment) {
  Prepared p;
  p.segment_id = segment.id;
  const std::int64_t horizon = now_ms() - std::chrono::duration_cast<std::chrono::milliseconds>(
                                              options.out_of_order_window - options.safety_margin)
                                              .count();
  std::vector<telemetry::Series> pending;
  std::uint64_t pending_samples = 0;
  auto flush = [&] {
    if (pending.empty()) return;
    p.requests.emplace_back(telemetry::encode_write_request(pending), pending_samples);
    pending.clear();
    pending_samples = 0;
  };
  auto records = unframe_records(segment.bytes);
  if (!records) dropped_corrupt->inc(double(segment.records));
  for (auto record : records ? *records : std::vector<std::string_view>{}) {
    auto batch = telemetry::decode_batch(record);
    if (!batch) {
      dropped_corrupt->inc();
      continue;
    }
    for (auto& s : batch->series) {
      const auto before = s.points.size();
      std::erase_if(s.points,
                    [&](const telemetry::Point& pt) { return pt.timestamp_ms < horizon; });
      dropped_old->inc(double(before - s.points.size()));
      if (s.points.empty()) continue;
      const auto first = s.points.front().timestamp_ms;
      if (p.oldest_ms == 0 || first < p.oldest_ms) p.oldest_ms = first;
      pending_samples += s.points.size();
      pending.push_back(std::move(s));
      if (pending_samples >= options.max_samples_per_request) flush();
    }
  }
  flush();
  return p;
}

// Sends the prepared requests in order; true when the segment is done with (taken or refused for
// good), false when it must be retried later.
bool Relay::Impl::deliver(Prepared& p) {
  for (; p.next < p.requests.size(); ++p.next) {
    const auto& [body, samples] = p.requests[p.next];
    auto result = client.post(body);
    if (!result) {
      std::cerr << "edgefleet-server: " << result.error().message << std::endl;
      return false;
    }
    const unsigned status = result->status;
    if (status >= 200 && status < 300) {
      relayed->inc(double(samples));
    } else if (status >= 400 && status < 500 && status != 429) {
      dropped_rejected->inc(double(samples));
      std::cerr << "edgefleet-server: Prometheus refused " << samples << " samples (" << status
                << "): " << result->body << std::endl;
    } else {
      std::cerr << "edgefleet-server: Prometheus answered " << status
                << ", will retry: " << result->body << std::endl;
      return false;
    }
  }
  return true;
}

void Relay::Impl::run() {
  for (;;) {
    {
      std::lock_guard lock(mutex);
      if (stopping) return;
    }
    seal_if_any();
    auto segment = oldest();
    if (!segment || !*segment) {
      oldest_pending_ms = 0;
      wait_for(options.seal_interval);
      continue;
    }
    if (!current || current->segment_id != (*segment)->id) current = prepare(**segment);
    if (!deliver(*current)) {
      oldest_pending_ms = current->oldest_ms;
      wait_for(backoff.next());
      continue;
    }
    backoff.reset();
    std::lock_guard lock(mutex);
    if (auto st = spool.remove(current->segment_id); !st)
      std::cerr << "edgefleet-server: telemetry queue: " << st.error().message << std::endl;
    queue_bytes = spool.stats().bytes;
    current.reset();
  }
}

Result<std::unique_ptr<Relay>> Relay::start(Options options, metrics::Registry& registry) {
  EF_TRY(auto url, parse_http_url(options.remote_write_url));
  // Eviction would be silent loss here: enqueue refuses instead, below the spool's own bound.
  EF_TRY(auto queue,
         spool::Spool::open(
             {.dir = options.queue_dir, .max_bytes = options.max_queue_bytes * 2, .sync = true}));
  auto impl = std::make_unique<Impl>(std::move(options), std::move(url), std::move(queue));
  EF_CHECK(impl->register_metrics(registry));
  impl->queue_bytes = impl->spool.stats().bytes;
  Impl* raw = impl.get();
  impl->worker = std::thread([raw] { raw->run(); });
  return std::unique_ptr<Relay>(new Relay(std::move(impl)));
}

Relay::Relay(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Relay::~Relay() {
  stop();
}

Status Relay::enqueue(const std::vector<telemetry::Series>& series) {
  telemetry::Batch batch;
  batch.series = series;
  EF_TRY(auto record, telemetry::encode_batch(batch));
  std::lock_guard lock(impl_->mutex);
  if (impl_->spool.stats().bytes + record.size() > impl_->options.max_queue_bytes) {
    return make_error(Errc::no_space, "the telemetry relay queue is full (" +
                                          std::to_string(impl_->options.max_queue_bytes) +
                                          " bytes): Prometheus is not taking samples");
  }
  EF_CHECK(impl_->spool.append(record));
  impl_->queue_bytes = impl_->spool.stats().bytes;
  return {};
}

void Relay::stop() {
  if (!impl_ || !impl_->worker.joinable()) return;
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->wake.notify_all();
  impl_->worker.join();
}

}  // namespace ef::prometheus_relay
