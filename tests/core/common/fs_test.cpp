#include "core/common/fs.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

namespace ef {
namespace {

namespace fs = std::filesystem;

class FsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("ef-fs-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(FsTest, AtomicWriteReplacesContentAndLeavesNoTemporaryFiles) {
  const auto path = dir_ / "state.json";
  ASSERT_TRUE(write_file_atomic(path, "one"));
  ASSERT_TRUE(write_file_atomic(path, "two", 0600));
  auto data = read_file(path, 1024);
  ASSERT_TRUE(data);
  EXPECT_EQ(*data, "two");
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  int entries = 0;
  for (auto& e : fs::directory_iterator(dir_)) {
    (void)e;
    ++entries;
  }
  EXPECT_EQ(entries, 1);
}

TEST_F(FsTest, ReadRefusesOversizedFileBeforeReading) {
  const auto path = dir_ / "big";
  ASSERT_TRUE(write_file_atomic(path, std::string(2000, 'x')));
  auto data = read_file(path, 1999);
  ASSERT_FALSE(data);
  EXPECT_EQ(data.error().code, Errc::too_large);
}

TEST_F(FsTest, ReadOfMissingFileIsNotFound) {
  auto data = read_file(dir_ / "missing", 10);
  ASSERT_FALSE(data);
  EXPECT_EQ(data.error().code, Errc::not_found);
  EXPECT_NE(data.error().message.find("missing"), std::string::npos);
}

TEST_F(FsTest, ReadRefusesDirectories) {
  auto data = read_file(dir_, 10);
  ASSERT_FALSE(data);
  EXPECT_EQ(data.error().code, Errc::invalid_argument);
}

TEST_F(FsTest, MakeDirsCreatesParents) {
  ASSERT_TRUE(make_dirs(dir_ / "a" / "b" / "c"));
  EXPECT_TRUE(fs::is_directory(dir_ / "a" / "b" / "c"));
  EXPECT_TRUE(make_dirs(dir_ / "a" / "b" / "c"));
}

TEST_F(FsTest, AtomicWriteIntoMissingDirectoryFails) {
  auto st = write_file_atomic(dir_ / "nope" / "file", "x");
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("nope"), std::string::npos);
}

}  // namespace
}  // namespace ef
