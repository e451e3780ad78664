// The listener against a real cluster: a change committed through one replica's store reaches
// it, a killed connection is re-made and reported (on_resync), payloads that are not device ids
// are dropped and counted, and stop() is prompt in every state.
#include "server/store/postgres_listener/change_listener.hpp"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>

#include "postgres_database_test.hpp"
#include "server/store/postgres/postgres_store.hpp"

namespace ef::store {
namespace {

using ef::testing::PostgresCluster;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

UtcTime t(std::int64_t s) {
  return UtcTime(std::chrono::seconds(s));
}

// What the callbacks saw, from the listener's thread.
class Received {
 public:
  ChangeListener::Callbacks callbacks() {
    return {[this](const std::string& id) { add(&ids_, id); },
            [this] { add(&resyncs_, std::string("resync")); }};
  }
  // The ids received once `n` have come or `limit` has passed.
  std::vector<std::string> ids(std::size_t n, std::chrono::milliseconds limit) {
    return wait(&ids_, n, limit);
  }
  std::size_t resyncs(std::size_t n, std::chrono::milliseconds limit) {
    return wait(&resyncs_, n, limit).size();
  }

 private:
  void add(std::vector<std::string>* list, std::string item) {
    std::lock_guard lock(mutex_);
    list->push_back(std::move(item));
    changed_.notify_all();
  }
  std::vector<std::string> wait(std::vector<std::string>* list, std::size_t n,
                                std::chrono::milliseconds limit) {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, limit, [&] { return list->size() >= n; });
    return *list;
  }

  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::string> ids_;
  std::vector<std::string> resyncs_;
};

class ChangeListenerTest : public ef::testing::PostgresDatabaseTest {
 protected:
  void SetUp() override {
    PostgresDatabaseTest::SetUp();
    if (HasFatalFailure()) return;
    for (auto* s : {&a_, &b_}) {
      auto opened = open_postgres_store(cluster_->url(database_));
      ASSERT_TRUE(opened) << opened.error().message;
      *s = std::move(*opened);
    }
    for (const auto* id : {"cam-01", "cam-02", "cam-03"}) {
      Device d;
      d.id = id;
      d.created_at = t(1000);
      ASSERT_TRUE(a_->add_device(d));
    }
  }
  void listen(ChangeListener::Options options = {}) {
    auto started = ChangeListener::start(cluster_->url(database_), received_.callbacks(), options);
    ASSERT_TRUE(started) << started.error().message;
    listener_ = std::move(*started);
  }
  std::string sql(std::string_view database, const std::string& statement) {
    auto r = cluster_->execute(database, statement);
    EXPECT_TRUE(r) << r.error().message;
    return r ? *r : "";
  }
  // Ends the listener's server process, as an administrator or a database restart would.
  void kill_listener_connection() {
    EXPECT_EQ(sql("postgres",
                  "SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity WHERE "
                  "datname = '" +
                      database_ + "' AND application_name = 'edgefleet-listener'"),
              "1");
  }

  std::unique_ptr<Store> a_;  // two replicas' store connections
  std::unique_ptr<Store> b_;
  Received received_;
  std::unique_ptr<ChangeListener> listener_;
};

TEST_F(ChangeListenerTest, ChangesThroughEitherStoreArriveWithinASecond) {
  listen();
  const auto sent = Clock::now();
  ASSERT_TRUE(a_->set_assignment({"cam-01", "1.0", t(2000), "ci"}));
  EXPECT_EQ(received_.ids(1, 1s), std::vector<std::string>{"cam-01"});
  std::cout << "set_assignment to on_change: "
            << std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - sent).count()
            << " us\n";
  ASSERT_TRUE(b_->revoke_device("cam-02", t(2001)));
  ASSERT_TRUE(b_->clear_assignment("cam-01"));
  EXPECT_EQ(received_.ids(3, 1s), (std::vector<std::string>{"cam-01", "cam-02", "cam-01"}));
  EXPECT_EQ(listener_->stats().delivered, 3u);
}

// Only committed changes arrive: the rolled-back one is not ahead of the committed one after it.
TEST_F(ChangeListenerTest, ARolledBackChangeNeverArrives) {
  listen();
  auto status = a_->in_transaction([&]() -> Status {
    EF_CHECK(a_->set_assignment({"cam-01", "1.0", t(2000), "ci"}));
    return make_error(Errc::refused, "changed our mind");
  });
  ASSERT_FALSE(status);
  ASSERT_TRUE(b_->set_assignment({"cam-02", "1.0", t(2000), "ci"}));
  EXPECT_EQ(received_.ids(2, 500ms), std::vector<std::string>{"cam-02"});
}

