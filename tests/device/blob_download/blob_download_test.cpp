// Resumable blob downloads against a test server that misbehaves: wrong bytes, short bodies,
// endless bodies, trickles, ignored ranges, garbage.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <mutex>
#include <vector>
#include "core/common/fs.hpp"
#include "core/crypto/hash.hpp"
#include "device/blob_download/blob_download.hpp"
#include "temp_dir_test.hpp"
#include "test_http_server.hpp"

namespace ef {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

using Dir = testing::TempDirTest;

// Blob downloads against a server that misbehaves.
class BlobDownload : public Dir {
 protected:
  void serve(std::function<testing::Reply(const testing::Request&)> handler) {
    server_.route("/blobs/", [this, handler](const testing::Request& r) {
      std::lock_guard lock(mu_);
      seen_.push_back(r);
      return handler(r);
    });
  }
  Status fetch(blob_download::Limits limits = {}) {
    http_client::HttpClient client;
    return blob_download::fetch_blob(client, server_.url("/blobs/" + sha_), sha_, content_.size(),
                                     dir_ / "cache", {}, limits);
  }
  std::string cached() { return *read_file(dir_ / "cache" / sha_, 1 << 24); }

  std::string content_ = std::string(300000, 'b') + "end";
  std::string sha_ = crypto::sha256_hex(content_);
  testing::TestHttpServer server_;
  std::mutex mu_;
  std::vector<testing::Request> seen_;
};

TEST_F(BlobDownload, DownloadsAndVerifies) {
  serve([this](const testing::Request&) { return testing::Reply{.body = content_}; });
  ASSERT_TRUE(fetch());
  EXPECT_EQ(cached(), content_);
  ASSERT_TRUE(fetch());  // already there: no second request
  EXPECT_EQ(seen_.size(), 1u);
}

TEST_F(BlobDownload, ResumesAnInterruptedDownloadWithRange) {
  int calls = 0;
  serve([&](const testing::Request&) {
    return testing::Reply{.body = content_, .close_after_bytes = ++calls == 1 ? 100000 : SIZE_MAX};
  });
  auto first = fetch();
  ASSERT_FALSE(first);
  EXPECT_EQ(first.error().code, Errc::network);
  EXPECT_EQ(blob_download::bytes_on_disk(dir_ / "cache", sha_), 100000u);
  ASSERT_TRUE(fetch());
  EXPECT_EQ(cached(), content_);
  ASSERT_EQ(seen_.size(), 2u);
  EXPECT_EQ(seen_[1].headers.at("range"), "bytes=100000-");
}

TEST_F(BlobDownload, StartsOverWhenTheServerIgnoresRange) {
  int calls = 0;
  serve([&](const testing::Request&) {
    return testing::Reply{.body = content_,
                          .close_after_bytes = ++calls == 1 ? 5000 : SIZE_MAX,
                          .honour_range = false};
  });
  ASSERT_FALSE(fetch());
  ASSERT_TRUE(fetch());
  EXPECT_EQ(cached(), content_);
}

TEST_F(BlobDownload, RefusesEndlessData) {
  serve([this](const testing::Request&) {
    return testing::Reply{.body = content_, .endless = true};
  });
  auto st = fetch();
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Errc::too_large);
  EXPECT_FALSE(fs::exists(dir_ / "cache" / sha_));
  EXPECT_FALSE(fs::exists(dir_ / "cache" / (sha_ + ".partial")));
}

TEST_F(BlobDownload, GivesUpOnATricklingServer) {
  serve([this](const testing::Request&) {
    return testing::Reply{.body = content_, .delay_per_byte = 20ms};
  });
  auto st = fetch({.min_bytes_per_second = 1000, .low_speed_window = 1s});
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Errc::timeout);
  EXPECT_FALSE(fs::exists(dir_ / "cache" / sha_));
}

