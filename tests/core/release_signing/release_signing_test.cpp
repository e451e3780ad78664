// Keys and building, as the CLI and CI use them: init, rotation, build_release's refusals and
// blob reuse, and the online snapshot/timestamp signatures. Verification of what is built is in
// tests/core/release_verify.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "core/common/fs.hpp"
#include "core/json/json.hpp"
#include "core/release_signing/keyring.hpp"
#include "core/release_signing/repository.hpp"
#include "core/trust/trusted_set.hpp"
#include "temp_dir_test.hpp"

namespace ef::release {
namespace {

namespace fs = std::filesystem;

class ReleaseSigning : public testing::TempDirTest {
 public:
  void SetUp() override {
    TempDirTest::SetUp();
    ASSERT_TRUE(init_keys(dir_ / "keys", {}, utc_now()));
    write("src/code/run", "#!/bin/sh\n");
    write("src/model/model.onnx", std::string(5000, 'm'));
    write("src/config/runtime.json", "{}");
  }

  Result<BuildSummary> build(const std::string& version, std::optional<std::int64_t> epoch = {}) {
    BuildOptions options;
    options.source_dir = dir_ / "src";
    options.version = version;
    options.keys_dir = dir_ / "keys";
    options.repo_dir = dir_ / "repo";
    options.epoch = epoch;
    return build_release(options, utc_now());
  }
};

TEST_F(ReleaseSigning, InitMakesEveryRoleAndARootThatIsATrustAnchor) {
  auto ring = load_keyring(dir_ / "keys");
  ASSERT_TRUE(ring) << ring.error().message;
  for (const char* role : kRoles)
    EXPECT_EQ(ring->of(role).size(), 1u) << role;
  auto root = read_file(dir_ / "keys" / "root.json", 1 << 20);
  ASSERT_TRUE(root);
  EXPECT_TRUE(trust::TrustedSet::create(*root, utc_now()));
  EXPECT_EQ(init_keys(dir_ / "keys", {}, utc_now()).error().code, Errc::exists);
}

TEST_F(ReleaseSigning, ARotatedRootVerifiesFromTheOldOneAndTheOldKeyIsRetired) {
  const auto old_root = *read_file(dir_ / "keys" / "root.json", 1 << 20);
  auto version = rotate_keys(dir_ / "keys", {.role = "targets", .new_keys = 2}, utc_now());
  ASSERT_TRUE(version) << version.error().message;
  EXPECT_EQ(*version, 2);
  auto trusted = trust::TrustedSet::create(old_root, utc_now());
  ASSERT_TRUE(trusted);
  EXPECT_TRUE(trusted->update_root(*read_file(dir_ / "keys" / "2.root.json", 1 << 20)));
  EXPECT_TRUE(fs::exists(dir_ / "keys" / "retired" / "targets-1.key.until-root-1"));
  EXPECT_EQ(load_keyring(dir_ / "keys")->of("targets").size(), 2u);
  EXPECT_EQ(fs::status(dir_ / "keys" / "targets-2.key").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_FALSE(rotate_keys(dir_ / "keys", {.role = "firmware"}, utc_now()));
  EXPECT_FALSE(rotate_keys(dir_ / "keys", {.role = "targets", .new_keys = 0}, utc_now()));
}

TEST_F(ReleaseSigning, BuildStoresEachBlobOnceAndSignsEveryRole) {
  auto first = build("1.0.0");
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(first->targets_version, 1);
  EXPECT_TRUE(first->signed_snapshot);
  EXPECT_EQ(first->reused_blob_bytes, 0u);
  write("src/model/model.onnx", std::string(6000, 'n'));  // a model-only change
  auto second = build("1.1.0");
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_EQ(second->targets_version, 2);
  EXPECT_EQ(second->new_blob_bytes, 6000u);
  EXPECT_EQ(second->reused_blob_bytes, 12u);  // run and runtime.json, already stored
  EXPECT_EQ(latest_version(dir_ / "repo", "snapshot"), 2);
}

TEST_F(ReleaseSigning, BuildRefusesAReusedVersionALowerEpochAndABadSource) {
  ASSERT_TRUE(build("1.0.0", 3));
  auto again = build("1.0.0");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, Errc::exists);
  auto lower = build("1.1.0", 2);
  ASSERT_FALSE(lower);
  EXPECT_EQ(lower.error().code, Errc::invalid_argument);
  EXPECT_FALSE(build("../1.2.0"));
  write("src/firmware/blob.bin", "x");  // not one of code/, model/, config/
  EXPECT_FALSE(build("1.3.0"));
  EXPECT_EQ(latest_version(dir_ / "repo", "targets"), 1);  // nothing of the refusals written
}

TEST_F(ReleaseSigning, RefreshingTheTimestampSignsTheNextVersion) {
  ASSERT_TRUE(build("1.0.0"));
  auto ring = load_keyring(dir_ / "keys");
  ASSERT_TRUE(ring);
  const fs::path timestamp = dir_ / "repo" / "metadata" / "timestamp.json";
  const auto before = *read_file(timestamp, 1 << 20);
  ASSERT_TRUE(refresh_timestamp(dir_ / "repo", *ring, {}, utc_now()));
  const auto after = *read_file(timestamp, 1 << 20);
  EXPECT_NE(after, before);
  auto parsed = json::parse_strict(after);
  ASSERT_TRUE(parsed);
  EXPECT_EQ((*parsed)["signed"]["version"], 2);
}

}  // namespace
}  // namespace ef::release
