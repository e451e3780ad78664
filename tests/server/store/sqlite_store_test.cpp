#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>

#include "server/store/sqlite/sqlite_store.hpp"

namespace ef::store {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

UtcTime t(std::int64_t s) {
  return UtcTime(std::chrono::seconds(s));
}

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("ef-store-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    reopen();
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }
  void reopen() {
    store_.reset();
    auto s = open_sqlite_store(dir_ / "fleet.db");
    ASSERT_TRUE(s) << s.error().message;
    store_ = std::move(*s);
  }
  Device device(const std::string& id) {
    Device d;
    d.id = id;
    d.site = "plant-a";
    d.cell = "line-1";
    d.labels = {{"camera", "basler"}};
    d.created_at = t(1000);
    return d;
  }

  fs::path dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(SqliteStoreTest, DevicesRoundTripAndSurviveReopening) {
  ASSERT_TRUE(store_->add_device(device("cam-01")));
  ASSERT_TRUE(store_->add_device(device("cam-02")));
  EXPECT_EQ(store_->add_device(device("cam-01")).error().code, Errc::exists);
  ASSERT_TRUE(store_->save_report("cam-01", {{"agent_version", "1.0"}}, t(2000)));
  reopen();
  auto d = store_->device("cam-01");
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->site, "plant-a");
  EXPECT_EQ(d->labels["camera"], "basler");
  EXPECT_EQ(d->status, DeviceStatus::registered);
  EXPECT_EQ(d->report["agent_version"], "1.0");
  EXPECT_EQ(d->last_seen, t(2000));
  EXPECT_EQ(store_->device("nope").error().code, Errc::not_found);

  DeviceFilter filter;
  filter.cell = "line-1";
  EXPECT_EQ(store_->devices(filter)->size(), 2u);
  filter.cell = "line-2";
  EXPECT_TRUE(store_->devices(filter)->empty());
}

TEST_F(SqliteStoreTest, EnrollmentConsumesATokenExactlyOnce) {
  ASSERT_TRUE(store_->add_device(device("cam-01")));
  ASSERT_TRUE(store_->add_enrollment_token({"h1", "cam-01", t(1000), t(5000), std::nullopt}));
  // A new token replaces the unused old one.
  ASSERT_TRUE(store_->add_enrollment_token({"h2", "cam-01", t(1100), t(5000), std::nullopt}));
  EXPECT_EQ(store_->enrollment_token("h1").error().code, Errc::not_found);
  const CertificateRecord cert{"AB01", "cam-01", "ff", t(1200), t(9000), t(1200)};
  ASSERT_TRUE(store_->complete_enrollment("h2", cert, t(1200)));
  auto d = store_->device("cam-01");
  EXPECT_EQ(d->status, DeviceStatus::active);
  EXPECT_EQ(d->cert_serial, "AB01");
  EXPECT_EQ(store_->enrollment_token("h2")->used_at, t(1200));
  // Second use: refused, and nothing else changes (the certificate is not recorded).
  const CertificateRecord again{"AB02", "cam-01", "ee", t(1300), t(9000), t(1300)};
  auto second = store_->complete_enrollment("h2", again, t(1300));
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, Errc::exists);
  EXPECT_EQ(store_->device("cam-01")->cert_serial, "AB01");
}

TEST_F(SqliteStoreTest, RevokedDevicesCannotCompleteEnrollment) {
  ASSERT_TRUE(store_->add_device(device("cam-01")));
  ASSERT_TRUE(store_->add_enrollment_token({"h1", "cam-01", t(1000), t(5000), std::nullopt}));
  ASSERT_TRUE(store_->revoke_device("cam-01", t(1100)));
  EXPECT_EQ(store_->enrollment_token("h1").error().code, Errc::not_found);
  EXPECT_EQ(store_->device("cam-01")->status, DeviceStatus::revoked);
}

