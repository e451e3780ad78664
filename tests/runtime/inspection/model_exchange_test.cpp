// The active model and its hot-swap, driven by hand in place of the inference thread.
#include "runtime/inspection/model_exchange.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "tiny_model.hpp"

namespace ef::inspection {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class ModelExchangeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("ef-exchange-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    model::testing::write_tiny_model(dir_ / "tiny-1", {.version = "tiny-1"});
    model::testing::write_tiny_model(dir_ / "tiny-2", {.version = "tiny-2"});
    auto first = model::Model::load(dir_ / "tiny-1");
    ASSERT_TRUE(first) << first.error().message;
    ModelExchangeOptions options;
    options.warm_up_runs = 1;
    options.release = "r1";
    auto exchange =
        ModelExchange::create(std::move(*first), registry_, options, [this] { ++wakes_; });
    ASSERT_TRUE(exchange) << exchange.error().message;
    exchange_ = std::move(*exchange);
  }
  void TearDown() override {
    exchange_.reset();
    fs::remove_all(dir_);
  }

  bool wait_for(const std::function<bool()>& condition) {
    for (int i = 0; i < 2000 && !condition(); ++i)
      std::this_thread::sleep_for(5ms);
    return condition();
  }

  fs::path dir_;
  metrics::Registry registry_;
  std::atomic<int> wakes_{0};
  std::unique_ptr<ModelExchange> exchange_;
};

TEST_F(ModelExchangeTest, SwapWaitsForTheInferenceThreadToInstall) {
  EXPECT_EQ(exchange_->active().version, "tiny-1");
  auto id = exchange_->request(dir_ / "tiny-2", "tiny-2");
  ASSERT_TRUE(id) << id.error().message;
  EXPECT_EQ(*id, 1u);
  ASSERT_TRUE(wait_for([&] { return exchange_->has_pending(); }));
  EXPECT_GE(wakes_.load(), 1);
  // Not installed until the inference thread says so: the old model still scores.
  EXPECT_EQ(exchange_->status().state, SwapStatus::State::ready);
  EXPECT_EQ(exchange_->version(), "tiny-1");
  exchange_->install_pending(41);
  EXPECT_EQ(exchange_->active().version, "tiny-2");
  EXPECT_FALSE(exchange_->has_pending());
  const auto status = exchange_->status();
  EXPECT_EQ(status.state, SwapStatus::State::swapped);
  EXPECT_EQ(status.previous_version, "tiny-1");
  EXPECT_EQ(status.new_version, "tiny-2");
  EXPECT_EQ(status.last_sequence_before, 41u);
  EXPECT_EQ(exchange_->version(), "tiny-2");
  const auto text = registry_.expose();
  EXPECT_NE(text.find("model_info{model_version=\"tiny-1\""), std::string::npos);
  EXPECT_NE(text.find("model_version=\"tiny-2\",model_name="), std::string::npos);
}

TEST_F(ModelExchangeTest, FailedSwapKeepsTheActiveModel) {
  ASSERT_TRUE(exchange_->request(dir_ / "tiny-2", "tiny-9"));
  ASSERT_TRUE(wait_for([&] { return !exchange_->status().in_progress(); }));
  const auto status = exchange_->status();
  EXPECT_EQ(status.state, SwapStatus::State::failed);
  EXPECT_NE(status.error.find("not the requested tiny-9"), std::string::npos) << status.error;
  EXPECT_FALSE(exchange_->has_pending());
  EXPECT_EQ(exchange_->active().version, "tiny-1");
}

TEST_F(ModelExchangeTest, OneSwapAtATimeAndNoneAfterStop) {
  ASSERT_TRUE(exchange_->request(dir_ / "tiny-2", ""));
  ASSERT_TRUE(wait_for([&] { return exchange_->has_pending(); }));
  auto second = exchange_->request(dir_ / "tiny-2", "");
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, Errc::refused);
  exchange_->stop();  // releases the worker waiting for the hand-over
  auto late = exchange_->request(dir_ / "tiny-2", "");
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error().code, Errc::closed);
}

}  // namespace
}  // namespace ef::inspection
