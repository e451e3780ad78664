// What replicas sharing one PostgreSQL rely on from its store: desired-state changes are sent
// with NOTIFY on commit only, and two connections racing on one device's decision leave one
// outcome (one enrolment wins, one history row, one unused token, audit pages miss nothing).
// Each race runs many rounds, the two calls of a round released together on two threads.
#include <gtest/gtest.h>

#include <libpq-fe.h>
#include <poll.h>

#include <barrier>
#include <chrono>
#include <functional>
#include <set>
#include <thread>

#include "postgres_database_test.hpp"
#include "server/store/postgres/postgres_store.hpp"

namespace ef::store {
namespace {

using ef::testing::PostgresCluster;
using namespace std::chrono_literals;

UtcTime t(std::int64_t s) {
  return UtcTime(std::chrono::seconds(s));
}

Device device(const std::string& id) {
  Device d;
  d.id = id;
  d.created_at = t(1000);
  return d;
}

// A bare libpq LISTEN, independent of store/postgres_listener: what the store really sends.
class Notifications {
 public:
  explicit Notifications(const std::string& url) : conn_(PQconnectdb(url.c_str())) {
    PQclear(PQexec(conn_, ("LISTEN " + std::string(kDesiredStateChannel)).c_str()));
  }
  ~Notifications() { PQfinish(conn_); }
  bool ok() const { return PQstatus(conn_) == CONNECTION_OK; }

  // The payloads received, once `want` have arrived or `limit` has passed.
  std::vector<std::string> take(std::size_t want, std::chrono::milliseconds limit) {
    std::vector<std::string> out;
    const auto until = std::chrono::steady_clock::now() + limit;
    for (;;) {
      PQconsumeInput(conn_);
      while (PGnotify* n = PQnotifies(conn_)) {
        out.emplace_back(n->extra);
        PQfreemem(n);
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          until - std::chrono::steady_clock::now());
      if (out.size() >= want || left.count() <= 0) return out;
      pollfd p{PQsocket(conn_), POLLIN, 0};
      ::poll(&p, 1, static_cast<int>(left.count()));
    }
  }

 private:
  pg_conn* conn_;
};

class PostgresReplicasTest : public ef::testing::PostgresDatabaseTest {
 protected:
  void SetUp() override {
    PostgresDatabaseTest::SetUp();
    if (HasFatalFailure()) return;
    for (auto* s : {&a_, &b_}) {
      auto opened = open_postgres_store(cluster_->url(database_));
      ASSERT_TRUE(opened) << opened.error().message;
      *s = std::move(*opened);
    }
  }
  std::string sql(const std::string& statement) {
    auto r = cluster_->execute(database_, statement);
    EXPECT_TRUE(r) << r.error().message;
    return r ? *r : "";
  }
  // Runs first(i) on one thread and second(i) on another, for i in [0, rounds); the two calls of
  // one round start together.
  static void race(int rounds, const std::function<void(int)>& first,
                   const std::function<void(int)>& second) {
    std::barrier start(2);
    auto loop = [&](const std::function<void(int)>& f) {
      for (int i = 0; i < rounds; ++i) {
        start.arrive_and_wait();
        f(i);
      }
    };
    std::thread other([&] { loop(second); });
    loop(first);
    other.join();
  }