TEST_F(SqliteStoreTest, FailedTransactionLeavesNothingBehind) {
  auto status = store_->in_transaction([&]() -> Status {
    EF_CHECK(store_->add_device(device("cam-01")));
    EF_CHECK(store_->append_audit({0, t(1), "tester", "device.add", "cam-01", "test", {}}));
    return make_error(Errc::invalid_argument, "changed my mind");
  });
  ASSERT_FALSE(status);
  EXPECT_EQ(store_->device("cam-01").error().code, Errc::not_found);
  EXPECT_TRUE(store_->audit(0, 10)->empty());
}

TEST_F(SqliteStoreTest, AssignmentsReleasesTokensAndAudit) {
  ASSERT_TRUE(store_->add_device(device("cam-01")));
  ASSERT_TRUE(store_->set_assignment({"cam-01", "1.0.0", t(10), "alice"}));
  ASSERT_TRUE(store_->set_assignment({"cam-01", "1.1.0", t(20), "bob"}));
  auto a = store_->assignment("cam-01");
  ASSERT_TRUE(a && *a);
  EXPECT_EQ((*a)->release, "1.1.0");
  ASSERT_TRUE(store_->clear_assignment("cam-01"));
  EXPECT_FALSE(*store_->assignment("cam-01"));

  ASSERT_TRUE(store_->add_release({"1.0.0", 1, 0, 100, 3, t(5), "ci"}));
  EXPECT_EQ(store_->add_release({"1.0.0", 2, 0, 100, 3, t(6), "ci"}).error().code, Errc::exists);
  EXPECT_EQ(store_->releases()->size(), 1u);
  EXPECT_TRUE(*store_->release("1.0.0"));
  EXPECT_FALSE(*store_->release("2.0.0"));

  ASSERT_TRUE(
      store_->add_operator_token({"t1", "alice", Role::admin, "hash1", t(1), std::nullopt}));
  auto tok = store_->operator_token_by_hash("hash1");
  ASSERT_TRUE(tok && *tok);
  EXPECT_EQ((*tok)->role, Role::admin);
  ASSERT_TRUE(store_->revoke_operator_token("t1", t(2)));
  EXPECT_EQ((*store_->operator_token_by_hash("hash1"))->revoked_at, t(2));
  EXPECT_EQ(store_->revoke_operator_token("t1", t(3)).error().code, Errc::not_found);

  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(
        store_->append_audit({0, t(i), "alice", "x", std::to_string(i), "127.0.0.1", {{"i", i}}}));
  }
  auto page = store_->audit(2, 2);
  ASSERT_TRUE(page);
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].seq, 3);
  EXPECT_EQ((*page)[1].details["i"], 3);
}

TEST_F(SqliteStoreTest, LastSeenOnlyMovesForward) {
  ASSERT_TRUE(store_->add_device(device("cam-01")));
  ASSERT_TRUE(store_->save_last_seen({{"cam-01", t(50)}, {"ghost", t(60)}}));
  ASSERT_TRUE(store_->save_last_seen({{"cam-01", t(40)}}));
  EXPECT_EQ(store_->device("cam-01")->last_seen, t(50));
}

TEST_F(SqliteStoreTest, RunningHistoryKeepsChangesOnlyOldestFirst) {
  ASSERT_TRUE(store_->add_device(device("cam-01")));
  ASSERT_TRUE(store_->record_running("cam-01", {"1.0", "ae-1", t(100)}));
  ASSERT_TRUE(store_->record_running("cam-01", {"1.0", "ae-1", t(200)}));  // unchanged: no row
  ASSERT_TRUE(store_->record_running("cam-01", {"1.0", "ae-2", t(300)}));  // a model hot-swap
  ASSERT_TRUE(store_->record_running("cam-01", {"1.1", "ae-2", t(400)}));
  reopen();
  auto all = store_->running_history("cam-01", 10);
  ASSERT_TRUE(all) << all.error().message;
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0], (RunningVersion{"1.0", "ae-1", t(100)}));
  EXPECT_EQ((*all)[2], (RunningVersion{"1.1", "ae-2", t(400)}));
  auto newest = store_->running_history("cam-01", 2);
  ASSERT_TRUE(newest);
  ASSERT_EQ(newest->size(), 2u);
  EXPECT_EQ((*newest)[0].model_version, "ae-2");
  EXPECT_EQ((*newest)[0].release, "1.0");
  EXPECT_TRUE(store_->running_history("nobody", 10)->empty());
  EXPECT_FALSE(store_->record_running("nobody", {"1.0", "ae-1", t(1)}));  // foreign key
}

