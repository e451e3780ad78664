#include "runtime/inspection/pipeline.hpp"

#include <spdlog/spdlog.h>

#include <atomic>
#include <mutex>
#include <opencv2/core.hpp>
#include <thread>

#include "runtime/inspection/frame_queue.hpp"
#include "runtime/inspection/log_limiter.hpp"
#include "runtime/inspection/pipeline_metrics.hpp"

namespace ef::inspection {

namespace {

using SteadyClock = std::chrono::steady_clock;
using SystemClock = std::chrono::system_clock;

double unix_seconds(SystemClock::time_point t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

std::string frame_label(const QueuedFrame& item) {
  return "frame " + std::to_string(item.sequence) +
         (item.frame.origin.empty() ? std::string() : " (" + item.frame.origin + ")");
}

}  // namespace

struct Pipeline::Impl {
  PipelineOptions options;
  std::shared_ptr<camera::Camera> camera;
  std::shared_ptr<Readings> readings = std::make_shared<Readings>();
  PipelineMetrics metrics;
  FrameQueue queue;
  std::unique_ptr<ModelExchange> models;
  RecentResults recent;

  // Owned by the inference thread.
  std::uint64_t last_scored_sequence = 0;
  LogLimiter log;

  mutable std::mutex status_mutex;
  std::optional<SystemClock::time_point> last_inference_time;
  std::string last_frame_error;

  std::atomic<std::uint64_t> processed{0}, invalid{0};
  std::function<void(const FrameResult&)> observer;
  std::thread capture_thread, inference_thread;
  std::mutex lifecycle;  // start/stop
  bool started = false, stopped = false;

  explicit Impl(PipelineOptions o)
      : options(std::move(o)), queue(options.queue_capacity), recent(options.recent_results) {}

