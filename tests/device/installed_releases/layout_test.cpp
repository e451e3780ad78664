// The installed releases' layout: releases/<v>/ and the `current` link switched in one rename.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/common/fs.hpp"
#include "device/installed_releases/layout.hpp"
#include "temp_dir_test.hpp"

namespace ef {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

using Dir = testing::TempDirTest;

using Layout = Dir;

TEST_F(Layout, SwitchesCurrentAtomicallyAndCleansUp) {
  installed_releases::Layout layout(dir_);
  fs::create_directories(layout.release("1.0.0"));
  fs::create_directories(layout.release("1.1.0"));
  fs::create_directories(layout.release("0.9.0"));
  EXPECT_FALSE(layout.current_version());
  ASSERT_TRUE(layout.switch_to("1.0.0"));
  EXPECT_EQ(layout.current_version(), "1.0.0");
  ASSERT_TRUE(layout.switch_to("1.1.0"));
  EXPECT_EQ(layout.current_version(), "1.1.0");
  EXPECT_EQ(fs::read_symlink(dir_ / "current"), "releases/1.1.0");
  EXPECT_FALSE(layout.switch_to("2.0.0"));
  EXPECT_EQ(layout.current_version(), "1.1.0");
  ASSERT_TRUE(layout.remove_all_but({"1.1.0", "1.0.0"}));
  EXPECT_FALSE(fs::exists(layout.release("0.9.0")));
  EXPECT_TRUE(fs::exists(layout.release("1.0.0")));
}

TEST_F(Layout, RefusesVersionsThatAreNotPlainNames) {
  installed_releases::Layout layout(dir_);
  fs::create_directories(layout.release("1.0.0"));
  ASSERT_TRUE(layout.switch_to("1.0.0"));
  // Each of these names an existing directory from releases/, but not a release in it.
  for (const char* bad : {"..", ".", "", "1.0.0/..", "../releases/1.0.0", "/tmp"}) {
    EXPECT_FALSE(layout.installed(bad)) << bad;
    auto st = layout.switch_to(bad);
    ASSERT_FALSE(st) << bad;
    EXPECT_EQ(st.error().code, Errc::not_found) << bad << ": " << st.error().message;
  }
  EXPECT_EQ(layout.current_version(), "1.0.0");
}

TEST_F(Layout, ASymlinkOrFileIsNotAnInstalledRelease) {
  installed_releases::Layout layout(dir_);
  fs::create_directories(layout.releases());
  fs::create_directory_symlink("/usr", layout.release("evil"));
  write("releases/file", "x");
  EXPECT_FALSE(layout.installed("evil"));
  EXPECT_FALSE(layout.switch_to("evil"));
  EXPECT_FALSE(layout.switch_to("file"));
  EXPECT_FALSE(fs::exists(dir_ / "current"));
}

TEST_F(Layout, ACurrentLinkPointingElsewhereNamesNoRelease) {
  installed_releases::Layout layout(dir_);
  for (const char* target : {"/usr", "releases/../..", "elsewhere/1.0.0", "releases"}) {
    fs::remove(dir_ / "current");
    fs::create_symlink(target, dir_ / "current");
    EXPECT_FALSE(layout.current_version()) << target;
  }
  fs::remove(dir_ / "current");
  write("current", "releases/1.0.0");  // a file, not a link
  EXPECT_FALSE(layout.current_version());
}

TEST_F(Layout, CleanupKeepsWhatItIsToldAndRemovesStagingLeftovers) {
  installed_releases::Layout layout(dir_);
  fs::create_directories(layout.release("1.0.0"));
  fs::create_directories(layout.release(".staging-2.0.0-123/code"));
  write("releases/.staging-2.0.0-123/code/run", "half");
  ASSERT_TRUE(layout.remove_all_but({"1.0.0"}));
  EXPECT_TRUE(layout.installed("1.0.0"));
  EXPECT_FALSE(fs::exists(layout.release(".staging-2.0.0-123")));
  // Nothing installed yet: nothing to clean, no error.
  installed_releases::Layout empty(dir_ / "new");
  EXPECT_TRUE(empty.remove_all_but({}));
}

}  // namespace
}  // namespace ef
