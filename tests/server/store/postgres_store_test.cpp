// What only the PostgreSQL backend promises: its schema bookkeeping, refusing a newer schema, a
// lost connection that fails one call and is re-made by the next, values PostgreSQL cannot hold,
// and replicas that open (and migrate) one database at once. The Store contract itself runs
// against PostgreSQL from store_test.cpp.
#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <thread>

#include "postgres_database_test.hpp"
#include "run_command.hpp"
#include "server/store/postgres/postgres_store.hpp"
#include "server/store/sqlite/sqlite_store.hpp"

namespace ef::store {
namespace {

using ef::testing::PostgresCluster;
namespace fs = std::filesystem;

UtcTime t(std::int64_t s) {
  return UtcTime(std::chrono::seconds(s));
}

Device device(const std::string& id) {
  Device d;
  d.id = id;
  d.created_at = t(1000);
  return d;
}

class PostgresStoreTest : public ef::testing::PostgresDatabaseTest {
 protected:
  void SetUp() override {
    PostgresDatabaseTest::SetUp();
    if (HasFatalFailure()) return;
    reopen();
  }
  void reopen() {
    store_.reset();
    auto s = open_postgres_store(cluster_->url(database_));
    ASSERT_TRUE(s) << s.error().message;
    store_ = std::move(*s);
  }
  std::string sql(const std::string& statement) {
    auto r = cluster_->execute(database_, statement);
    EXPECT_TRUE(r) << r.error().message;
    return r ? *r : "";
  }
  // Ends the store's server process as an administrator or a crashed server would.
  void kill_store_connection() {
    auto killed = cluster_->execute(
        "postgres",
        "SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity WHERE datname = '" +
            database_ + "' AND application_name = 'edgefleet-server'");
    ASSERT_TRUE(killed) << killed.error().message;
    ASSERT_EQ(*killed, "1");
  }

  std::unique_ptr<Store> store_;
};

TEST_F(PostgresStoreTest, SchemaIsTheSumOfTheMigrationsAndReopeningAppliesNothingTwice) {
  EXPECT_EQ(postgres_schema_version(), sqlite_schema_version());
  const auto expected = std::to_string(postgres_schema_version());
  EXPECT_EQ(sql("SELECT count(*) || ',' || max(version) FROM schema_migrations"),
            expected + "," + expected);
  reopen();
  EXPECT_EQ(sql("SELECT count(*) FROM schema_migrations"), expected);
  ASSERT_TRUE(store_->add_device(device("cam-01")));
}

TEST_F(PostgresStoreTest, RefusesADatabaseFromANewerServer) {
  ASSERT_TRUE(store_->add_device(device("cam-01")));
  store_.reset();
  sql("INSERT INTO schema_migrations VALUES (999, 0)");
  auto s = open_postgres_store(cluster_->url(database_));
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, Errc::unsupported);
  EXPECT_NE(s.error().message.find("schema is version 999, newer than this edgefleet-server"),
            std::string::npos)
      << s.error().message;
  EXPECT_EQ(sql("SELECT count(*) FROM devices"), "1");  // refused, and touched nothing
}

TEST_F(PostgresStoreTest, ALostConnectionFailsOneCallAndTheNextReconnects) {
  ASSERT_TRUE(store_->add_device(device("cam-01")));
  kill_store_connection();
  auto lost = store_->device("cam-01");
  ASSERT_FALSE(lost);
  EXPECT_EQ(lost.error().code, Errc::network);
  EXPECT_NE(lost.error().message.find("lost the connection"), std::string::npos)
      << lost.error().message;
  auto again = store_->device("cam-01");
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->id, "cam-01");
}

