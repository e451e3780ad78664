// Signed releases end to end in folders: build, verify, materialize, and every way a repository
// can lie. Each refusal must leave the install folder (and the device's state) as it was.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/common/fs.hpp"
#include "core/common/path.hpp"
#include "core/crypto/hash.hpp"
#include "core/release_signing/keyring.hpp"
#include "core/release_signing/repository.hpp"
#include "core/release_verify/materialize.hpp"
#include "core/release_verify/verify.hpp"
#include "core/trust/trusted_set.hpp"

namespace ef::release {
namespace {

namespace fs = std::filesystem;
using json::Json;

UtcTime now() {
  return *parse_utc("2030-06-01T00:00:00Z");
}

class ReleaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("ef-release-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    ASSERT_TRUE(init_keys(keys(), {}, now()));
    write("src/code/run.sh", "#!/bin/sh\necho run\n", true);
    write("src/model/model.onnx", std::string(100000, 'm'));
    write("src/config/runtime.json", "{\"fps\": 30}\n");
    fs::create_symlink("run.sh", src() / "code" / "start");
  }
  void TearDown() override {
    if (mounted_) ::umount(tmpfs().c_str());
    fs::remove_all(dir_);
  }

  fs::path keys() const { return dir_ / "keys"; }
  fs::path repo() const { return dir_ / "repo"; }
  fs::path src() const { return dir_ / "src"; }
  fs::path into() const { return dir_ / "installed"; }
  fs::path state() const { return dir_ / "state"; }
  fs::path tmpfs() const { return dir_ / "small"; }

  void write(const std::string& rel, const std::string& content, bool exec = false) {
    fs::create_directories((dir_ / rel).parent_path());
    std::ofstream(dir_ / rel, std::ios::binary) << content;
    if (exec) fs::permissions(dir_ / rel, fs::perms::owner_exec, fs::perm_options::add);
  }

  Result<BuildSummary> build(const std::string& version,
                             std::optional<std::int64_t> epoch = std::nullopt) {
    BuildOptions o;
    o.source_dir = src();
    o.version = version;
    o.keys_dir = keys();
    o.repo_dir = repo();
    o.epoch = epoch;
    return build_release(o, now());
  }

  Result<Release> verify(const std::string& version, bool install = true, bool keep_state = false,
                         UtcTime at = now()) {
    VerifyOptions o;
    o.repo_dir = repo();
    o.root_json = *read_file(keys() / "1.root.json", 1 << 20);
    o.version = version;
    if (install) o.into = into();
    if (keep_state) o.state_dir = state();
    o.clock = [at] { return at; };
    return verify_release(o);
  }

  // Re-signs the newest targets after `mutate`, as a compromised build pipeline holding the
  // targets key could; snapshot and timestamp follow.
  void resign_targets(const std::function<void(Json&)>& mutate) {
    const auto v = latest_version(repo(), "targets");
    auto bytes = *read_file(repo() / "metadata" / (std::to_string(v) + ".targets.json"), 1 << 24);
    Json signed_json = (*trust::parse_envelope(bytes, 1 << 24)).signed_json;
    mutate(signed_json);
    signed_json["version"] = v + 1;
    auto ring = *load_keyring(keys());
    ASSERT_TRUE(write_file_atomic(repo() / "metadata" / (std::to_string(v + 1) + ".targets.json"),
                                  *trust::sign_metadata(signed_json, ring.of("targets"))));
    ASSERT_TRUE(sign_snapshot_and_timestamp(repo(), ring, {}, now()));
  }

  // Adds a file entry to release `version` whose blob holds `content`.
  void add_signed_file(const std::string& version, const std::string& target,
                       const std::string& content, const std::string& type = "file") {
    const std::string sha = crypto::sha256_hex(content);
    ASSERT_TRUE(write_file_atomic(repo() / "blobs" / "sha256" / sha, content));
    resign_targets([&](Json& t) {
      t["targets"][target] = Json{{"length", content.size()},
                                  {"hashes", {{"sha256", sha}}},
                                  {"custom",
                                   {{"edgefleet",
                                     {{"release", version},
                                      {"part", "code"},
                                      {"epoch", 0},
                                      {"mode", 0644},
                                      {"type", type}}}}}};
    });
  }

