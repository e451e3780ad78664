#include "runtime/inspection/model_exchange.hpp"

#include <spdlog/spdlog.h>

namespace ef::inspection {

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

ModelExchange::ModelExchange(metrics::Registry& registry, ModelExchangeOptions options,
                             std::function<void()> wake_inference)
    : registry_(registry),
      options_(std::move(options)),
      wake_inference_(std::move(wake_inference)) {}

Result<std::unique_ptr<ModelExchange>> ModelExchange::create(std::unique_ptr<model::Model> first,
                                                             metrics::Registry& registry,
                                                             ModelExchangeOptions options,
                                                             std::function<void()> wake_inference) {
  if (!first) return make_error(Errc::invalid_argument, "the model exchange needs a first model");
  std::unique_ptr<ModelExchange> exchange(
      new ModelExchange(registry, std::move(options), std::move(wake_inference)));
  EF_TRY(exchange->active_, exchange->activate(std::move(first)));
  exchange->active_->metrics.info->set(1);
  exchange->version_ = exchange->active_->version;
  exchange->name_ = exchange->active_->name;
  return exchange;
}

ModelExchange::~ModelExchange() {
  stop();
}

Result<std::unique_ptr<ActiveModel>> ModelExchange::activate(std::unique_ptr<model::Model> model) {
  auto active = std::make_unique<ActiveModel>();
  const auto& meta = model->metadata();
  active->version = meta.version;
  active->name = meta.name;
  active->threshold = meta.threshold;
  EF_TRY(active->metrics, register_model_metrics(registry_, *model, options_.release));
  active->model = std::move(model);
  return active;
}

void ModelExchange::install_pending(std::uint64_t last_sequence) {
  std::lock_guard lock(mutex_);
  if (!pending_) return;
  std::unique_ptr<ActiveModel> old = std::move(active_);
  active_ = std::move(pending_);
  has_pending_.store(false, std::memory_order_release);
  old->metrics.info->set(0);
  active_->metrics.info->set(1);
  {
    std::lock_guard status(status_mutex_);
    version_ = active_->version;
    name_ = active_->name;
    status_.state = SwapStatus::State::swapped;
    status_.last_sequence_before = last_sequence;
    status_.finished_at = std::chrono::system_clock::now();
  }
  if (options_.swaps_ok) options_.swaps_ok->inc();
  spdlog::info("model {} replaced {} after frame {}", active_->version, old->version,
               last_sequence);
  retired_ = std::move(old);
  taken_.notify_all();
}

Result<std::uint64_t> ModelExchange::request(const std::filesystem::path& model_dir,
                                             const std::string& expected_version) {
  std::lock_guard lock(lifecycle_);
  if (stopped_) return make_error(Errc::closed, "the pipeline is stopped");
  {
    std::lock_guard status(status_mutex_);
    if (status_.in_progress()) {
      return make_error(Errc::refused, "a swap to " + status_.model_dir + " is in progress (" +
                                           swap_state_name(status_.state) + ")");
    }
  }
  if (worker_.joinable()) worker_.join();
  std::uint64_t id;
  {
    std::lock_guard status(status_mutex_);
    id = status_.id + 1;
    status_ = SwapStatus{};
    status_.id = id;
    status_.state = SwapStatus::State::loading;
    status_.model_dir = model_dir.string();
    status_.requested_version = expected_version;
    status_.previous_version = version_;
    status_.requested_at = std::chrono::system_clock::now();
  }
  spdlog::info("model swap {} requested: {}", id, model_dir.string());
  worker_ = std::thread(
      [this, id, model_dir, expected_version] { run_swap(id, model_dir, expected_version); });
  return id;
}

void ModelExchange::run_swap(std::uint64_t id, const std::filesystem::path& dir,
                             const std::string& expected_version) {
  auto loaded = load_and_warm(id, dir, expected_version);
  if (!loaded) return fail(dir, loaded.error());
  auto next = activate(std::move(*loaded));
  if (!next) return fail(dir, next.error());
  set_state(id, SwapStatus::State::ready);
  hand_over(std::move(*next));
}

Result<std::unique_ptr<model::Model>> ModelExchange::load_and_warm(
    std::uint64_t id, const std::filesystem::path& dir, const std::string& expected_version) {
  EF_TRY(auto model, model::Model::load(dir, options_.load));
  const std::string version = model->metadata().version;
  if (!expected_version.empty() && version != expected_version) {
    return make_error(Errc::mismatch, "the model is version " + version + ", not the requested " +
                                          expected_version + " (" + dir.string() + ")");
  }
  set_state(id, SwapStatus::State::warming, version);
  EF_CHECK(model->warm_up(options_.warm_up_runs));
  cv::Mat real;
  {
    std::lock_guard status(status_mutex_);
    real = latest_frame_;
  }
  if (!real.empty()) {
    // The new model must also answer on what this camera actually sends.
    if (auto scored = model->infer(real); !scored) {
      return std::move(scored).error().context("warming up on a camera frame");
    }
  }
  return model;
}

void ModelExchange::hand_over(std::unique_ptr<ActiveModel> next) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    pending_ = std::move(next);
    has_pending_.store(true, std::memory_order_release);
  }
  // Outside mutex_: the inference thread checks has_pending() under the frame queue's lock.
  wake_inference_();
  std::unique_ptr<ActiveModel> old;
  {
    std::unique_lock lock(mutex_);
    taken_.wait(lock, [&] { return stopping_ || !pending_; });
    old = std::move(retired_);
  }
  old.reset();  // the replaced model is destroyed here, not on the inference thread
}

void ModelExchange::set_state(std::uint64_t id, SwapStatus::State state,
                              const std::string& new_version) {
  std::lock_guard status(status_mutex_);
  if (status_.id != id) return;
  status_.state = state;
  if (!new_version.empty()) status_.new_version = new_version;
}

void ModelExchange::fail(const std::filesystem::path& dir, const Error& error) {
  {
    std::lock_guard status(status_mutex_);
    status_.state = SwapStatus::State::failed;
    status_.error = error.message;
    status_.finished_at = std::chrono::system_clock::now();
  }
  if (options_.swaps_failed) options_.swaps_failed->inc();
  spdlog::error("model swap to {} failed, the current model keeps running: {}", dir.string(),
                error.message);
}

SwapStatus ModelExchange::status() const {
  std::lock_guard status(status_mutex_);
  return status_;
}

std::string ModelExchange::version() const {
  std::lock_guard status(status_mutex_);
  return version_;
}

std::string ModelExchange::name() const {
  std::lock_guard status(status_mutex_);
  return name_;
}

void ModelExchange::set_latest_frame(const cv::Mat& image) {
  std::lock_guard status(status_mutex_);
  latest_frame_ = image;
}

void ModelExchange::stop() {
  std::lock_guard lifecycle(lifecycle_);
  if (stopped_) return;
  stopped_ = true;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    taken_.notify_all();
  }
  if (worker_.joinable()) worker_.join();
}

}  // namespace ef::inspection