  void capture_loop();
  void inference_loop();
  void process(QueuedFrame& item);
  bool accept(const QueuedFrame& item);
  FrameResult decide(QueuedFrame& item, const model::Inference& inference,
                     SteadyClock::time_point started, SteadyClock::time_point done);
  void count(const FrameResult& result, SteadyClock::time_point done);
  void refuse(metrics::Counter* counter, const std::string& reason, const std::string& message);
};

void Pipeline::Impl::capture_loop() {
  std::uint64_t seen_reconnects = 0;
  while (auto frame = camera->next()) {
    if (!frame->image.empty()) {
      const cv::Scalar mean = cv::mean(frame->image);
      readings->brightness.observe((mean[0] + mean[1] + mean[2]) / 3);
    }
    if (const auto r = camera->reconnects(); r > seen_reconnects) {
      metrics.reconnects->inc(static_cast<double>(r - seen_reconnects));
      seen_reconnects = r;
    }
    // A file or folder waits for the model instead of losing frames.
    const auto pushed = queue.push(std::move(*frame), !camera->live());
    if (!pushed.accepted) break;
    if (pushed.overrun > 0) metrics.dropped_overrun->inc(static_cast<double>(pushed.overrun));
    if (pushed.dropped_oldest) metrics.dropped_queue_full->inc();
  }
  queue.close();
}

void Pipeline::Impl::inference_loop() {
  for (;;) {
    QueuedFrame item;
    const auto popped = queue.pop(item, [this] { return models->has_pending(); });
    if (popped == FrameQueue::Popped::stopped) return;
    // Between two frames: the last one was scored by the old model, the next by the new one.
    if (models->has_pending()) models->install_pending(last_scored_sequence);
    if (popped == FrameQueue::Popped::frame) process(item);
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

// Refuses (and counts) frames no model should see.
bool Pipeline::Impl::accept(const QueuedFrame& item) {
  const cv::Mat& image = item.frame.image;
  if (image.empty()) {
    refuse(metrics.invalid_unreadable, "unreadable",
           frame_label(item) + ": empty or undecodable image, skipped");
    return false;
  }
  const cv::Size expected = options.expected_frame_size;
  if (expected.area() > 0 && image.size() != expected) {
    refuse(metrics.invalid_size, "wrong_size",
           frame_label(item) + ": " + std::to_string(image.cols) + "x" +
               std::to_string(image.rows) + " pixels, but the camera is configured for " +
               std::to_string(expected.width) + "x" + std::to_string(expected.height) +
               "; skipped");
    return false;
  }
  return true;
}

void Pipeline::Impl::process(QueuedFrame& item) {
  const auto started = SteadyClock::now();
  if (!accept(item)) return;
  auto inference = models->active().model->infer(item.frame.image);
  if (!inference) {
    refuse(metrics.invalid_inference, "inference_error",
           frame_label(item) + ": " + inference.error().message);
    return;
  }
  const auto done = SteadyClock::now();
  FrameResult result = decide(item, *inference, started, done);
  count(result, done);
  last_scored_sequence = item.sequence;
  ++processed;
  {
    std::lock_guard status(status_mutex);
    last_inference_time = result.decided_at;
  }
  models->set_latest_frame(item.frame.image);
  recent.push(result);
  if (observer) observer(result);
}

FrameResult Pipeline::Impl::decide(QueuedFrame& item, const model::Inference& inference,
                                   SteadyClock::time_point started, SteadyClock::time_point done) {
  const ActiveModel& active = models->active();
  FrameResult result;
  result.sequence = item.sequence;
  result.model_version = active.version;
  result.score = inference.score;
  result.threshold = active.threshold;
  result.decision = inference.score > active.threshold ? Decision::reject : Decision::pass;
  result.latency_seconds = std::chrono::duration<double>(done - started).count();
  result.decided_at = SystemClock::now();
  result.captured = item.frame.captured;
  result.origin = std::move(item.frame.origin);
  result.truth = std::move(item.frame.truth);
  return result;
}

void Pipeline::Impl::count(const FrameResult& result, SteadyClock::time_point done) {
  const ActiveModel& active = models->active();
  const auto& m = active.metrics;
  m.frames->inc();
  m.latency->observe(result.latency_seconds);
  m.latency_recent->observe_at(result.latency_seconds, done);
  const double ratio = result.score / active.threshold;
  m.score->observe(ratio);
  m.score_recent->observe_at(ratio, done);
  (result.decision == Decision::reject ? m.reject : m.pass)->inc();
  metrics.last_inference->set(unix_seconds(result.decided_at));
  readings->inferred_at(done);
}

Pipeline::Pipeline(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<Pipeline>> Pipeline::create(std::unique_ptr<camera::Camera> camera,
                                                   std::unique_ptr<model::Model> model,
                                                   metrics::Registry& registry,
                                                   PipelineOptions options) {
  if (!camera || !model)
    return make_error(Errc::invalid_argument, "pipeline needs a camera and a model");
  auto impl = std::make_unique<Impl>(std::move(options));
  impl->camera = std::move(camera);
  impl->readings->camera = impl->camera;
  impl->readings->healthy_within = impl->options.healthy_within;
  EF_TRY(impl->metrics, register_pipeline_metrics(registry, impl->readings));
  ModelExchangeOptions exchange;
  exchange.load = impl->options.load;
  exchange.warm_up_runs = impl->options.warm_up_runs;
  exchange.release = impl->options.release;
  exchange.swaps_ok = impl->metrics.swaps_ok;
  exchange.swaps_failed = impl->metrics.swaps_failed;
  FrameQueue* queue = &impl->queue;
  EF_TRY(impl->models, ModelExchange::create(std::move(model), registry, std::move(exchange),
                                             [queue] { queue->notify(); }));
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
  impl_->queue.stop();
  impl_->camera->stop();
  for (auto* t : {&impl_->capture_thread, &impl_->inference_thread}) {
    if (t->joinable()) t->join();
  }
  impl_->models->stop();
}

bool Pipeline::finished() const {
  return impl_->queue.drained();
}

Result<std::uint64_t> Pipeline::request_swap(const std::filesystem::path& model_dir,
                                             const std::string& expected_version) {
  return impl_->models->request(model_dir, expected_version);
}

SwapStatus Pipeline::swap_status() const {
  return impl_->models->status();
}

Health Pipeline::health() const {
  Health h;
  const auto now = SteadyClock::now();
  h.camera = impl_->camera->status();
  const bool stopped = impl_->queue.stopped();
  const bool finished = impl_->queue.drained();
  h.model_version = impl_->models->version();
  h.model_name = impl_->models->name();
  {
    std::lock_guard status(impl_->status_mutex);
    h.last_inference = impl_->last_inference_time;
    h.last_frame_error = impl_->last_frame_error;
  }
  h.release = impl_->options.release;
  h.frames_processed = impl_->processed;
  h.frames_dropped = impl_->queue.stats().dropped;
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
  const auto q = impl_->queue.stats();
  return {q.sequences, q.pushed, impl_->processed, q.dropped, impl_->invalid, q.queued};
}

RecentResults& Pipeline::results() {
  return impl_->recent;
}

const RecentResults& Pipeline::results() const {
  return impl_->recent;
}

}  // namespace ef::inspection