  void expect_refused(const Result<Release>& r, Errc code, const std::string& words) {
    ASSERT_FALSE(r) << "a bad release was accepted";
    EXPECT_EQ(r.error().code, code) << r.error().message;
    EXPECT_NE(r.error().message.find(words), std::string::npos) << r.error().message;
    EXPECT_FALSE(fs::exists(into())) << "a refused release left files behind";
    for (const auto& e : fs::directory_iterator(dir_)) {
      EXPECT_FALSE(e.path().filename().string().starts_with(".staging"))
          << "staging folder left behind";
    }
  }

  fs::path dir_;
  bool mounted_ = false;
};

TEST_F(ReleaseTest, BuildThenVerifyInstallsExactlyTheSourceFiles) {
  auto built = build("1.0.0");
  ASSERT_TRUE(built) << built.error().message;
  EXPECT_EQ(built->release.files.size(), 4u);
  auto r = verify("1.0.0");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*read_file(into() / "model/model.onnx", 1 << 20), std::string(100000, 'm'));
  EXPECT_EQ(*read_file(into() / "code/run.sh", 1 << 20), "#!/bin/sh\necho run\n");
  EXPECT_EQ(fs::read_symlink(into() / "code/start"), "run.sh");
  EXPECT_NE(fs::status(into() / "code/run.sh").permissions() & fs::perms::owner_exec,
            fs::perms::none);
  EXPECT_EQ(fs::status(into() / "config/runtime.json").permissions() & fs::perms::owner_exec,
            fs::perms::none);
}

TEST_F(ReleaseTest, UnchangedFilesAreStoredOnceAndAModelOnlyReleaseAddsOnlyTheModel) {
  ASSERT_TRUE(build("1.0.0"));
  write("src/model/model.onnx", std::string(50000, 'n'));
  auto second = build("1.1.0");
  ASSERT_TRUE(second);
  EXPECT_EQ(second->new_blob_bytes, 50000u);
  EXPECT_EQ(second->reused_blob_bytes, second->release.bytes() - 50000u);
  EXPECT_TRUE(verify("1.0.0", false));
  EXPECT_TRUE(verify("1.1.0", false));
}

TEST_F(ReleaseTest, ReleasesAreImmutable) {
  ASSERT_TRUE(build("1.0.0"));
  auto again = build("1.0.0");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, Errc::exists);
}

TEST_F(ReleaseTest, RefusesUnsafeVersionsAndSources) {
  for (const char* v : {"../1", "1/0", "", "-rf", "1.0.0?x", "a b"})
    EXPECT_FALSE(build(v)) << v;
  write("src/stray.txt", "x");
  auto stray = build("1.0.0");
  ASSERT_FALSE(stray);
  EXPECT_NE(stray.error().message.find("only the folders code/, model/ and config/"),
            std::string::npos);
}

TEST_F(ReleaseTest, RefusesSymlinksInTheSourceThatLeaveTheRelease) {
  fs::create_symlink("../../../etc/passwd", src() / "code" / "escape");
  auto r = build("1.0.0");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::unsafe_path);
}