TEST_F(ChangeListenerTest, AKilledConnectionIsRemadeReportedAndListensAgain) {
  listen();
  ASSERT_TRUE(a_->set_assignment({"cam-01", "1.0", t(2000), "ci"}));
  ASSERT_EQ(received_.ids(1, 1s).size(), 1u);
  kill_listener_connection();
  ASSERT_EQ(received_.resyncs(1, 5s), 1u) << "no on_resync after the connection was lost";
  ASSERT_TRUE(a_->set_assignment({"cam-03", "1.0", t(2001), "ci"}));
  EXPECT_EQ(received_.ids(2, 1s), (std::vector<std::string>{"cam-01", "cam-03"}));
  EXPECT_EQ(listener_->stats().reconnects, 1u);
}

// The database refuses connections for a while: the listener keeps trying with backoff and
// reports once it is back.
TEST_F(ChangeListenerTest, ItRetriesUntilTheDatabaseAcceptsConnectionsAgain) {
  listen({.min_backoff = 50ms, .max_backoff = 200ms});
  sql("postgres", "ALTER DATABASE " + database_ + " ALLOW_CONNECTIONS false");
  kill_listener_connection();
  std::this_thread::sleep_for(1s);  // several refused attempts
  EXPECT_EQ(received_.resyncs(1, 0ms), 0u);
  sql("postgres", "ALTER DATABASE " + database_ + " ALLOW_CONNECTIONS true");
  ASSERT_EQ(received_.resyncs(1, 5s), 1u);
  ASSERT_TRUE(a_->set_assignment({"cam-01", "1.0", t(2000), "ci"}));
  EXPECT_EQ(received_.ids(1, 1s), std::vector<std::string>{"cam-01"});
  EXPECT_EQ(listener_->stats().reconnects, 1u);
}

// Any database user may NOTIFY on the channel: what is not a device id is counted, not passed on.
TEST_F(ChangeListenerTest, PayloadsThatAreNotDeviceIdsAreDroppedAndCounted) {
  listen();
  for (const std::string& payload :
       {std::string(), std::string(65, 'a'), std::string("../../etc/passwd"), std::string("cam 01"),
        std::string("-cam"), std::string(7999, 'x')}) {
    sql(database_, "SELECT pg_notify('edgefleet_desired', '" + payload + "')");
  }
  sql(database_, "SELECT pg_notify('edgefleet_desired', '" + std::string(64, 'z') + "')");
  sql(database_, "SELECT pg_notify('edgefleet_other', 'cam-01')");  // not listened to
  sql(database_, "SELECT pg_notify('edgefleet_desired', 'cam-09')");
  EXPECT_EQ(received_.ids(2, 1s), (std::vector<std::string>{std::string(64, 'z'), "cam-09"}));
  EXPECT_EQ(listener_->stats().ignored, 6u);
  EXPECT_EQ(listener_->stats().delivered, 2u);
}

TEST_F(ChangeListenerTest, AnUnreachableDatabaseFailsTheStart) {
  auto started = ChangeListener::start("postgresql:///fleet?host=/nonexistent-ef-socket-dir",
                                       received_.callbacks());
  ASSERT_FALSE(started);
  EXPECT_EQ(started.error().code, Errc::network);
  EXPECT_NE(started.error().message.find("nonexistent-ef-socket-dir"), std::string::npos)
      << started.error().message;
}

// stop() does not wait out a backoff, and no callback runs after it returned.
TEST_F(ChangeListenerTest, StopIsPromptWhileListeningAndWhileBackingOff) {
  listen();
  auto began = Clock::now();
  listener_->stop();
  EXPECT_LT(Clock::now() - began, 200ms);
  listener_.reset();

  listen({.min_backoff = 60s, .max_backoff = 60s});
  kill_listener_connection();
  std::this_thread::sleep_for(200ms);  // now waiting out the minute
  began = Clock::now();
  listener_.reset();
  EXPECT_LT(Clock::now() - began, 200ms);
  EXPECT_EQ(received_.resyncs(1, 0ms), 0u);
  ASSERT_TRUE(a_->set_assignment({"cam-01", "1.0", t(2000), "ci"}));
  EXPECT_TRUE(received_.ids(1, 300ms).empty());
}

}  // namespace
}  // namespace ef::store