TEST_F(BlobDownload, EnforcesATotalDeadline) {
  // Fast enough for the low-speed check, too slow for the deadline.
  serve([this](const testing::Request&) {
    return testing::Reply{.body = content_, .delay_per_byte = 1ms};
  });
  auto st = fetch({.min_bytes_per_second = 10,
                   .low_speed_window = 30s,
                   .deadline_base = 1s,
                   .assumed_bytes_per_second = 1 << 30});
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Errc::timeout);
}

TEST_F(BlobDownload, RefusesTheWrongBytesAndDropsThem) {
  serve([this](const testing::Request&) {
    std::string evil = content_;
    evil[1000] = 'X';
    return testing::Reply{.body = evil};
  });
  auto st = fetch();
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Errc::mismatch);
  EXPECT_FALSE(fs::exists(dir_ / "cache" / sha_));
  EXPECT_FALSE(fs::exists(dir_ / "cache" / (sha_ + ".partial")));
}

TEST_F(BlobDownload, ReportsMissingBlobsAndGarbage) {
  serve([](const testing::Request&) { return testing::Reply{.status = 404, .body = "nope"}; });
  EXPECT_EQ(fetch().error().code, Errc::not_found);
  testing::TestHttpServer garbage;
  garbage.route("/blobs/", [](const testing::Request&) {
    return testing::Reply{.body = "\x01\x02\x03", .raw = true};
  });
  http_client::HttpClient client;
  EXPECT_FALSE(blob_download::fetch_blob(client, garbage.url("/blobs/" + sha_), sha_,
                                         content_.size(), dir_ / "cache", {}));
}

TEST_F(BlobDownload, AShortBodyIsNotABlobAndTheRestIsFetchedLater) {
  // The server ends the response early but cleanly: what came is kept for the resume, the blob
  // does not exist until every signed byte is there and hashed.
  int calls = 0;
  serve([&](const testing::Request& r) {
    if (++calls == 1) return testing::Reply{.body = content_.substr(0, 1000)};
    EXPECT_EQ(r.headers.count("range"), 1u);
    return testing::Reply{.body = content_};
  });
  auto first = fetch();
  ASSERT_FALSE(first);
  EXPECT_EQ(first.error().code, Errc::network) << first.error().message;
  EXPECT_FALSE(fs::exists(dir_ / "cache" / sha_));
  EXPECT_EQ(blob_download::bytes_on_disk(dir_ / "cache", sha_), 1000u);
  ASSERT_TRUE(fetch());
  EXPECT_EQ(cached(), content_);
}

TEST_F(BlobDownload, ACorruptPartialFileFromBeforeIsCaughtByTheHash) {
  // A partial file that went bad on disk: the resumed download cannot turn it into the blob.
  write("cache/" + sha_ + ".partial", std::string(1000, 'X'));
  serve([this](const testing::Request&) { return testing::Reply{.body = content_}; });
  auto st = fetch();
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Errc::mismatch);
  EXPECT_FALSE(fs::exists(dir_ / "cache" / sha_));
  EXPECT_FALSE(fs::exists(dir_ / "cache" / (sha_ + ".partial")));
  ASSERT_TRUE(fetch());  // and the next attempt starts clean
  EXPECT_EQ(cached(), content_);
}

TEST_F(BlobDownload, MoreBytesThanSignedAreRefused) {
  serve([this](const testing::Request&) { return testing::Reply{.body = content_ + "tail"}; });
  auto st = fetch();
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Errc::too_large) << st.error().message;
  EXPECT_FALSE(fs::exists(dir_ / "cache" / sha_));
}

TEST_F(BlobDownload, RefusesANameThatIsNotASha256) {
  http_client::HttpClient client;
  auto st = blob_download::fetch_blob(client, server_.url("/blobs/x"), "../../etc/passwd", 10,
                                      dir_ / "cache", {});
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Errc::invalid_argument);
  EXPECT_TRUE(seen_.empty());
}

}  // namespace
}  // namespace ef
