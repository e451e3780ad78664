// The Store contract, run against every backend: ctest runs this file's tests once on SQLite and
// once more with EF_TEST_DATABASE=postgresql (names ending in .postgresql) on a throwaway cluster.
#include <gtest/gtest.h>

#include <thread>

#include "postgres_cluster.hpp"
#include "server/store/open/open_store.hpp"
#include "temp_dir_test.hpp"

namespace ef::store {
namespace {

UtcTime t(std::int64_t s) {
  return UtcTime(std::chrono::seconds(s));
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

class StoreContract : public ef::testing::TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    auto url = ef::testing::test_database_url();
    ASSERT_TRUE(url) << url.error().message;
    database_ = *url;
    reopen();
  }
  void TearDown() override {
    store_.reset();
    TempDirTest::TearDown();
  }
  void reopen() {
    store_.reset();
    auto s = open_store(database_, dir_);
    ASSERT_TRUE(s) << s.error().message;
    store_ = std::move(*s);
  }

  std::string database_;  // "" for SQLite in dir_
  std::unique_ptr<Store> store_;
};

TEST_F(StoreContract, DevicesRoundTripAndSurviveReopening) {
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

TEST_F(StoreContract, EnrollmentConsumesATokenExactlyOnce) {
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

TEST_F(StoreContract, RevokedDevicesCannotCompleteEnrollment) {
  ASSERT_TRUE(store_->add_device(device("cam-01")));
  ASSERT_TRUE(store_->add_enrollment_token({"h1", "cam-01", t(1000), t(5000), std::nullopt}));
  ASSERT_TRUE(store_->revoke_device("cam-01", t(1100)));
  EXPECT_EQ(store_->enrollment_token("h1").error().code, Errc::not_found);
  EXPECT_EQ(store_->device("cam-01")->status, DeviceStatus::revoked);
}

TEST_F(StoreContract, FailedTransactionLeavesNothingBehind) {
  auto status = store_->in_transaction([&]() -> Status {
    EF_CHECK(store_->add_device(device("cam-01")));
    EF_CHECK(store_->append_audit({0, t(1), "tester", "device.add", "cam-01", "test", {}}));
    return make_error(Errc::invalid_argument, "changed my mind");
  });
  ASSERT_FALSE(status);
  EXPECT_EQ(store_->device("cam-01").error().code, Errc::not_found);
  EXPECT_TRUE(store_->audit(0, 10)->empty());
}

// A whole plant pinned in one call: more devices than one PostgreSQL statement takes (5,000).
TEST_F(StoreContract, BulkAssignmentPinsEveryDeviceOrNone) {
  std::vector<std::string> ids;
  ASSERT_TRUE(store_->in_transaction([&]() -> Status {
    for (int i = 0; i < 12000; ++i) {
      ids.push_back("cam-" + std::to_string(i));
      EF_CHECK(store_->add_device(device(ids.back())));
    }
    return {};
  }));
  ASSERT_TRUE(store_->set_assignment({"cam-7", "0.9.0", t(5), "alice"}));
  ASSERT_TRUE(store_->set_assignments(ids, "2.0.0", t(10), "bob"));
  for (const char* id : {"cam-0", "cam-7", "cam-4999", "cam-5000", "cam-11999"}) {
    auto a = store_->assignment(id);
    ASSERT_TRUE(a && *a) << id;
    EXPECT_EQ((*a)->release, "2.0.0") << id;
    EXPECT_EQ((*a)->assigned_by, "bob") << id;
  }
  // A device that does not exist fails the call, and nothing of it is written.
  auto with_ghost = std::vector<std::string>{"cam-1", "ghost", "cam-2"};
  EXPECT_FALSE(store_->set_assignments(with_ghost, "3.0.0", t(20), "carol"));
  EXPECT_EQ((*store_->assignment("cam-1"))->release, "2.0.0");
  EXPECT_EQ((*store_->assignment("cam-2"))->release, "2.0.0");
  EXPECT_TRUE(store_->set_assignments({}, "3.0.0", t(20), "carol"));
}

// A check-in's one read: the device's status and its pin, following both as they change.
TEST_F(StoreContract, CheckinViewFollowsStatusAndPin) {
  ASSERT_TRUE(store_->add_device(device("cam-01")));
  auto view = store_->checkin_view("cam-01");
  ASSERT_TRUE(view) << view.error().message;
  EXPECT_EQ(view->status, DeviceStatus::registered);
  EXPECT_FALSE(view->pinned_release);
  ASSERT_TRUE(store_->set_assignment({"cam-01", "1.2.0", t(10), "alice"}));
  EXPECT_EQ(store_->checkin_view("cam-01")->pinned_release, std::optional<std::string>("1.2.0"));
  ASSERT_TRUE(store_->revoke_device("cam-01", t(20)));
  EXPECT_EQ(store_->checkin_view("cam-01")->status, DeviceStatus::revoked);
  ASSERT_TRUE(store_->clear_assignment("cam-01"));
  EXPECT_FALSE(store_->checkin_view("cam-01")->pinned_release);
  EXPECT_EQ(store_->checkin_view("cam-02").error().code, Errc::not_found);
  EXPECT_EQ(store_->checkin_view("' OR 1=1 --").error().code, Errc::not_found);
}

TEST_F(StoreContract, AssignmentsReleasesTokensAndAudit) {
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

TEST_F(StoreContract, LastSeenOnlyMovesForward) {
  ASSERT_TRUE(store_->add_device(device("cam-01")));
  ASSERT_TRUE(store_->save_last_seen({{"cam-01", t(50)}, {"ghost", t(60)}}));
  ASSERT_TRUE(store_->save_last_seen({{"cam-01", t(40)}}));
  EXPECT_EQ(store_->device("cam-01")->last_seen, t(50));
}

TEST_F(StoreContract, RunningHistoryKeepsChangesOnlyOldestFirst) {
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

TEST_F(StoreContract, TelemetryDeliveredOnlyRises) {
  ASSERT_TRUE(store_->add_device(device("cam-01")));
  EXPECT_EQ(*store_->telemetry_delivered("cam-01"), 0u);
  ASSERT_TRUE(store_->set_telemetry_delivered("cam-01", 40));
  ASSERT_TRUE(store_->set_telemetry_delivered("cam-01", 12));
  reopen();
  EXPECT_EQ(*store_->telemetry_delivered("cam-01"), 40u);
  EXPECT_EQ(store_->telemetry_delivered("ghost").error().code, Errc::not_found);
  EXPECT_EQ(store_->set_telemetry_delivered("ghost", 1).error().code, Errc::not_found);
}

// An inner in_transaction is part of the outer one: what the outer decides, both get.
TEST_F(StoreContract, NestedTransactionsBelongToTheOuterOne) {
  auto outer_fails = store_->in_transaction([&]() -> Status {
    EF_CHECK(store_->in_transaction([&] { return store_->add_device(device("cam-01")); }));
    return make_error(Errc::invalid_argument, "outer changed its mind");
  });
  ASSERT_FALSE(outer_fails);
  EXPECT_EQ(store_->device("cam-01").error().code, Errc::not_found);

  // An inner failure the outer chooses to ignore: the inner's writes are the outer's, committed.
  auto outer_goes_on = store_->in_transaction([&]() -> Status {
    auto inner = store_->in_transaction([&]() -> Status {
      EF_CHECK(store_->add_device(device("cam-02")));
      return make_error(Errc::invalid_argument, "inner changed its mind");
    });
    EXPECT_FALSE(inner);
    return store_->add_device(device("cam-03"));
  });
  ASSERT_TRUE(outer_goes_on) << outer_goes_on.error().message;
  EXPECT_TRUE(store_->device("cam-02"));
  EXPECT_TRUE(store_->device("cam-03"));
}

// A constraint failure inside a transaction, passed on as every caller does: nothing stays.
TEST_F(StoreContract, ConstraintFailureInATransactionRollsAllBack) {
  ASSERT_TRUE(store_->add_device(device("cam-01")));
  auto status = store_->in_transaction([&]() -> Status {
    EF_CHECK(store_->add_device(device("cam-02")));
    EF_CHECK(store_->append_audit({0, t(1), "tester", "device.add", "cam-02", "test", {}}));
    return store_->add_device(device("cam-01"));  // a duplicate
  });
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, Errc::exists);
  EXPECT_EQ(store_->device("cam-02").error().code, Errc::not_found);
  EXPECT_TRUE(store_->audit(0, 10)->empty());
  ASSERT_TRUE(store_->add_device(device("cam-02")));  // the store goes on
}

// Values are data, never SQL: quotes, SQL text, non-ASCII and a large report round-trip as given.
TEST_F(StoreContract, HostileValuesRoundTripVerbatim) {
  Device d = device("cam-'; DROP TABLE devices; --");
  d.site = "Zürich \"north\" \\ hall";
  d.labels = {{"note", "$1 ? ?1 %s"}};
  ASSERT_TRUE(store_->add_device(d));
  json::Json big = {{"log", std::string(1 << 20, 'x')}, {"t", 21.5}};
  ASSERT_TRUE(store_->save_report(d.id, big, t(2000)));
  reopen();
  auto back = store_->device(d.id);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->site, d.site);
  EXPECT_EQ(back->labels["note"], "$1 ? ?1 %s");
  EXPECT_EQ(back->report, big);
  EXPECT_EQ(store_->devices({})->size(), 1u);
  DeviceFilter filter;
  filter.site = "Zürich";
  EXPECT_TRUE(store_->devices(filter)->empty());
}

// Text is ordered bytewise on both backends, whatever PostgreSQL's locale.
TEST_F(StoreContract, DevicesAreListedInByteOrder) {
  for (const char* id : {"b-2", "B-1", "a-3", "A-0"})
    ASSERT_TRUE(store_->add_device(device(id)));
  auto all = store_->devices({});
  ASSERT_TRUE(all);
  std::vector<std::string> ids;
  for (const auto& d : *all)
    ids.push_back(d.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"A-0", "B-1", "a-3", "b-2"}));
}

TEST_F(StoreContract, AuditSequenceKeepsRisingAfterARollback) {
  ASSERT_TRUE(store_->append_audit({0, t(1), "a", "x", "1", "s", {}}));
  ASSERT_FALSE(store_->in_transaction([&]() -> Status {
    EF_CHECK(store_->append_audit({0, t(2), "a", "x", "2", "s", {}}));
    return make_error(Errc::invalid_argument, "no");
  }));
  ASSERT_TRUE(store_->append_audit({0, t(3), "a", "x", "3", "s", {}}));
  auto all = store_->audit(0, 10);
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[1].target, "3");
  EXPECT_GT((*all)[1].seq, (*all)[0].seq);
  EXPECT_EQ(store_->audit((*all)[0].seq, 10)->size(), 1u);
}

TEST_F(StoreContract, TheFactoryRefusesAnUnknownDatabaseKind) {
  auto s = open_store("mysql://root:hunter2@db/fleet", dir_);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, Errc::invalid_argument);
  EXPECT_EQ(s.error().message.find("hunter2"), std::string::npos) << s.error().message;
  EXPECT_EQ(redacted_database("postgresql://u:secret@h:5432/db"), "postgresql://u:***@h:5432/db");
  EXPECT_EQ(redacted_database("postgresql:///db?host=/run&password=secret&user=u"),
            "postgresql:///db?host=/run&password=***&user=u");
  EXPECT_EQ(redacted_database("postgresql://h/db"), "postgresql://h/db");
}

}  // namespace
}  // namespace ef::store