  std::unique_ptr<Store> a_;  // two replicas' connections
  std::unique_ptr<Store> b_;
};

TEST_F(PostgresReplicasTest, AnAssignmentNotifiesOnCommitNotBefore) {
  Notifications other(cluster_->url(database_));
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE(a_->add_device(device("cam-01")));
  auto status = a_->in_transaction([&]() -> Status {
    EF_CHECK(a_->set_assignment({"cam-01", "1.0", t(2000), "ci"}));
    EXPECT_TRUE(other.take(1, 300ms).empty()) << "sent before the commit";
    return {};
  });
  ASSERT_TRUE(status) << status.error().message;
  EXPECT_EQ(other.take(1, 2s), std::vector<std::string>{"cam-01"});
  // Outside a transaction too: the write and its notification are one statement.
  ASSERT_TRUE(b_->set_assignment({"cam-01", "1.1", t(2001), "ci"}));
  EXPECT_EQ(other.take(1, 2s), std::vector<std::string>{"cam-01"});
}

// The rolled-back change is never heard of; the committed one after it is, alone.
TEST_F(PostgresReplicasTest, ARolledBackTransactionNotifiesNothing) {
  Notifications other(cluster_->url(database_));
  for (const auto* id : {"cam-01", "cam-02"})
    ASSERT_TRUE(a_->add_device(device(id)));
  ASSERT_TRUE(a_->set_assignment({"cam-01", "1.0", t(2000), "ci"}));
  EXPECT_EQ(other.take(1, 2s).size(), 1u);
  auto status = a_->in_transaction([&]() -> Status {
    EF_CHECK(a_->set_assignment({"cam-01", "2.0", t(2001), "ci"}));
    EF_CHECK(a_->clear_assignment("cam-01"));
    EF_CHECK(a_->revoke_device("cam-01", t(2002)));
    return make_error(Errc::refused, "changed our mind");
  });
  ASSERT_FALSE(status);
  ASSERT_TRUE(a_->set_assignment({"cam-02", "1.0", t(2003), "ci"}));
  EXPECT_EQ(other.take(2, 1s), std::vector<std::string>{"cam-02"});
  EXPECT_EQ(a_->assignment("cam-01")->value().release, "1.0");
}

TEST_F(PostgresReplicasTest, ClearingAPinAndRevokingNotifyAndNoOpsDoNot) {
  Notifications other(cluster_->url(database_));
  for (const auto* id : {"cam-01", "cam-02"})
    ASSERT_TRUE(a_->add_device(device(id)));
  ASSERT_TRUE(a_->clear_assignment("cam-01"));  // nothing to clear: nothing changed
  ASSERT_TRUE(a_->set_assignment({"cam-02", "1.0", t(2000), "ci"}));
  EXPECT_EQ(other.take(2, 1s), std::vector<std::string>{"cam-02"});
  ASSERT_TRUE(a_->clear_assignment("cam-02"));
  EXPECT_EQ(other.take(1, 2s), std::vector<std::string>{"cam-02"});
  EXPECT_EQ(a_->revoke_device("cam-09", t(2001)).error().code, Errc::not_found);
  ASSERT_TRUE(a_->revoke_device("cam-01", t(2002)));
  EXPECT_EQ(other.take(2, 1s), std::vector<std::string>{"cam-01"});
}

// An assignment to many devices in one transaction: one notification per device, at the commit.
TEST_F(PostgresReplicasTest, ABulkAssignmentNotifiesEveryDeviceOnce) {
  Notifications other(cluster_->url(database_));
  std::set<std::string> ids;
  for (int i = 0; i < 200; ++i)
    ids.insert("cam-" + std::to_string(i));
  for (const auto& id : ids)
    ASSERT_TRUE(a_->add_device(device(id)));
  ASSERT_TRUE(a_->in_transaction([&]() -> Status {
    for (const auto& id : ids)
      EF_CHECK(a_->set_assignment({id, "1.0", t(2000), "ci"}));
    return {};
  }));
  auto got = other.take(ids.size() + 1, 2s);
  EXPECT_EQ(got.size(), ids.size());
  EXPECT_EQ(std::set<std::string>(got.begin(), got.end()), ids);
  // The same through the one-statement bulk call, larger than one chunk (5,000 rows).
  std::vector<std::string> many;
  ASSERT_TRUE(a_->in_transaction([&]() -> Status {
    for (int i = 200; i < 6200; ++i) {
      many.push_back("cam-" + std::to_string(i));
      EF_CHECK(a_->add_device(device(many.back())));
    }
    return {};
  }));
  ASSERT_TRUE(a_->set_assignments(many, "2.0", t(3000), "ci"));
  auto bulk = other.take(many.size() + 1, 5s);
  EXPECT_EQ(bulk.size(), many.size());
  EXPECT_EQ(std::set<std::string>(bulk.begin(), bulk.end()),
            std::set<std::string>(many.begin(), many.end()));
}

TEST_F(PostgresReplicasTest, OneOfTwoConsumersOfAnEnrollmentTokenWins) {
  constexpr int kRounds = 100;
  for (int i = 0; i < kRounds; ++i) {
    const auto id = "cam-" + std::to_string(i);
    ASSERT_TRUE(a_->add_device(device(id)));
    ASSERT_TRUE(a_->add_enrollment_token({"hash-" + std::to_string(i), id, t(1000), t(9000), {}}));
  }
  std::vector<Status> first(kRounds), second(kRounds);
  auto enroll = [](Store& s, std::vector<Status>& out, const char* who) {
    return [&s, &out, who](int i) {
      const auto id = "cam-" + std::to_string(i);
      const CertificateRecord cert{who + std::to_string(i), id, "sha", t(1000), t(9000), t(1000)};
      out[i] = s.complete_enrollment("hash-" + std::to_string(i), cert, t(1500));
    };
  };
  race(kRounds, enroll(*a_, first, "a"), enroll(*b_, second, "b"));
  int a_won = 0;
  for (int i = 0; i < kRounds; ++i) {
    ASSERT_NE(first[i].has_value(), second[i].has_value()) << "round " << i;
    const auto& lost = first[i] ? second[i] : first[i];
    EXPECT_EQ(lost.error().code, Errc::exists) << lost.error().message;
    const auto d = a_->device("cam-" + std::to_string(i));
    EXPECT_EQ(d->cert_serial, (first[i] ? "a" : "b") + std::to_string(i));
    a_won += first[i] ? 1 : 0;
  }
  EXPECT_EQ(sql("SELECT count(*) FROM certificates"), std::to_string(kRounds));
  EXPECT_EQ(sql("SELECT count(*) FROM devices WHERE status = 'active'"), std::to_string(kRounds));
  std::cout << "connection A won " << a_won << " of " << kRounds << " rounds\n";
}

TEST_F(PostgresReplicasTest, TwoRecordingTheSameRunningVersionLeaveOneHistoryRow) {
  constexpr int kRounds = 100;
  for (int i = 0; i < kRounds; ++i)
    ASSERT_TRUE(a_->add_device(device("cam-" + std::to_string(i))));
  std::vector<Status> results(2 * kRounds);
  auto record = [&](Store& s, int slot) {
    return [&s, &results, slot](int i) {
      results[2 * i + slot] = s.record_running("cam-" + std::to_string(i), {"1.0", "m1", t(2000)});
    };
  };
  race(kRounds, record(*a_, 0), record(*b_, 1));
  for (const auto& r : results)
    ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(sql("SELECT count(*) FROM device_versions"), std::to_string(kRounds));
  EXPECT_EQ(sql("SELECT count(*) FROM (SELECT device_id FROM device_versions GROUP BY device_id "
                "HAVING count(*) > 1) AS twice"),
            "0");
}

TEST_F(PostgresReplicasTest, TwoIssuingTokensForOneDeviceLeaveOneUnused) {
  constexpr int kRounds = 100;
  for (int i = 0; i < kRounds; ++i)
    ASSERT_TRUE(a_->add_device(device("cam-" + std::to_string(i))));
  auto issue = [](Store& s, const char* who) {
    return [&s, who](int i) {
      const auto id = "cam-" + std::to_string(i);
      EXPECT_TRUE(s.add_enrollment_token({who + std::to_string(i), id, t(1000), t(9000), {}}));
    };
  };
  race(kRounds, issue(*a_, "a"), issue(*b_, "b"));
  EXPECT_EQ(sql("SELECT count(*) FROM enrollment_tokens WHERE used_at IS NULL"),
            std::to_string(kRounds));
}

// Two operators on two replicas assign one device at once, each with its audit entry: the pin
// that stays is the one the newest audit entry names.
TEST_F(PostgresReplicasTest, RacingAssignmentsEndAsTheNewestAuditEntrySays) {
  constexpr int kRounds = 100;
  ASSERT_TRUE(a_->add_device(device("cam-01")));
  auto assign = [](Store& s, const char* release) {
    return [&s, release](int) {
      EXPECT_TRUE(s.in_transaction([&]() -> Status {
        EF_CHECK(s.set_assignment({"cam-01", release, t(2000), "ci"}));
        return s.append_audit(
            {0, t(2000), "ci", "release.assign", release, "test", json::Json::object()});
      }));
    };
  };
  for (int round = 0; round < kRounds; round += 10) {
    race(10, assign(*a_, "1.0"), assign(*b_, "2.0"));
    const auto newest = sql("SELECT target FROM audit_log ORDER BY seq DESC LIMIT 1");
    ASSERT_EQ(a_->assignment("cam-01")->value().release, newest) << "after round " << round;
  }
}

// A reader paging the audit log by seq while two replicas append: no entry is passed over
// because it committed after one with a higher seq.
TEST_F(PostgresReplicasTest, AuditPagesMissNoEntryWhileTwoReplicasAppend) {
  constexpr int kEach = 300;
  ASSERT_TRUE(a_->add_device(device("cam-01")));
  auto reader = open_postgres_store(cluster_->url(database_));
  ASSERT_TRUE(reader) << reader.error().message;
  std::atomic<int> writers{2};
  std::vector<std::int64_t> seen;
  std::thread paging([&] {
    for (bool last = false; !last;) {
      last = writers.load() == 0;  // one more page after both are done
      auto page = (*reader)->audit(seen.empty() ? 0 : seen.back(), 1000);
      ASSERT_TRUE(page) << page.error().message;
      for (const auto& e : *page)
        seen.push_back(e.seq);
    }
  });
  auto append = [&](Store& s) {
    return [&s](int i) {
      EXPECT_TRUE(s.in_transaction([&]() -> Status {
        EF_CHECK(s.append_audit(
            {0, t(2000), "ci", "device.update", std::to_string(i), "t", json::Json::object()}));
        EF_TRY(auto d, s.device("cam-01"));  // more work before the commit
        (void)d;
        return {};
      }));
    };
  };
  race(kEach, append(*a_), append(*b_));
  writers = 0;
  paging.join();
  EXPECT_EQ(seen.size(), 2u * kEach);
  EXPECT_EQ(sql("SELECT count(*) FROM audit_log"), std::to_string(2 * kEach));
}

}  // namespace
}  // namespace ef::store