// The transaction's connection dies between two writes: the first is not kept, even when the
// work goes on as if nothing happened, and no later write lands on a fresh connection half-way.
TEST_F(PostgresStoreTest, ALostConnectionMidTransactionLeavesNothingHalfWritten) {
  auto status = store_->in_transaction([&]() -> Status {
    EF_CHECK(store_->add_device(device("cam-01")));
    kill_store_connection();
    EXPECT_EQ(store_->add_device(device("cam-02")).error().code, Errc::network);
    EXPECT_EQ(store_->add_device(device("cam-03")).error().code, Errc::network);
    return {};  // a careless caller: the commit must still fail
  });
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, Errc::network);
  EXPECT_EQ(sql("SELECT count(*) FROM devices"), "0");
  ASSERT_TRUE(store_->add_device(device("cam-04")));  // reconnected
  EXPECT_EQ(sql("SELECT string_agg(id, ',') FROM devices"), "cam-04");
}

// PostgreSQL's text holds neither NUL bytes nor invalid UTF-8; such values are refused whole,
// never cut short or stored as something else.
TEST_F(PostgresStoreTest, ValuesPostgresCannotHoldAreRefused) {
  auto nul = store_->add_device(device(std::string("cam\0-01", 7)));
  ASSERT_FALSE(nul);
  EXPECT_EQ(nul.error().code, Errc::invalid_argument);
  Device bad = device("cam-01");
  bad.site = "\xff\xfe";
  auto utf8 = store_->add_device(bad);
  ASSERT_FALSE(utf8);
  EXPECT_EQ(utf8.error().code, Errc::invalid_argument);
  EXPECT_EQ(sql("SELECT count(*) FROM devices"), "0");
  ASSERT_TRUE(store_->add_device(device("cam-01")));
}

// A swallowed failure inside a transaction: PostgreSQL then rolls back at COMMIT, and the store
// says so instead of reporting success (SQLite would commit the rest; see postgres_store.hpp).
TEST_F(PostgresStoreTest, ACommitPostgresTurnsIntoARollbackIsAnError) {
  ASSERT_TRUE(store_->add_device(device("cam-01")));
  auto status = store_->in_transaction([&]() -> Status {
    EXPECT_EQ(store_->add_device(device("cam-01")).error().code, Errc::exists);
    (void)store_->add_device(device("cam-02"));
    return {};
  });
  ASSERT_FALSE(status);
  EXPECT_NE(status.error().message.find("rolled back"), std::string::npos);
  EXPECT_EQ(store_->device("cam-02").error().code, Errc::not_found);
}

TEST_F(PostgresStoreTest, CorruptRowsAreMalformedErrorsNotCrashes) {
  ASSERT_TRUE(store_->add_device(device("cam-01")));
  ASSERT_TRUE(store_->add_operator_token({"tok_1", "ci", Role::admin, "hash1", t(1000), {}}));
  sql("ALTER TABLE devices DROP CONSTRAINT devices_status_check; "
      "UPDATE devices SET status = 'lost'; "
      "ALTER TABLE operator_tokens DROP CONSTRAINT operator_tokens_role_check; "
      "UPDATE operator_tokens SET role = 'root'");
  auto one = store_->device("cam-01");
  ASSERT_FALSE(one);
  EXPECT_EQ(one.error().code, Errc::malformed);
  EXPECT_NE(one.error().message.find("devices row 'cam-01'"), std::string::npos);
  EXPECT_EQ(store_->checkin_view("cam-01").error().code, Errc::malformed);
  EXPECT_EQ(store_->devices({}).error().code, Errc::malformed);
  EXPECT_EQ(store_->operator_token_by_hash("hash1").error().code, Errc::malformed);
  EXPECT_EQ(store_->operator_tokens().error().code, Errc::malformed);
}

