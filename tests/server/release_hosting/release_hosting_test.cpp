// The server's release repository without HTTP: init, blob upload, publish and refresh, with
// keys and a release made by the same code the CLI uses, and hostile uploads.
#include "server/release_hosting/release_hosting.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "core/common/fs.hpp"
#include "core/crypto/hash.hpp"
#include "core/release_signing/keyring.hpp"
#include "core/release_signing/repository.hpp"
#include "temp_dir_test.hpp"

namespace ef::release_hosting {
namespace {

namespace fs = std::filesystem;

class ReleaseHosting : public testing::TempDirTest {
 public:
  void SetUp() override {
    TempDirTest::SetUp();
    ASSERT_TRUE(release::init_keys(dir_ / "keys", {}, utc_now()));
  }

  // Builds release `version` offline, as CI does, and returns its targets metadata bytes.
  std::string build(const std::string& version, const std::string& model) {
    write("src/code/run", "#!/bin/sh\n");
    write("src/model/model.onnx", model);
    write("src/config/runtime.json", "{}");
    release::BuildOptions options;
    options.source_dir = dir_ / "src";
    options.version = version;
    options.keys_dir = dir_ / "keys";
    options.repo_dir = dir_ / "offline";
    auto built = release::build_release(options, utc_now());
    EXPECT_TRUE(built) << built.error().message;
    const auto name = std::to_string(built->targets_version) + ".targets.json";
    return *read_file(dir_ / "offline" / "metadata" / name, 1 << 20);
  }

  // Uploads every blob of the offline repository through store_blob.
  void upload_blobs(Repository& repo) {
    for (const auto& entry : fs::directory_iterator(dir_ / "offline" / "blobs" / "sha256")) {
      // A fresh file per blob, as the server's upload is: store_blob may keep the file itself.
      const fs::path upload = dir_ / ("upload-" + entry.path().filename().string());
      fs::copy_file(entry.path(), upload);
      auto stored = repo.store_blob(entry.path().filename().string(), upload);
      ASSERT_TRUE(stored) << stored.error().message;
    }
  }

  Repository ready_repository() {
    EXPECT_TRUE(
        init(dir_ / "server" / "repository", dir_ / "server" / "online-keys", dir_ / "keys"));
    return Repository(dir_ / "server" / "repository", dir_ / "server" / "online-keys", {});
  }
};

TEST_F(ReleaseHosting, InitTakesTheRootsAndOnlyTheOnlineKeys) {
  Repository before(dir_ / "server" / "repository", dir_ / "server" / "online-keys", {});
  EXPECT_FALSE(before.not_ready_reason().empty());
  auto refused = before.publish(build("1.0.0", "m1"), utc_now());
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Errc::refused);

  auto repo = ready_repository();
  EXPECT_EQ(repo.not_ready_reason(), "");
  EXPECT_TRUE(fs::exists(repo.metadata_dir() / "1.root.json"));
  for (const auto& entry : fs::directory_iterator(dir_ / "server" / "online-keys")) {
    const auto name = entry.path().filename().string();
    EXPECT_TRUE(name.starts_with("snapshot-") || name.starts_with("timestamp-")) << name;
  }
  EXPECT_FALSE(
      init(dir_ / "server" / "repository", dir_ / "server" / "online-keys", dir_ / "keys"));
}

TEST_F(ReleaseHosting, AcceptsOnlyABlobWhoseHashIsItsName) {
  auto repo = ready_repository();
  write("upload", "blob bytes");
  const std::string right = crypto::sha256_hex("blob bytes");
  auto wrong = repo.store_blob(std::string(64, 'a'), dir_ / "upload");
  ASSERT_FALSE(wrong);
  EXPECT_FALSE(fs::exists(repo.blob_dir() / std::string(64, 'a')));
  EXPECT_FALSE(repo.store_blob("../../etc/passwd", dir_ / "upload"));
  auto first = repo.store_blob(right, dir_ / "upload");
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_TRUE(*first);
  write("upload", "blob bytes");
  auto again = repo.store_blob(right, dir_ / "upload");
  ASSERT_TRUE(again);
  EXPECT_FALSE(*again);  // already there
}

TEST_F(ReleaseHosting, PublishesASignedReleaseOnceItsBlobsAreThere) {
  auto repo = ready_repository();
  const std::string targets = build("1.0.0", "model one");
  auto missing_blobs = repo.publish(targets, utc_now());
  ASSERT_FALSE(missing_blobs);  // nothing uploaded yet
  upload_blobs(repo);
  auto published = repo.publish(targets, utc_now());
  ASSERT_TRUE(published) << published.error().message;
  EXPECT_EQ(published->targets_version, 1);
  ASSERT_EQ(published->releases.size(), 1u);
  EXPECT_EQ(published->releases[0].version, "1.0.0");
  EXPECT_TRUE(fs::exists(repo.metadata_dir() / "timestamp.json"));
  EXPECT_FALSE(repo.publish(targets, utc_now()));  // the same version twice
}

TEST_F(ReleaseHosting, RefusesTamperedTargetsAndChangesNothing) {
  auto repo = ready_repository();
  std::string targets = build("1.0.0", "model one");
  upload_blobs(repo);
  const auto at = targets.find("1.0.0");
  ASSERT_NE(at, std::string::npos);
  targets[at] = '9';  // the signature no longer covers the bytes
  EXPECT_FALSE(repo.publish(targets, utc_now()));
  EXPECT_FALSE(fs::exists(repo.metadata_dir() / "1.targets.json"));
  EXPECT_FALSE(repo.publish("{not json", utc_now()));
  EXPECT_FALSE(repo.publish(std::string(1 << 20, '{'), utc_now()));
}

TEST_F(ReleaseHosting, RefreshesTheTimestampOnlyWhenItIsDue) {
  auto repo = ready_repository();
  const std::string targets = build("1.0.0", "model one");
  upload_blobs(repo);
  ASSERT_TRUE(repo.publish(targets, utc_now()));
  const auto before = *read_file(repo.metadata_dir() / "timestamp.json", 1 << 20);
  ASSERT_TRUE(repo.refresh_if_due(utc_now()));
  EXPECT_EQ(*read_file(repo.metadata_dir() / "timestamp.json", 1 << 20), before);
  ASSERT_TRUE(repo.refresh_if_due(utc_now() + std::chrono::days(6)));
  EXPECT_NE(*read_file(repo.metadata_dir() / "timestamp.json", 1 << 20), before);
}

}  // namespace
}  // namespace ef::release_hosting
