#include "core/fetch/fetch.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/common/fs.hpp"
#include "core/crypto/hash.hpp"
#include "test_http_server.hpp"

namespace ef::fetch {
namespace {

namespace fs = std::filesystem;

class FetchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("ef-fetch-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "metadata");
  }
  void TearDown() override { fs::remove_all(dir_); }

  trust::TargetFile target_for(const std::string& data) {
    trust::TargetFile target;
    target.path = "releases/1.0.0/model/model.onnx";
    target.length = static_cast<std::int64_t>(data.size());
    target.hashes["sha256"] = crypto::sha256_hex(data);
    return target;
  }

  fs::path dir_;
  testing::TestHttpServer server_;
  http_client::HttpClient client_;
};

TEST(JoinUrl, JoinsWithExactlyOneSlash) {
  EXPECT_EQ(join_url("https://h/repo", "1.root.json"), "https://h/repo/1.root.json");
  EXPECT_EQ(join_url("https://h/repo/", "1.root.json"), "https://h/repo/1.root.json");
  EXPECT_EQ(join_url("", "timestamp.json"), "timestamp.json");
}

TEST_F(FetchTest, FolderSourceReadsPlainNamesOnly) {
  std::ofstream(dir_ / "metadata" / "timestamp.json") << "{\"signed\": {}}";
  std::ofstream(dir_ / "secret.json") << "outside";
  DirMetadataSource source(dir_ / "metadata");
  auto read = source.fetch("timestamp.json", 1024);
  ASSERT_TRUE(read) << read.error().message;
  EXPECT_EQ(*read, "{\"signed\": {}}");
  for (const char* hostile : {"../secret.json", "a/b.json", "/etc/passwd", "", ".", ".."}) {
    auto refused = source.fetch(hostile, 1024);
    EXPECT_FALSE(refused) << "read " << hostile;
  }
}

TEST_F(FetchTest, FolderSourceSaysNotFoundAndRefusesMoreThanAsked) {
  DirMetadataSource source(dir_ / "metadata");
  auto missing = source.fetch("2.root.json", 1024);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Errc::not_found);
  std::ofstream(dir_ / "metadata" / "big.json") << std::string(2000, 'x');
  auto big = source.fetch("big.json", 1000);
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().code, Errc::too_large);
}

TEST_F(FetchTest, HttpSourceMapsStatusesToErrors) {
  server_.route("/repo/timestamp.json", [](const auto&) { return testing::Reply{200, "{}"}; });
  server_.route("/repo/2.root.json", [](const auto&) { return testing::Reply{404, "no"}; });
  server_.route("/repo/3.root.json", [](const auto&) { return testing::Reply{403, "no"}; });
  server_.route("/repo/snapshot.json", [](const auto&) { return testing::Reply{500, "down"}; });
  server_.route("/repo/big.json", [](const auto&) {
    return testing::Reply{200, std::string(5000, 'x')};
  });
  HttpMetadataSource source(server_.url("/repo"));
  auto ok = source.fetch("timestamp.json", 100);
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(*ok, "{}");
  EXPECT_EQ(source.fetch("2.root.json", 100).error().code, Errc::not_found);
  EXPECT_EQ(source.fetch("3.root.json", 100).error().code, Errc::not_found);
  EXPECT_EQ(source.fetch("snapshot.json", 100).error().code, Errc::network);
  EXPECT_FALSE(source.fetch("big.json", 1000));
}

TEST_F(FetchTest, DownloadWritesOnlyWhatMatchesTheSignedTarget) {
  const std::string good = "the signed model bytes";
  server_.route("/good", [&](const auto&) { return testing::Reply{200, good}; });
  const fs::path destination = dir_ / "model.onnx";
  auto st = download_target(client_, server_.url("/good"), target_for(good), destination);
  ASSERT_TRUE(st) << st.error().message;
  EXPECT_EQ(*read_file(destination, 1024), good);
}

TEST_F(FetchTest, AHostileDownloadLeavesTheDestinationAsItWas) {
  const std::string good = "the signed model bytes";
  const fs::path destination = dir_ / "model.onnx";
  std::ofstream(destination) << "previous";
  server_.route("/tampered", [&](const auto&) {
    return testing::Reply{200, std::string("THE signed model bytes")};  // same length, other hash
  });
  server_.route("/longer", [&](const auto&) { return testing::Reply{200, good + "+extra"}; });
  server_.route("/shorter", [&](const auto&) { return testing::Reply{200, good.substr(1)}; });
  server_.route("/cut", [&](const auto&) {
    testing::Reply r{200, good};
    r.close_after_bytes = 5;
    return r;
  });
  server_.route("/gone", [](const auto&) { return testing::Reply{404, "no"}; });
  for (const char* path : {"/tampered", "/longer", "/shorter", "/cut", "/gone"}) {
    auto st = download_target(client_, server_.url(path), target_for(good), destination);
    EXPECT_FALSE(st) << path << " was accepted";
    EXPECT_EQ(*read_file(destination, 1024), "previous") << path;
  }
  EXPECT_EQ(
      download_target(client_, server_.url("/gone"), target_for(good), destination).error().code,
      Errc::not_found);
}

}  // namespace
}  // namespace ef::fetch