// Replicas starting together on a fresh database: each opens, the schema is migrated once.
TEST_F(PostgresStoreTest, ReplicasOpeningAtOnceMigrateOnce) {
  auto fresh = cluster_->create_database();
  ASSERT_TRUE(fresh);
  std::vector<std::optional<Result<std::unique_ptr<Store>>>> opened(4);
  std::vector<std::thread> threads;
  for (auto& slot : opened) {
    threads.emplace_back([&] { slot.emplace(open_postgres_store(cluster_->url(*fresh))); });
  }
  for (auto& thread : threads)
    thread.join();
  for (auto& s : opened)
    ASSERT_TRUE(*s) << (*s).error().message;
  auto count = cluster_->execute(*fresh, "SELECT count(*) FROM schema_migrations");
  ASSERT_TRUE(count);
  EXPECT_EQ(*count, std::to_string(postgres_schema_version()));
}

TEST_F(PostgresStoreTest, AnUnreachableServerIsANetworkErrorNamingIt) {
  auto s = open_postgres_store("postgresql:///fleet?host=/nonexistent-ef-socket-dir");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, Errc::network);
  EXPECT_NE(s.error().message.find("nonexistent-ef-socket-dir"), std::string::npos)
      << s.error().message;
  auto no_db = open_postgres_store(cluster_->url("no_such_database"));
  ASSERT_FALSE(no_db);
  EXPECT_NE(no_db.error().message.find("no_such_database"), std::string::npos);
}

// The helper's own promises: gone when destroyed, gone when the test process is killed outright,
// and a missing PostgreSQL is a failure naming the package, not a skip.
std::string self() {
  return fs::read_symlink("/proc/self/exe").string();
}

// Whether a process still runs with dir in its command line ("[/]tmp/..." so that the shell
// running pgrep does not match itself).
bool process_in(const fs::path& dir) {
  const std::string text = dir.string();
  return ef::testing::run_command("pgrep -f '[" + text.substr(0, 1) + "]" + text.substr(1) + "'")
             .exit_code == 0;
}

bool gone_within(const fs::path& dir, std::chrono::seconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (fs::exists(dir) && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return !fs::exists(dir);
}

TEST(PostgresClusterTest, DestroyingTheClusterStopsAndRemovesIt) {
  auto cluster = PostgresCluster::start();
  ASSERT_TRUE(cluster) << cluster.error().message;
  const auto dir = (*cluster)->dir();
  ASSERT_TRUE(fs::exists(dir / "data" / "postmaster.pid"));
  cluster->reset();
  EXPECT_FALSE(fs::exists(dir));
  EXPECT_FALSE(process_in(dir));
}

// Run only by the next test, in a process of its own.
TEST(PostgresClusterTest, DISABLED_StartThenDieWithoutCleaningUp) {
  auto cluster = PostgresCluster::start();
  ASSERT_TRUE(cluster) << cluster.error().message;
  std::cout << "cluster-dir=" << (*cluster)->dir().string() << std::endl;
  ::kill(::getpid(), SIGKILL);
}

TEST(PostgresClusterTest, AKilledTestProcessLeavesNoClusterBehind) {
  auto r = ef::testing::run_command(self() +
                                    " --gtest_also_run_disabled_tests --gtest_filter="
                                    "PostgresClusterTest.DISABLED_StartThenDieWithoutCleaningUp");
  const auto at = r.out.find("cluster-dir=");
  ASSERT_NE(at, std::string::npos) << r.out << r.err;
  const fs::path dir = r.out.substr(at + 12, r.out.find('\n', at) - at - 12);
  EXPECT_TRUE(gone_within(dir, std::chrono::seconds(30))) << dir;
  EXPECT_FALSE(process_in(dir));
}

TEST(PostgresClusterTest, AMissingInstallationFailsNamingThePackage) {
  auto r = ef::testing::run_command(
      "EF_TEST_POSTGRES_ROOT=/nonexistent EF_TEST_DATABASE=postgresql " + self() +
      " --gtest_filter=PostgresStoreTest."
      "SchemaIsTheSumOfTheMigrationsAndReopeningAppliesNothingTwice");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.out.find("install Debian's postgresql-15 package"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace ef::store