TEST_F(ReleaseTest, RefusesATamperedBlob) {
  ASSERT_TRUE(build("1.0.0"));
  const fs::path blob = repo() / "blobs/sha256" / crypto::sha256_hex(std::string(100000, 'm'));
  fs::permissions(blob, fs::perms::owner_write, fs::perm_options::add);
  std::fstream f(blob, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(5000);
  f.put('X');
  f.close();
  expect_refused(verify("1.0.0"), Errc::mismatch, "model/model.onnx: SHA-256 differs");
  expect_refused(verify("1.0.0", false), Errc::mismatch, "SHA-256 differs");
}

TEST_F(ReleaseTest, RefusesABlobOfTheWrongLength) {
  ASSERT_TRUE(build("1.0.0"));
  const fs::path blob = repo() / "blobs/sha256" / crypto::sha256_hex(std::string(100000, 'm'));
  fs::permissions(blob, fs::perms::owner_write, fs::perm_options::add);
  std::ofstream(blob, std::ios::app) << "more";
  expect_refused(verify("1.0.0"), Errc::mismatch,
                 "blob is 100004 bytes, the signed release says 100000");
}

TEST_F(ReleaseTest, RefusesAMissingBlob) {
  ASSERT_TRUE(build("1.0.0"));
  fs::remove(repo() / "blobs/sha256" / crypto::sha256_hex(std::string(100000, 'm')));
  expect_refused(verify("1.0.0"), Errc::not_found, "cannot open blob for model/model.onnx");
}

TEST_F(ReleaseTest, RefusesAReleaseBelowTheSecurityEpoch) {
  ASSERT_TRUE(build("1.0.0"));
  write("src/config/runtime.json", "{\"fps\": 25}\n");
  ASSERT_TRUE(build("2.0.0", 1));
  ASSERT_TRUE(verify("2.0.0", false, true));  // the device has seen epoch 1
  expect_refused(verify("1.0.0", true, true), Errc::rollback,
                 "release 1.0.0 has security epoch 0, below the highest epoch seen (1)");
  // The builder refuses to lower the epoch too.
  write("src/config/runtime.json", "{\"fps\": 20}\n");
  EXPECT_FALSE(build("2.1.0", 0));
}

TEST_F(ReleaseTest, RefusesUnsafeTargetNames) {
  ASSERT_TRUE(build("1.0.0"));
  using namespace std::string_literals;
  for (const std::string& bad :
       {"releases/1.0.0/code/../../../etc/cron.d/x"s, "releases/1.0.0/code/a%2F..%2Fb"s,
        "releases/1.0.0/code/a?b"s, "releases/1.0.0/code/a#b"s, "releases/1.0.0/code/a\0b"s,
        "releases/1.0.0//code/x"s, "releases/1.0.0/code/x/"s}) {
    SCOPED_TRACE(printable(bad));
    fs::remove_all(repo());
    ASSERT_TRUE(build("1.0.0"));
    add_signed_file("1.0.0", bad, "payload");
    expect_refused(verify("1.0.0"), Errc::unsafe_path, "unsafe name");
  }
}

TEST_F(ReleaseTest, RefusesAFileThatClaimsAnotherRelease) {
  ASSERT_TRUE(build("1.0.0"));
  resign_targets([](Json& t) {
    t["targets"]["releases/1.0.0/config/runtime.json"]["custom"]["edgefleet"]["release"] = "9.9.9";
  });
  expect_refused(verify("1.0.0"), Errc::mismatch, "says it belongs to release 9.9.9");
}

TEST_F(ReleaseTest, RefusesATargetOutsideItsPartFolder) {
  ASSERT_TRUE(build("1.0.0"));
  add_signed_file("1.0.0", "releases/1.0.0/model/sneaky.sh", "payload");  // custom says part: code
  expect_refused(verify("1.0.0"), Errc::malformed, "not under its part's folder");
}

TEST_F(ReleaseTest, RefusesSymlinksThatEscapeTheRelease) {
  for (const std::string& link : {std::string("../../../etc/passwd"), std::string("/etc/passwd"),
                                  std::string("../model/../../x"), std::string("")}) {
    SCOPED_TRACE(link);
    fs::remove_all(repo());
    ASSERT_TRUE(build("1.0.0"));
    add_signed_file("1.0.0", "releases/1.0.0/code/evil", link, "symlink");
    expect_refused(verify("1.0.0"), Errc::unsafe_path, "symlink code/evil");
  }
}

TEST_F(ReleaseTest, RefusesASymlinkThatPassesThroughAnotherSymlink) {
  ASSERT_TRUE(build("1.0.0"));
  // code/up -> ".." (the release root, inside), code/evil -> "up/../x": lexically "code/x",
  // but the kernel would follow "up" first and land outside.
  add_signed_file("1.0.0", "releases/1.0.0/code/up", "..", "symlink");
  add_signed_file("1.0.0", "releases/1.0.0/code/evil", "up/x", "symlink");
  expect_refused(verify("1.0.0"), Errc::unsafe_path, "passes through symlink code/up");
}

TEST_F(ReleaseTest, RefusesADuplicatePath) {
  ASSERT_TRUE(build("1.0.0"));
  add_signed_file("1.0.0", "releases/1.0.0/code/run.sh/inner", "payload");
  expect_refused(verify("1.0.0"), Errc::unsafe_path, "both as a file and as a folder");
}

TEST_F(ReleaseTest, RefusesTargetsSignedByTheWrongKey) {
  ASSERT_TRUE(build("1.0.0"));
  const auto v = latest_version(repo(), "targets");
  auto bytes = *read_file(repo() / "metadata" / (std::to_string(v) + ".targets.json"), 1 << 24);
  Json signed_json = (*trust::parse_envelope(bytes, 1 << 24)).signed_json;
  signed_json["version"] = v + 1;
  auto stranger = trust::make_signing_key(*crypto::PrivateKey::generate_ed25519());
  ASSERT_TRUE(write_file_atomic(repo() / "metadata" / (std::to_string(v + 1) + ".targets.json"),
                                *trust::sign_metadata(signed_json, std::vector{stranger})));
  ASSERT_TRUE(sign_snapshot_and_timestamp(repo(), *load_keyring(keys()), {}, now()));
  expect_refused(verify("1.0.0"), Errc::bad_signature, "targets is signed by 0 of its keys");
}

TEST_F(ReleaseTest, RefusesExpiredMetadata) {
  ASSERT_TRUE(build("1.0.0"));
  expect_refused(verify("1.0.0", true, false, now() + std::chrono::days(8)), Errc::expired,
                 "timestamp metadata expired");
}

TEST_F(ReleaseTest, RefusesMetadataRolledBackAfterANewerOneWasSeen) {
  ASSERT_TRUE(build("1.0.0"));
  const fs::path old_repo = dir_ / "old-repo";
  fs::copy(repo(), old_repo, fs::copy_options::recursive);
  write("src/config/runtime.json", "{\"fps\": 10}\n");
  ASSERT_TRUE(build("1.1.0"));
  ASSERT_TRUE(verify("1.1.0", false, true));
  fs::remove_all(repo());
  fs::rename(old_repo, repo());  // a mirror serving yesterday's metadata
  expect_refused(verify("1.0.0", true, true), Errc::rollback,
                 "timestamp version 1 is older than trusted version 2");
}

TEST_F(ReleaseTest, RootRotationIsFollowedFromTheOriginalRoot) {
  ASSERT_TRUE(build("1.0.0"));
  ASSERT_TRUE(rotate_keys(keys(), RotateOptions{.role = "root"}, now()));
  ASSERT_TRUE(rotate_keys(keys(), RotateOptions{.role = "targets"}, now()));
  write("src/config/runtime.json", "{\"fps\": 12}\n");
  ASSERT_TRUE(build("1.1.0"));  // signed with the new targets key, root v3 copied into the repo
  auto r = verify("1.1.0", false, true);  // the device still holds root v1
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(fs::exists(state() / "metadata" / "root.json"));
  auto root = *trust::parse_root(
      (*trust::parse_envelope(*read_file(state() / "metadata/root.json", 1 << 20), 1 << 20))
          .signed_json);
  EXPECT_EQ(root.version, 3);
}

TEST_F(ReleaseTest, RefusesARootRotationSignedOnlyByTheNewKey) {
  ASSERT_TRUE(build("1.0.0"));
  ASSERT_TRUE(rotate_keys(keys(), RotateOptions{.role = "root"}, now()));
  // Re-sign root v2 with only the new root key, as an attacker holding just that key would.
  auto bytes = *read_file(keys() / "2.root.json", 1 << 20);
  Json signed_json = (*trust::parse_envelope(bytes, 1 << 20)).signed_json;
  auto ring = *load_keyring(keys());
  ASSERT_TRUE(write_file_atomic(keys() / "2.root.json",
                                *trust::sign_metadata(signed_json, ring.of("root"))));
  write("src/config/runtime.json", "{\"fps\": 12}\n");
  fs::remove(repo() / "metadata/2.root.json");
  ASSERT_TRUE(build("1.1.0"));
  expect_refused(verify("1.1.0"), Errc::bad_signature, "new root (by the trusted root's keys)");
}

TEST_F(ReleaseTest, InstallFolderMustBeNewOrEmpty) {
  ASSERT_TRUE(build("1.0.0"));
  write("installed/keep.txt", "operator data");
  auto r = verify("1.0.0");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::exists);
  EXPECT_EQ(*read_file(into() / "keep.txt", 100), "operator data");
  fs::remove(into() / "keep.txt");
  EXPECT_TRUE(verify("1.0.0"));  // an empty folder is replaced
}

TEST_F(ReleaseTest, AFullDiskIsAReportedFailure) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to mount a small tmpfs";
  fs::create_directories(tmpfs());
  ASSERT_EQ(::mount("tmpfs", tmpfs().c_str(), "tmpfs", 0, "size=1m"), 0);
  mounted_ = true;
  ASSERT_TRUE(build("1.0.0"));
  VerifyOptions o;
  o.repo_dir = repo();
  o.root_json = *read_file(keys() / "1.root.json", 1 << 20);
  o.version = "1.0.0";
  o.into = tmpfs() / "release";
  o.clock = [] { return now(); };
  auto r = verify_release(o);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::no_space) << r.error().message;
  EXPECT_TRUE(fs::is_empty(tmpfs()));
}

}  // namespace
}  // namespace ef::release
