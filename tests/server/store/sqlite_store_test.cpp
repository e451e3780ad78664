// What only the SQLite backend promises: WAL mode, its own schema bookkeeping as seen with sqlite3,
// and rows that a tool wrote with checks off. The Store contract itself is in store_test.cpp.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include "server/store/sqlite/sqlite_store.hpp"
#include "temp_dir_test.hpp"

namespace ef::store {
namespace {

UtcTime t(std::int64_t s) {
  return UtcTime(std::chrono::seconds(s));
}

class SqliteStoreTest : public ef::testing::TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    reopen();
  }
  void TearDown() override {
    store_.reset();
    TempDirTest::TearDown();
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
    d.created_at = t(1000);
    return d;
  }

  std::unique_ptr<Store> store_;
};

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
  EXPECT_EQ(store_->checkin_view("cam-01").error().code, Errc::malformed);
  EXPECT_EQ(store_->devices({}).error().code, Errc::malformed);
  auto token = store_->operator_token_by_hash("hash1");
  ASSERT_FALSE(token);
  EXPECT_EQ(token.error().code, Errc::malformed);
  EXPECT_NE(token.error().message.find("operator_tokens row 'tok_1'"), std::string::npos);
  EXPECT_EQ(store_->operator_tokens().error().code, Errc::malformed);
}

}  // namespace
}  // namespace ef::store