TEST_F(SqliteStoreTest, TelemetryDeliveredOnlyRises) {
  ASSERT_TRUE(store_->add_device(device("cam-01")));
  EXPECT_EQ(*store_->telemetry_delivered("cam-01"), 0u);
  ASSERT_TRUE(store_->set_telemetry_delivered("cam-01", 40));
  ASSERT_TRUE(store_->set_telemetry_delivered("cam-01", 12));
  reopen();
  EXPECT_EQ(*store_->telemetry_delivered("cam-01"), 40u);
  EXPECT_EQ(store_->telemetry_delivered("ghost").error().code, Errc::not_found);
  EXPECT_EQ(store_->set_telemetry_delivered("ghost", 1).error().code, Errc::not_found);
}

TEST_F(SqliteStoreTest, RefusesADatabaseFromANewerServer) {
  store_.reset();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ / "fleet.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(
      sqlite3_exec(db, "INSERT INTO schema_migrations VALUES (999, 0)", nullptr, nullptr, nullptr),
      SQLITE_OK);
  sqlite3_close(db);
  auto s = open_sqlite_store(dir_ / "fleet.db");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, Errc::unsupported);
}

TEST_F(SqliteStoreTest, SchemaIsTheSumOfTheMigrationsAndReopeningAppliesNothingTwice) {
  store_.reset();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ / "fleet.db").c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  sqlite3_prepare_v2(db, "SELECT COUNT(*), MAX(version) FROM schema_migrations", -1, &stmt,
                     nullptr);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(stmt, 0), sqlite_schema_version());
  EXPECT_EQ(sqlite3_column_int(stmt, 1), sqlite_schema_version());
  sqlite3_finalize(stmt);
  sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &stmt, nullptr);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)), "wal");
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  reopen();
  ASSERT_TRUE(store_->add_device(device("cam-01")));
}

// A row the schema's CHECK would refuse (written by a broken tool with checks off) is reported as
// malformed, naming the table and row, instead of stopping the server.
TEST_F(SqliteStoreTest, CorruptRowsAreMalformedErrorsNotCrashes) {
  ASSERT_TRUE(store_->add_device(device("cam-01")));
  ASSERT_TRUE(store_->add_operator_token({"tok_1", "ci", Role::admin, "hash1", t(1000), {}}));
  store_.reset();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ / "fleet.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "PRAGMA ignore_check_constraints = ON; "
                         "UPDATE devices SET status = 'lost' WHERE id = 'cam-01'; "
                         "UPDATE operator_tokens SET role = 'root' WHERE id = 'tok_1';",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  reopen();
  auto one = store_->device("cam-01");
  ASSERT_FALSE(one);
  EXPECT_EQ(one.error().code, Errc::malformed);
  EXPECT_NE(one.error().message.find("devices row 'cam-01'"), std::string::npos)
      << one.error().message;
  EXPECT_EQ(store_->devices({}).error().code, Errc::malformed);
  auto token = store_->operator_token_by_hash("hash1");
  ASSERT_FALSE(token);
  EXPECT_EQ(token.error().code, Errc::malformed);
  EXPECT_NE(token.error().message.find("operator_tokens row 'tok_1'"), std::string::npos);
  EXPECT_EQ(store_->operator_tokens().error().code, Errc::malformed);
}

}  // namespace
}  // namespace ef::store
