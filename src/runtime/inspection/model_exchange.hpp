// The model that scores frames, and its hot-swap.
//
// The inference thread owns the active model: it scores with active() and, between two frames,
// calls install_pending(). request() loads, checks and warms a new model on a worker thread while
// the active one keeps scoring (warm-up ends with the latest camera frame, so the new model has
// answered on real input); the worker then hands it over as "pending", calls wake_inference, and
// waits until the inference thread has installed it. The exchange itself is a pointer swap under
// a lock; the replaced model is destroyed on the worker thread, never on the inference thread.
// A model that fails to load or warm leaves the active one running; status() reports the error
// and swaps_failed counts it. One swap at a time.
//
// Thread-safety: active() and install_pending() on the inference thread only; everything else
// from any thread. stop() wakes and joins the worker; request() then refuses (closed).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <opencv2/core/mat.hpp>
#include <string>
#include <thread>

#include "core/common/result.hpp"
#include "core/metrics/metrics.hpp"
#include "runtime/inspection/pipeline_metrics.hpp"
#include "runtime/model/model.hpp"

namespace ef::inspection {

struct SwapStatus {
  enum class State { idle, loading, warming, ready, swapped, failed };
  std::uint64_t id = 0;  // 0: no swap requested yet
  State state = State::idle;
  std::string model_dir;
  std::string requested_version;  // as asked (may be empty)
  std::string previous_version;
  std::string new_version;  // from the new model's metadata once loaded
  std::string error;        // why it failed
  // Frames up to this sequence were scored by the previous model, later ones by the new one.
  std::uint64_t last_sequence_before = 0;
  std::chrono::system_clock::time_point requested_at, finished_at;
  bool in_progress() const {
    return state == State::loading || state == State::warming || state == State::ready;
  }
};
const char* swap_state_name(SwapStatus::State state);

// A loaded, warmed model with its metric handles.
struct ActiveModel {
  std::unique_ptr<model::Model> model;
  ModelMetrics metrics;
  std::string version;
  std::string name;
  double threshold = 0;
};

struct ModelExchangeOptions {
  model::LoadOptions load;
  int warm_up_runs = 3;
  std::string release;  // labels model_info
  metrics::Counter* swaps_ok = nullptr;
  metrics::Counter* swaps_failed = nullptr;
};

class ModelExchange {
 public:
  // first must be loaded and warmed; registers its metrics and marks it as scoring in model_info.
  static Result<std::unique_ptr<ModelExchange>> create(std::unique_ptr<model::Model> first,
                                                       metrics::Registry& registry,
                                                       ModelExchangeOptions options,
                                                       std::function<void()> wake_inference);
  ~ModelExchange();  // stops

  // Inference thread only.
  ActiveModel& active() { return *active_; }
  bool has_pending() const { return has_pending_.load(std::memory_order_acquire); }
  // Makes the pending model the active one; last_sequence is the last frame the old one scored.
  void install_pending(std::uint64_t last_sequence);

  // Starts a swap to the model in model_dir. If expected_version is not empty, the model's
  // metadata must carry it. refused while another swap is in progress; closed after stop().
  Result<std::uint64_t> request(const std::filesystem::path& model_dir,
                                const std::string& expected_version);
  SwapStatus status() const;
  // The active model's version and name (any thread).
  std::string version() const;
  std::string name() const;
  // The latest camera frame, for warming the next model on real input.
  void set_latest_frame(const cv::Mat& image);
  void stop();

 private:
  ModelExchange(metrics::Registry& registry, ModelExchangeOptions options,
                std::function<void()> wake_inference);
  Result<std::unique_ptr<ActiveModel>> activate(std::unique_ptr<model::Model> model);
  void run_swap(std::uint64_t id, const std::filesystem::path& dir,
                const std::string& expected_version);
  Result<std::unique_ptr<model::Model>> load_and_warm(std::uint64_t id,
                                                      const std::filesystem::path& dir,
                                                      const std::string& expected_version);
  void hand_over(std::unique_ptr<ActiveModel> next);
  void set_state(std::uint64_t id, SwapStatus::State state, const std::string& new_version = {});
  void fail(const std::filesystem::path& dir, const Error& error);

  metrics::Registry& registry_;
  const ModelExchangeOptions options_;
  const std::function<void()> wake_inference_;

  std::unique_ptr<ActiveModel> active_;  // owned by the inference thread

  // Hand-over. Lock order: mutex_ before status_mutex_.
  std::mutex mutex_;
  std::condition_variable taken_;  // the worker waits for the inference thread to install
  std::unique_ptr<ActiveModel> pending_, retired_;
  std::atomic<bool> has_pending_{false};
  bool stopping_ = false;

  mutable std::mutex status_mutex_;
  SwapStatus status_;
  std::string version_, name_;
  cv::Mat latest_frame_;

  std::mutex lifecycle_;  // request/stop
  bool stopped_ = false;
  std::thread worker_;
};

}  // namespace ef::inspection
