#include "runtime/endpoints/operator_actions.hpp"

#include <gtest/gtest.h>

namespace ef::runtime {
namespace {

using inspection::Decision;

class OperatorActionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (std::uint64_t s = 1; s <= 5; ++s) {
      inspection::FrameResult r;
      r.sequence = s;
      r.model_version = "m1";
      r.decision = s == 3 ? Decision::reject : Decision::pass;
      results_.push(r);
    }
  }
  bool exposes(const std::string& line) {
    return registry_.expose().find(line) != std::string::npos;
  }

  metrics::Registry registry_;
  inspection::RecentResults results_{16};
  OperatorActions actions_{results_, registry_};
};

TEST_F(OperatorActionsTest, OverrideIsRecordedAndCounted) {
  auto done = actions_.override_decision(3, Decision::pass, "ana");
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_EQ(done->override_decision, Decision::pass);
  EXPECT_EQ(results_.after(2, 1)[0].override_operator, "ana");
  EXPECT_TRUE(exposes(
      "edgefleet_runtime_overrides_total{model_version=\"m1\",from=\"reject\",to=\"pass\"} 1"));
  EXPECT_TRUE(exposes("edgefleet_runtime_operator_interactions_total{kind=\"override\"} 1"));
}

TEST_F(OperatorActionsTest, RefusedOverridesCountNothing) {
  auto same = actions_.override_decision(3, Decision::reject, "ana");
  ASSERT_FALSE(same);
  EXPECT_EQ(same.error().code, Errc::invalid_argument);
  auto unknown = actions_.override_decision(999999999, Decision::reject, "ana");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, Errc::not_found);
  auto control_chars = actions_.override_decision(1, Decision::reject, "a\nb");
  ASSERT_FALSE(control_chars);
  EXPECT_EQ(control_chars.error().code, Errc::invalid_argument);
  auto too_long = actions_.override_decision(1, Decision::reject, std::string(65, 'a'));
  ASSERT_FALSE(too_long);
  ASSERT_TRUE(actions_.override_decision(1, Decision::reject, "ana"));
  auto twice = actions_.override_decision(1, Decision::pass, "bo");
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().code, Errc::exists);
  EXPECT_TRUE(exposes("edgefleet_runtime_operator_interactions_total{kind=\"override\"} 1"));
  EXPECT_EQ(results_.after(0, 1)[0].override_decision, Decision::reject);
}

TEST_F(OperatorActionsTest, InteractionKindsAreCheckedAndBounded) {
  ASSERT_TRUE(actions_.record_interaction("acknowledge_alarm"));
  EXPECT_FALSE(actions_.record_interaction("Bad Kind"));
  EXPECT_FALSE(actions_.record_interaction(""));
  EXPECT_FALSE(actions_.record_interaction(std::string(33, 'k')));
  for (int i = 0; i < 40; ++i)
    ASSERT_TRUE(actions_.record_interaction("k" + std::to_string(i)));
  EXPECT_TRUE(
      exposes("edgefleet_runtime_operator_interactions_total{kind=\"acknowledge_alarm\"} 1"));
  EXPECT_TRUE(exposes("edgefleet_runtime_operator_interactions_total{kind=\"k30\"} 1"));
  // 32 kinds at most (acknowledge_alarm and k0..k30); the rest count as "other".
  EXPECT_FALSE(exposes("kind=\"k31\""));
  EXPECT_TRUE(exposes("edgefleet_runtime_operator_interactions_total{kind=\"other\"} 9"));
}

}  // namespace
}  // namespace ef::runtime
