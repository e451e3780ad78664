#include "core/release_format/release.hpp"

#include <gtest/gtest.h>

namespace ef::release {
namespace {

const std::string kHash(64, 'a');

trust::TargetFile file(const std::string& version, const std::string& part, std::int64_t epoch,
                       std::int64_t length = 10, const std::string& type = "file") {
  trust::TargetFile t;
  t.length = length;
  t.hashes["sha256"] = kHash;
  t.custom = {
      {"edgefleet",
       {{"release", version}, {"part", part}, {"epoch", epoch}, {"mode", 420}, {"type", type}}}};
  return t;
}

// Adds t under path, as parsed metadata holds it (the path in the map and in the file).
void add(trust::Targets& targets, const std::string& path, trust::TargetFile t) {
  t.path = path;
  targets.targets[path] = std::move(t);
}

TEST(ReleaseFormat, VersionsAreShortPlainNames) {
  for (const char* good : {"1.0.0", "2024.06.01+hotfix", "v3_rc-1", "A"}) {
    EXPECT_TRUE(check_version(good)) << good;
  }
  for (const char* bad : {"", ".hidden", "-flag", "1.0/../x", "a b", "1.0\n", "x\xff",
                          "12345678901234567890123456789012345678901234567890123456789012345"}) {
    EXPECT_FALSE(check_version(bad)) << bad;
  }
}

TEST(ReleaseFormat, PartNamesRoundTripAndUnknownPartsAreRefused) {
  for (Part part : {Part::code, Part::model, Part::config}) {
    auto back = part_from_name(part_name(part));
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, part);
  }
  EXPECT_FALSE(part_from_name("firmware"));
  EXPECT_EQ(target_path("1.0.0", "model/model.onnx"), "releases/1.0.0/model/model.onnx");
}

TEST(ReleaseFormat, ReadsOneReleaseOutOfTheSignedTargets) {
  trust::Targets targets;
  add(targets, "releases/1.0.0/model/model.onnx", file("1.0.0", "model", 2, 1000));
  add(targets, "releases/1.0.0/code/run", file("1.0.0", "code", 2));
  add(targets, "releases/0.9.0/code/run", file("0.9.0", "code", 1));
  auto release = release_from_targets(targets, "1.0.0");
  ASSERT_TRUE(release) << release.error().message;
  EXPECT_EQ(release->epoch, 2);
  EXPECT_EQ(release->files.size(), 2u);
  EXPECT_EQ(release->bytes(Part::model), 1000u);
  EXPECT_EQ(release_versions(targets), (std::vector<std::string>{"0.9.0", "1.0.0"}));
  EXPECT_EQ(highest_epoch(targets), 2);
  auto missing = release_from_targets(targets, "2.0.0");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Errc::not_found);
}

TEST(ReleaseFormat, RefusesTargetsThatLieAboutTheirRelease) {
  auto refused = [](const std::string& path, trust::TargetFile t) {
    trust::Targets targets;
    add(targets, "releases/1.0.0/code/run", file("1.0.0", "code", 1));
    add(targets, path, std::move(t));
    return !release_from_targets(targets, "1.0.0");
  };
  EXPECT_TRUE(refused("releases/1.0.0/code/other", file("2.0.0", "code", 1)));  // other release
  EXPECT_TRUE(refused("releases/1.0.0/code/model.onnx", file("1.0.0", "model", 1)));  // part
  EXPECT_TRUE(refused("releases/1.0.0/code/x", file("1.0.0", "code", 7)));  // mixed epochs
  EXPECT_TRUE(refused("releases/1.0.0/code/../../etc", file("1.0.0", "code", 1)));
  EXPECT_TRUE(refused("releases/1.0.0/code/run/inner", file("1.0.0", "code", 1)));  // file+dir
  EXPECT_TRUE(refused("releases/1.0.0/code/link", file("1.0.0", "code", 1, 5000, "symlink")));
  auto no_hash = file("1.0.0", "code", 1);
  no_hash.hashes.clear();
  EXPECT_TRUE(refused("releases/1.0.0/code/x", no_hash));
  auto no_custom = file("1.0.0", "code", 1);
  no_custom.custom = nullptr;
  EXPECT_TRUE(refused("releases/1.0.0/code/x", no_custom));
}

TEST(ReleaseFormat, SymlinksStayInsideTheRelease) {
  auto inside = resolve_symlink("code/lib/libx.so", "libx.so.1");
  ASSERT_TRUE(inside);
  EXPECT_EQ(*inside, "code/lib/libx.so.1");
  auto up = resolve_symlink("code/bin/run", "../lib/run");
  ASSERT_TRUE(up);
  EXPECT_EQ(*up, "code/lib/run");
  for (auto [path, text] :
       {std::pair{"code/run", "/etc/passwd"}, std::pair{"code/run", "../../x"},
        std::pair{"code/run", "a/../b"}, std::pair{"code/run", ""}, std::pair{"code/run", "./x"}}) {
    EXPECT_FALSE(resolve_symlink(path, text)) << path << " -> " << text;
  }
  // A link whose way passes through another link could be redirected by it.
  EXPECT_FALSE(check_symlinks({{"code/a", "lib"}, {"code/b", "a/x"}}));
  EXPECT_TRUE(check_symlinks({{"code/a", "lib/x"}, {"code/b", "lib/y"}}));
}

}  // namespace
}  // namespace ef::release
