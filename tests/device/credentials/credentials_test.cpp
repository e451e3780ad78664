// The device identity in <data>/identity/: loading (and what counts as not enrolled), enrolment
// and its refusal against a test server, and a renewal interrupted between its two renames.
#include "device/credentials/credentials.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/common/fs.hpp"
#include "test_http_server.hpp"

namespace ef::credentials {
namespace {

namespace fs = std::filesystem;

const char* kPem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

class Credentials : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("ef-credentials-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    paths_ = Paths{dir_ / "identity"};
  }
  void TearDown() override { fs::remove_all(dir_); }
  void write(const fs::path& path, const std::string& content) {
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << content;
  }
  void write_identity() {
    write(paths_.info(), R"({"device_id": "cam1", "server_url": "https://fleet:8443",
                             "not_after": "2031-01-01T00:00:00Z",
                             "renew_after": "2030-01-01T00:00:00Z"})");
    write(paths_.key(), "old key");
    write(paths_.certificate(), "old cert");
  }
  bootstrap::Bootstrap boot() {
    bootstrap::Bootstrap b;
    b.device_id = "cam1";
    b.server_urls = {"https://replica-a:8443", url()};
    b.server_ca_pem = kPem;
    b.enrollment_token = "eet_1";
    return b;
  }
  std::string url() { return "http://127.0.0.1:" + std::to_string(server_.port()); }
  fs::path dir_;
  Paths paths_;
  testing::TestHttpServer server_;
};

TEST_F(Credentials, NothingThereIsNotEnrolledYet) {
  auto id = load(paths_);
  ASSERT_FALSE(id);
  EXPECT_EQ(id.error().code, Errc::not_found);
}

TEST_F(Credentials, LoadsAStoredIdentity) {
  write_identity();
  auto id = load(paths_);
  ASSERT_TRUE(id) << id.error().message;
  EXPECT_EQ(id->device_id, "cam1");
  EXPECT_EQ(format_utc(id->renew_after), "2030-01-01T00:00:00Z");
  // Written before server_urls existed: the single server_url is a one-element list.
  EXPECT_EQ(id->server_urls, std::vector<std::string>{"https://fleet:8443"});
}

TEST_F(Credentials, ADamagedIdentityIsAnErrorNotAFreshDevice) {
  write_identity();
  fs::remove(paths_.key());
  EXPECT_EQ(load(paths_).error().code, Errc::not_found);
  write_identity();
  write(paths_.info(), R"({"device_id": "cam1", "server_url": "https://fleet:8443"})");
  EXPECT_FALSE(load(paths_));
  write(paths_.info(), R"({"device_id": "cam1", "server_u)");
  auto torn = load(paths_);
  ASSERT_FALSE(torn);
  EXPECT_NE(torn.error().code, Errc::not_found) << torn.error().message;
}

TEST_F(Credentials, EnrolsWithAFreshKeyAndStoresTheCertificate) {
  server_.route("/api/v1/enroll", [](const testing::Request& r) {
    EXPECT_NE(r.body.find("BEGIN CERTIFICATE REQUEST"), std::string::npos);
    EXPECT_NE(r.body.find("eet_1"), std::string::npos);
    return testing::Reply{.body = json::Json{{"certificate", kPem},
                                             {"ca_certificate", kPem},
                                             {"not_after", "2031-01-01T00:00:00Z"},
                                             {"renew_after", "2030-01-01T00:00:00Z"}}
                                      .dump()};
  });
  server_link::Client api({});
  auto id = enroll(paths_, boot(), url(), api);
  ASSERT_TRUE(id) << id.error().message;
  EXPECT_EQ(id->device_id, "cam1");
  struct stat st {};
  ASSERT_EQ(::stat(paths_.key().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u) << "the private key must be readable by the agent only";
  auto loaded = load(paths_);
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded->not_after, id->not_after);
  // Every server of the bootstrap is kept, not just the one enrolment went through; the single
  // field stays for an older agent reading the same folder after a downgrade.
  EXPECT_EQ(loaded->server_urls, boot().server_urls);
  auto info = json::parse_strict(*read_file(paths_.info(), 4096));
  ASSERT_TRUE(info);
  EXPECT_EQ((*info)["server_url"], "https://replica-a:8443");
}

TEST_F(Credentials, ADamagedServerListIsRefused) {
  write_identity();
  for (const char* urls : {R"([])", R"("https://a")", R"(["https://a", 3])", R"(["", "x"])"}) {
    write(paths_.info(), std::string(R"({"device_id": "cam1", "server_urls": )") + urls +
                             R"(, "not_after": "2031-01-01T00:00:00Z",
                                "renew_after": "2030-01-01T00:00:00Z"})");
    EXPECT_FALSE(load(paths_)) << urls;
  }
}

TEST_F(Credentials, RenewsThroughTheServerItIsGiven) {
  write_identity();
  int asked = 0;
  server_.route("/api/v1/devices/cam1/certificate", [&](const testing::Request&) {
    ++asked;
    return testing::Reply{.body = json::Json{{"certificate", kPem},
                                             {"ca_certificate", kPem},
                                             {"not_after", "2032-01-01T00:00:00Z"},
                                             {"renew_after", "2031-06-01T00:00:00Z"}}
                                      .dump()};
  });
  auto current = load(paths_);
  ASSERT_TRUE(current) << current.error().message;
  server_link::Client api({});
  auto renewed = renew(paths_, *current, url(), api);
  ASSERT_TRUE(renewed) << renewed.error().message;
  EXPECT_EQ(asked, 1);
  EXPECT_EQ(renewed->server_urls, current->server_urls);
  EXPECT_EQ(load(paths_)->server_urls, std::vector<std::string>{"https://fleet:8443"});
}

TEST_F(Credentials, ARefusedTokenIsRefusedAndLeavesNoIdentity) {
  server_.route("/api/v1/enroll", [](const testing::Request&) {
    return testing::Reply{.status = 403, .body = R"({"error": {"message": "token already used"}})"};
  });
  server_link::Client api({});
  auto id = enroll(paths_, boot(), url(), api);
  ASSERT_FALSE(id);
  EXPECT_EQ(id.error().code, Errc::refused);
  EXPECT_NE(id.error().message.find("token already used"), std::string::npos);
  EXPECT_EQ(load(paths_).error().code, Errc::not_found);
  // The key is kept: a retry with a new token sends a CSR for the same key.
  EXPECT_TRUE(fs::exists(paths_.key()));
}

TEST_F(Credentials, ARenewalInterruptedAfterBothFilesIsFinished) {
  write_identity();
  write(dir_ / "identity/device.key.next", "new key");
  write(dir_ / "identity/device.crt.next", "new cert");
  ASSERT_TRUE(load(paths_));
  EXPECT_EQ(*read_file(paths_.key(), 100), "new key");
  EXPECT_EQ(*read_file(paths_.certificate(), 100), "new cert");
  EXPECT_FALSE(fs::exists(dir_ / "identity/device.key.next"));
}

TEST_F(Credentials, ARenewalInterruptedBeforeTheCertificateIsDropped) {
  write_identity();
  write(dir_ / "identity/device.key.next", "new key");
  ASSERT_TRUE(load(paths_));
  EXPECT_EQ(*read_file(paths_.key(), 100), "old key");
  EXPECT_EQ(*read_file(paths_.certificate(), 100), "old cert");
  EXPECT_FALSE(fs::exists(dir_ / "identity/device.key.next"));
}

}  // namespace
}  // namespace ef::credentials
