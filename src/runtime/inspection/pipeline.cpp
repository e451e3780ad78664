#include "runtime/inspection/pipeline.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <opencv2/core.hpp>
#include <set>
#include <thread>

#include "core/metrics/buckets.hpp"
#include "runtime/inspection/rate_meter.hpp"

namespace ef::inspection {

namespace {

using SteadyClock = std::chrono::steady_clock;
using SystemClock = std::chrono::system_clock;

constexpr std::size_t kMaxInteractionKinds = 32;

double unix_seconds(SystemClock::time_point t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

// Per-model-version metric handles, looked up once when a model is installed so that the
// per-frame path never touches the registry's lock.
struct ModelMetrics {
  metrics::Counter* frames = nullptr;
  metrics::Histogram* latency = nullptr;
  metrics::Summary* latency_recent = nullptr;
  metrics::Histogram* score = nullptr;
  metrics::Summary* score_recent = nullptr;
  metrics::Counter* pass = nullptr;
  metrics::Counter* reject = nullptr;
  metrics::Gauge* info = nullptr;
};

struct ModelSlot {
  std::unique_ptr<model::Model> model;
  ModelMetrics metrics;
  std::string version;
  std::string name;
  double threshold = 0;
};

// What the read-at-scrape gauges need; shared with the registry's callbacks so that a late
// scrape never reads a destroyed pipeline.
struct Readings {
  metrics::Summary brightness{metrics::WindowOptions{}};
  RateMeter rate;
  SteadyClock::time_point started = SteadyClock::now();
  std::shared_ptr<camera::Camera> camera;
  std::atomic<std::int64_t> last_inference_ns{0};  // steady clock; 0: none yet
  std::chrono::milliseconds healthy_within{3000};

  bool inferring(SteadyClock::time_point now) const {
    const auto last = last_inference_ns.load(std::memory_order_relaxed);
    return last != 0 && now.time_since_epoch() - std::chrono::nanoseconds(last) <= healthy_within;
  }
};

// Logs a recurring problem at most once per interval, with how many were not logged.
class LogLimiter {
 public:
  void warn(const std::string& key, const std::string& message) {
    auto& entry = entries_[key];
    const auto now = SteadyClock::now();
    if (entry.last != SteadyClock::time_point{} && now - entry.last < std::chrono::seconds(10)) {
      ++entry.suppressed;
      return;
    }
    if (entry.suppressed > 0) {
      spdlog::warn("{} (and {} more like it in the last 10 s)", message, entry.suppressed);
    } else {
      spdlog::warn("{}", message);
    }
    entry.last = now;
    entry.suppressed = 0;
  }

 private:
  struct Entry {
    SteadyClock::time_point last{};
    std::uint64_t suppressed = 0;
  };
  std::map<std::string, Entry> entries_;
};

bool valid_kind(const std::string& kind) {
  if (kind.empty() || kind.size() > 32) return false;
  return std::all_of(kind.begin(), kind.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

bool valid_operator(const std::string& id) {
  if (id.size() > 64) return false;
  return std::all_of(id.begin(), id.end(),
                     [](char c) { return static_cast<unsigned char>(c) >= 0x20 && c != 0x7f; });
}

}  // namespace

const char* decision_name(Decision d) {
  return d == Decision::reject ? "reject" : "pass";
}

Result<Decision> parse_decision(std::string_view text) {
  if (text == "pass") return Decision::pass;
  if (text == "reject") return Decision::reject;
  return make_error(Errc::invalid_argument, "decision must be \"pass\" or \"reject\"");
}

const char* swap_state_name(SwapStatus::State state) {
  switch (state) {
    case SwapStatus::State::loading:
      return "loading";
    case SwapStatus::State::warming:
      return "warming";
    case SwapStatus::State::ready:
      return "ready";
    case SwapStatus::State::swapped:
      return "swapped";
    case SwapStatus::State::failed:
      return "failed";
    default:
      return "idle";
  }
}

struct Pipeline::Impl {
  struct QueuedFrame {
    camera::Frame frame;
    std::uint64_t sequence = 0;
  };

  metrics::Registry& registry;
  PipelineOptions options;
  std::shared_ptr<camera::Camera> camera;
  std::shared_ptr<Readings> readings = std::make_shared<Readings>();

  metrics::Counter* dropped_queue_full = nullptr;
  metrics::Counter* dropped_overrun = nullptr;
  metrics::Counter* invalid_unreadable = nullptr;
  metrics::Counter* invalid_size = nullptr;
  metrics::Counter* invalid_inference = nullptr;
  metrics::Counter* reconnects = nullptr;
  metrics::Counter* swaps_ok = nullptr;
  metrics::Counter* swaps_failed = nullptr;
  metrics::Gauge* last_inference = nullptr;

  // Frame hand-over and model exchange. Lock order: mutex before status_mutex.
  std::mutex mutex;
  std::condition_variable wake;        // the inference thread waits for frames or a model
  std::condition_variable swap_taken;  // the swap thread waits for the exchange
  std::condition_variable space;       // the capture thread of a recorded source waits for room
  std::deque<QueuedFrame> queue;
  std::uint64_t last_sequence = 0;
  bool stopping = false;
  bool capture_done = false;
  bool finished = false;
  std::unique_ptr<ModelSlot> pending;  // warmed, waiting for the next frame boundary
  std::unique_ptr<ModelSlot> retired;  // swapped out, destroyed by the swap thread

  // Owned by the inference thread.
  std::unique_ptr<ModelSlot> current;
  std::uint64_t last_scored_sequence = 0;
  LogLimiter log;

  mutable std::mutex status_mutex;
  std::deque<FrameResult> recent;
  SwapStatus swap;
  std::string current_version, current_name;
  std::optional<SystemClock::time_point> last_inference_time;
  std::string last_frame_error;
  cv::Mat last_image;  // the latest frame, for warming a new model on real input
  std::set<std::string> interaction_kinds;

  std::atomic<std::uint64_t> captured{0}, processed{0}, dropped{0}, invalid{0};
  std::function<void(const FrameResult&)> observer;
  std::thread capture_thread, inference_thread, swap_thread;
  std::mutex lifecycle;  // start/stop/request_swap
  bool started = false, stopped = false;

  Impl(metrics::Registry& r, PipelineOptions o) : registry(r), options(std::move(o)) {}

  Status register_metrics();
  Result<std::unique_ptr<ModelSlot>> make_slot(std::unique_ptr<model::Model> model);
  void capture_loop();
  void inference_loop();
  void install_pending();
  void process(QueuedFrame& item);
  void refuse(metrics::Counter* counter, const std::string& reason, const std::string& message);
  void swap_job(std::uint64_t id, std::filesystem::path dir, std::string expected_version);
};

Status Pipeline::Impl::register_metrics() {
  auto& r = registry;
  const std::string dropped_help = "Frames the camera produced that were never scored.";
  EF_TRY(dropped_queue_full, r.counter("edgefleet_runtime_frames_dropped_total", dropped_help,
                                       {{"reason", "queue_full"}}));
  EF_TRY(dropped_overrun, r.counter("edgefleet_runtime_frames_dropped_total", dropped_help,
                                    {{"reason", "camera_overrun"}}));
  const std::string invalid_help = "Frames refused: unreadable, wrong size, or the model failed.";
  EF_TRY(invalid_unreadable, r.counter("edgefleet_runtime_frames_invalid_total", invalid_help,
                                       {{"reason", "unreadable"}}));
  EF_TRY(invalid_size, r.counter("edgefleet_runtime_frames_invalid_total", invalid_help,
                                 {{"reason", "wrong_size"}}));
  EF_TRY(invalid_inference, r.counter("edgefleet_runtime_frames_invalid_total", invalid_help,
                                      {{"reason", "inference_error"}}));
  EF_TRY(reconnects, r.counter("edgefleet_runtime_camera_reconnects_total",
                               "Times the camera came back after a failure."));
  const std::string swaps_help = "Model hot-swaps by outcome.";
  EF_TRY(swaps_ok,
         r.counter("edgefleet_runtime_model_swaps_total", swaps_help, {{"result", "swapped"}}));
  EF_TRY(swaps_failed,
         r.counter("edgefleet_runtime_model_swaps_total", swaps_help, {{"result", "failed"}}));
  EF_TRY(last_inference, r.gauge("edgefleet_runtime_last_inference_timestamp_seconds",
                                 "Unix time of the last successful inference (0: none yet)."));
  auto readings_ptr = readings;
  EF_CHECK(r.gauge_fn("edgefleet_runtime_frames_per_second",
                      "Frames scored per second over the last 10 seconds.", {},
                      [readings_ptr] { return readings_ptr->rate.per_second(10); }));
  EF_CHECK(r.gauge_fn(
      "edgefleet_runtime_uptime_seconds", "Seconds since the runtime started.", {}, [readings_ptr] {
        return std::chrono::duration<double>(SteadyClock::now() - readings_ptr->started).count();
      }));
  EF_CHECK(r.gauge_fn(
      "edgefleet_runtime_healthy", "1 while the runtime is up and inferring, else 0.", {},
      [readings_ptr] { return readings_ptr->inferring(SteadyClock::now()) ? 1.0 : 0.0; }));
  EF_CHECK(r.gauge_fn("edgefleet_runtime_camera_connected", "1 while the camera delivers frames.",
                      {},
                      [readings_ptr] { return readings_ptr->camera->connected() ? 1.0 : 0.0; }));
  EF_CHECK(r.gauge_fn("edgefleet_runtime_camera_brightness_mean",
                      "Mean frame brightness (0-255) over the last 5 minutes: exposure level.", {},
                      [readings_ptr] { return readings_ptr->brightness.window_stats().mean; }));
  EF_CHECK(r.gauge_fn(
      "edgefleet_runtime_camera_brightness_stddev",
      "Standard deviation of frame brightness over the last 5 minutes: exposure stability.", {},
      [readings_ptr] { return readings_ptr->brightness.window_stats().stddev; }));
  return {};
}

Result<std::unique_ptr<ModelSlot>> Pipeline::Impl::make_slot(std::unique_ptr<model::Model> model) {
  auto slot = std::make_unique<ModelSlot>();
  const auto& meta = model->metadata();
  slot->version = meta.version;
  slot->name = meta.name;
  slot->threshold = meta.threshold;
  const metrics::Labels v = {{"model_version", meta.version}};
  auto& r = registry;
  auto& m = slot->metrics;
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
                          {"release", options.release},
                          {"backend", model->backend_name()}}));
  slot->model = std::move(model);
  return slot;
}

void Pipeline::Impl::capture_loop() {
  std::uint64_t seen_reconnects = 0;
  while (auto frame = camera->next()) {
    if (!frame->image.empty()) {
      const cv::Scalar mean = cv::mean(frame->image);
      readings->brightness.observe((mean[0] + mean[1] + mean[2]) / 3);
    }
    if (const auto r = camera->reconnects(); r > seen_reconnects) {
      reconnects->inc(static_cast<double>(r - seen_reconnects));
      seen_reconnects = r;
    }
    std::unique_lock lock(mutex);
    if (!camera->live()) {
      // A file or folder waits for the model instead of losing frames.
      space.wait(lock, [&] { return stopping || queue.size() < options.queue_capacity; });
    }
    if (stopping) break;
    // Missed frames consume sequence numbers: gaps in the results show every loss.
    if (frame->missed_before > 0) {
      dropped_overrun->inc(static_cast<double>(frame->missed_before));
      dropped += frame->missed_before;
      last_sequence += frame->missed_before;
    }
    if (queue.size() >= options.queue_capacity) {
      queue.pop_front();
      dropped_queue_full->inc();
      ++dropped;
    }
    queue.push_back({std::move(*frame), ++last_sequence});
    ++captured;
    wake.notify_one();
  }
  std::lock_guard lock(mutex);
  capture_done = true;
  wake.notify_all();
}

void Pipeline::Impl::install_pending() {
  // Called with `mutex` held, between two frames.
  std::unique_ptr<ModelSlot> old = std::move(current);
  current = std::move(pending);
  old->metrics.info->set(0);
  current->metrics.info->set(1);
  {
    std::lock_guard status(status_mutex);
    current_version = current->version;
    current_name = current->name;
    swap.state = SwapStatus::State::swapped;
    swap.last_sequence_before = last_scored_sequence;
    swap.finished_at = SystemClock::now();
  }
  swaps_ok->inc();
  spdlog::info("model {} replaced {} after frame {}", current->version, old->version,
               last_scored_sequence);
  retired = std::move(old);
  swap_taken.notify_all();
}

void Pipeline::Impl::inference_loop() {
  for (;;) {
    QueuedFrame item;
    {
      std::unique_lock lock(mutex);
      wake.wait(lock, [&] {
        return stopping || pending || !queue.empty() || (capture_done && !finished);
      });
      if (stopping) return;
      if (pending) install_pending();
      if (queue.empty()) {
        if (capture_done) finished = true;  // keep serving swaps until stopped
        continue;
      }
      item = std::move(queue.front());
      queue.pop_front();
      space.notify_one();
    }
    process(item);
  }
}

void Pipeline::Impl::refuse(metrics::Counter* counter, const std::string& reason,
                            const std::string& message) {
  counter->inc();
  ++invalid;
  log.warn(reason, message);
  std::lock_guard status(status_mutex);
  last_frame_error = message;
}

void Pipeline::Impl::process(QueuedFrame& item) {
  const auto started = SteadyClock::now();
  const cv::Mat& image = item.frame.image;
  const std::string where =
      "frame " + std::to_string(item.sequence) +
      (item.frame.origin.empty() ? std::string() : " (" + item.frame.origin + ")");
  if (image.empty()) {
    refuse(invalid_unreadable, "unreadable", where + ": empty or undecodable image, skipped");
    return;
  }
  const cv::Size expected = options.expected_frame_size;
  if (expected.area() > 0 && image.size() != expected) {
    refuse(invalid_size, "wrong_size",
           where + ": " + std::to_string(image.cols) + "x" + std::to_string(image.rows) +
               " pixels, but the camera is configured for " + std::to_string(expected.width) + "x" +
               std::to_string(expected.height) + "; skipped");
    return;
  }
  ModelSlot& slot = *current;
  auto inference = slot.model->infer(image);
  if (!inference) {
    refuse(invalid_inference, "inference_error", where + ": " + inference.error().message);
    return;
  }
  FrameResult result;
  result.sequence = item.sequence;
  result.model_version = slot.version;
  result.score = inference->score;
  result.threshold = slot.threshold;
  result.decision = inference->score > slot.threshold ? Decision::reject : Decision::pass;
  const auto done = SteadyClock::now();
  result.latency_seconds = std::chrono::duration<double>(done - started).count();
  result.decided_at = SystemClock::now();
  result.captured = item.frame.captured;
  result.origin = std::move(item.frame.origin);
  result.truth = std::move(item.frame.truth);

  auto& m = slot.metrics;
  m.frames->inc();
  m.latency->observe(result.latency_seconds);
  m.latency_recent->observe_at(result.latency_seconds, done);
  const double ratio = result.score / slot.threshold;
  m.score->observe(ratio);
  m.score_recent->observe_at(ratio, done);
  (result.decision == Decision::reject ? m.reject : m.pass)->inc();
  last_inference->set(unix_seconds(result.decided_at));
  readings->rate.tick(done);
  readings->last_inference_ns.store(
      std::chrono::duration_cast<std::chrono::nanoseconds>(done.time_since_epoch()).count(),
      std::memory_order_relaxed);
  last_scored_sequence = item.sequence;
  ++processed;
  {
    std::lock_guard status(status_mutex);
    last_inference_time = result.decided_at;
    last_image = image;
    recent.push_back(result);
    if (recent.size() > options.recent_results) recent.pop_front();
  }
  if (observer) observer(result);
}

void Pipeline::Impl::swap_job(std::uint64_t id, std::filesystem::path dir,
                              std::string expected_version) {
  auto set_state = [&](SwapStatus::State state, const std::string& new_version = {}) {
    std::lock_guard status(status_mutex);
    if (swap.id != id) return;
    swap.state = state;
    if (!new_version.empty()) swap.new_version = new_version;
  };
  auto fail = [&](const Error& error) {
    {
      std::lock_guard status(status_mutex);
      swap.state = SwapStatus::State::failed;
      swap.error = error.message;
      swap.finished_at = SystemClock::now();
    }
    swaps_failed->inc();
    spdlog::error("model swap to {} failed, the current model keeps running: {}", dir.string(),
                  error.message);
  };

  auto loaded = model::Model::load(dir, options.load);
  if (!loaded) return fail(loaded.error());
  const std::string version = (*loaded)->metadata().version;
  if (!expected_version.empty() && version != expected_version) {
    return fail(make_error(Errc::mismatch, "the model is version " + version +
                                               ", not the requested " + expected_version + " (" +
                                               dir.string() + ")"));
  }
  set_state(SwapStatus::State::warming, version);
  if (auto warmed = (*loaded)->warm_up(options.warm_up_runs); !warmed) return fail(warmed.error());
  cv::Mat real;
  {
    std::lock_guard status(status_mutex);
    real = last_image;
  }
  if (!real.empty()) {
    // The new model must also answer on what this camera actually sends.
    if (auto scored = (*loaded)->infer(real); !scored) {
      return fail(std::move(scored).error().context("warming up on a camera frame"));
    }
  }
  auto slot = make_slot(std::move(*loaded));
  if (!slot) return fail(slot.error());
  set_state(SwapStatus::State::ready);

  std::unique_ptr<ModelSlot> old;
  {
    std::unique_lock lock(mutex);
    if (stopping) return;
    pending = std::move(*slot);
    wake.notify_all();
    swap_taken.wait(lock, [&] { return stopping || !pending; });
    old = std::move(retired);
  }
  old.reset();  // the replaced model is destroyed here, not on the inference thread
}

Pipeline::Pipeline(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<Pipeline>> Pipeline::create(std::unique_ptr<camera::Camera> camera,
                                                   std::unique_ptr<model::Model> model,
                                                   metrics::Registry& registry,
                                                   PipelineOptions options) {
  if (!camera || !model)
    return make_error(Errc::invalid_argument, "pipeline needs a camera and a model");
  if (options.queue_capacity < 1) options.queue_capacity = 1;
  if (options.recent_results < 1) options.recent_results = 1;
  auto impl = std::make_unique<Impl>(registry, std::move(options));
  impl->camera = std::move(camera);
  impl->readings->camera = impl->camera;
  impl->readings->healthy_within = impl->options.healthy_within;
  EF_CHECK(impl->register_metrics());
  EF_TRY(impl->current, impl->make_slot(std::move(model)));
  impl->current->metrics.info->set(1);
  impl->current_version = impl->current->version;
  impl->current_name = impl->current->name;
  return std::unique_ptr<Pipeline>(new Pipeline(std::move(impl)));
}

Pipeline::~Pipeline() {
  stop();
}

void Pipeline::set_observer(std::function<void(const FrameResult&)> observer) {
  impl_->observer = std::move(observer);
}

void Pipeline::start() {
  std::lock_guard lock(impl_->lifecycle);
  if (impl_->started) return;
  impl_->started = true;
  impl_->readings->started = SteadyClock::now();
  impl_->inference_thread = std::thread([this] { impl_->inference_loop(); });
  impl_->capture_thread = std::thread([this] { impl_->capture_loop(); });
}

void Pipeline::stop() {
  std::lock_guard lock(impl_->lifecycle);
  if (impl_->stopped) return;
  impl_->stopped = true;
  {
    std::lock_guard queue_lock(impl_->mutex);
    impl_->stopping = true;
    impl_->wake.notify_all();
    impl_->swap_taken.notify_all();
    impl_->space.notify_all();
  }
  impl_->camera->stop();
  for (auto* t : {&impl_->capture_thread, &impl_->inference_thread, &impl_->swap_thread}) {
    if (t->joinable()) t->join();
  }
}

bool Pipeline::finished() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->finished;
}

Result<std::uint64_t> Pipeline::request_swap(const std::filesystem::path& model_dir,
                                             const std::string& expected_version) {
  std::lock_guard lock(impl_->lifecycle);
  if (impl_->stopped) return make_error(Errc::invalid_argument, "the pipeline is stopped");
  std::uint64_t id;
  {
    std::lock_guard status(impl_->status_mutex);
    if (impl_->swap.in_progress()) {
      return make_error(Errc::exists, "a swap to " + impl_->swap.model_dir + " is in progress (" +
                                          swap_state_name(impl_->swap.state) + ")");
    }
  }
  if (impl_->swap_thread.joinable()) impl_->swap_thread.join();
  {
    std::lock_guard status(impl_->status_mutex);
    id = impl_->swap.id + 1;
    impl_->swap = SwapStatus{};
    impl_->swap.id = id;
    impl_->swap.state = SwapStatus::State::loading;
    impl_->swap.model_dir = model_dir.string();
    impl_->swap.requested_version = expected_version;
    impl_->swap.previous_version = impl_->current_version;
    impl_->swap.requested_at = SystemClock::now();
  }
  spdlog::info("model swap {} requested: {}", id, model_dir.string());
  impl_->swap_thread = std::thread([this, id, model_dir, expected_version] {
    impl_->swap_job(id, model_dir, expected_version);
  });
  return id;
}

SwapStatus Pipeline::swap_status() const {
  std::lock_guard status(impl_->status_mutex);
  return impl_->swap;
}

Health Pipeline::health() const {
  Health h;
  const auto now = SteadyClock::now();
  h.camera = impl_->camera->status();
  bool stopped, finished;
  {
    std::lock_guard lock(impl_->mutex);
    stopped = impl_->stopping;
    finished = impl_->finished;
  }
  {
    std::lock_guard status(impl_->status_mutex);
    h.model_version = impl_->current_version;
    h.model_name = impl_->current_name;
    h.last_inference = impl_->last_inference_time;
    h.last_frame_error = impl_->last_frame_error;
  }
  h.release = impl_->options.release;
  h.frames_processed = impl_->processed;
  h.frames_dropped = impl_->dropped;
  h.frames_invalid = impl_->invalid;
  h.uptime_seconds = std::chrono::duration<double>(now - impl_->readings->started).count();
  const bool inferring = impl_->readings->inferring(now);
  if (stopped) {
    h.status = "stopped";
  } else if (inferring) {
    h.status = "inferring";
    h.healthy = true;
  } else if (finished) {
    h.status = "finished";
  } else if (!h.camera.connected && (h.camera.failed_opens > 0 || h.last_inference)) {
    h.status = "camera_down";
  } else if (!h.last_inference) {
    h.status = "starting";
  } else {
    h.status = "stalled";
  }
  return h;
}

Counters Pipeline::counters() const {
  std::lock_guard lock(impl_->mutex);
  return {impl_->last_sequence, impl_->captured, impl_->processed,
          impl_->dropped,       impl_->invalid,  impl_->queue.size()};
}

std::vector<FrameResult> Pipeline::recent(std::uint64_t after, std::size_t limit) const {
  std::lock_guard status(impl_->status_mutex);
  const auto& recent = impl_->recent;
  auto it = std::upper_bound(recent.begin(), recent.end(), after,
                             [](std::uint64_t s, const FrameResult& r) { return s < r.sequence; });
  std::vector<FrameResult> out;
  for (; it != recent.end() && out.size() < limit; ++it)
    out.push_back(*it);
  return out;
}

Result<FrameResult> Pipeline::override_decision(std::uint64_t sequence, Decision decision,
                                                const std::string& operator_id) {
  if (!valid_operator(operator_id)) {
    return make_error(Errc::invalid_argument, "operator must be at most 64 printable characters");
  }
  FrameResult copy;
  {
    std::lock_guard status(impl_->status_mutex);
    auto& recent = impl_->recent;
    auto it =
        std::lower_bound(recent.begin(), recent.end(), sequence,
                         [](const FrameResult& r, std::uint64_t s) { return r.sequence < s; });
    if (it == recent.end() || it->sequence != sequence) {
      return make_error(Errc::not_found, "frame " + std::to_string(sequence) +
                                             " is not among the last " +
                                             std::to_string(impl_->options.recent_results) +
                                             " scored frames (too old, dropped or not yet scored)");
    }
    if (it->override_decision) {
      return make_error(Errc::exists, "frame " + std::to_string(sequence) +
                                          " was already overridden to " +
                                          decision_name(*it->override_decision));
    }
    if (it->decision == decision) {
      return make_error(Errc::invalid_argument, "the model already decided " +
                                                    std::string(decision_name(decision)) +
                                                    " for frame " + std::to_string(sequence));
    }
    it->override_decision = decision;
    it->override_operator = operator_id;
    copy = *it;
  }
  auto counter = impl_->registry.counter("edgefleet_runtime_overrides_total",
                                         "Operator overrides of model decisions.",
                                         {{"model_version", copy.model_version},
                                          {"from", decision_name(copy.decision)},
                                          {"to", decision_name(decision)}});
  if (counter) (*counter)->inc();
  EF_CHECK(record_interaction("override"));
  spdlog::info("operator '{}' overrode frame {} from {} to {}", operator_id, sequence,
               decision_name(copy.decision), decision_name(decision));
  return copy;
}

Status Pipeline::record_interaction(const std::string& kind) {
  if (!valid_kind(kind)) {
    return make_error(Errc::invalid_argument, "interaction kind must be 1-32 of a-z 0-9 _");
  }
  std::string label = kind;
  {
    std::lock_guard status(impl_->status_mutex);
    auto& kinds = impl_->interaction_kinds;
    if (!kinds.contains(kind)) {
      if (kinds.size() >= kMaxInteractionKinds) {
        label = "other";  // bounded label cardinality
      } else {
        kinds.insert(kind);
      }
    }
  }
  EF_TRY(auto counter,
         impl_->registry.counter("edgefleet_runtime_operator_interactions_total",
                                 "Interactions reported by the line's HMI.", {{"kind", label}}));
  counter->inc();
  return {};
}

}  // namespace ef::inspection
