// Group commit and per-thread connections, on every backend (STORE_BACKENDS): writes from several
// event loops share transactions, each is answered only once durable, one bad write fails alone.
#include "server/store/group_commit/group_commit.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <thread>

#include "postgres_cluster.hpp"
#include "server/store/open/open_store.hpp"
#include "server/store/per_thread/per_thread_store.hpp"
#include "temp_dir_test.hpp"

namespace ef::store {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

class GroupCommitTest : public ef::testing::TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    auto url = ef::testing::test_database_url();
    ASSERT_TRUE(url) << url.error().message;
    database_ = *url;
  }

  std::unique_ptr<Store> open() {
    auto opened = open_store(database_, dir_);
    EXPECT_TRUE(opened) << opened.error().message;
    return opened ? std::move(*opened) : nullptr;
  }

  static Device device(const std::string& id) {
    Device d;
    d.id = id;
    d.created_at = utc_now();
    return d;
  }

  // Queues a report write for id from `loop`; `outcome` is set when it completes.
  static void write_report(asio::io_context& loop, GroupCommit& writer, const std::string& id,
                           int frames, std::optional<Status>* outcome) {
    asio::co_spawn(
        loop,
        [&writer, id, frames, outcome]() -> asio::awaitable<void> {
          // Named, not a temporary in the co_await: GCC 12 destroys such temporaries twice.
          GroupCommit::Work work = [id, frames](Store& db) {
            return db.save_report(id, json::Json{{"frames", frames}}, utc_now());
          };
          *outcome = co_await writer.write(std::move(work));
        },
        asio::detached);
  }

  std::string database_;
};

TEST_F(GroupCommitTest, WritesFromSeveralLoopsAreDurableWhenAnswered) {
  auto db = open();
  constexpr int kDevices = 40, kLoops = 2, kRounds = 5;
  for (int i = 0; i < kDevices; ++i)
    ASSERT_TRUE(db->add_device(device("d" + std::to_string(i))));
  GroupCommit writer(open());
  std::vector<std::optional<Status>> outcomes(kDevices * kRounds);
  std::vector<std::unique_ptr<asio::io_context>> loops;
  for (int l = 0; l < kLoops; ++l)
    loops.push_back(std::make_unique<asio::io_context>(1));
  for (int round = 0; round < kRounds; ++round) {
    for (int i = 0; i < kDevices; ++i) {
      write_report(*loops[i % kLoops], writer, "d" + std::to_string(i), round,
                   &outcomes[round * kDevices + i]);
    }
  }
  std::vector<std::thread> threads;
  for (auto& loop : loops)
    threads.emplace_back([&loop] { loop->run(); });
  for (auto& t : threads)
    t.join();
  for (const auto& o : outcomes) {
    ASSERT_TRUE(o.has_value());
    EXPECT_TRUE(*o) << o->error().message;
  }
  // In queue order: every device's last write is the last round's, read on another connection.
  for (int i = 0; i < kDevices; ++i) {
    auto d = db->device("d" + std::to_string(i));
    ASSERT_TRUE(d);
    EXPECT_EQ(d->report["frames"], kRounds - 1);
  }
  const auto stats = writer.stats();
  EXPECT_EQ(stats.writes, std::uint64_t{kDevices * kRounds});
  EXPECT_LE(stats.transactions, stats.writes);
  EXPECT_EQ(stats.retried_alone, 0u);
}

// The first write holds the writer while the others queue: they share one transaction, and the
// one that fails (an unknown device) fails alone.
TEST_F(GroupCommitTest, QueuedWritesShareATransactionAndABadOneFailsAlone) {
  auto db = open();
  for (const char* id : {"a", "b", "c"})
    ASSERT_TRUE(db->add_device(device(id)));
  GroupCommit writer(open());
  asio::io_context loop(1);
  std::atomic<bool> holding{false};
  std::optional<Status> first, a, ghost, b, c;
  asio::co_spawn(
      loop,
      [&]() -> asio::awaitable<void> {
        GroupCommit::Work work = [&](Store&) -> Status {
          holding = true;
          std::this_thread::sleep_for(300ms);
          return {};
        };
        first = co_await writer.write(std::move(work));
      },
      asio::detached);
  while (!holding)  // the first write is taken alone
    loop.run_for(1ms);
  write_report(loop, writer, "a", 1, &a);
  write_report(loop, writer, "ghost", 1, &ghost);
  write_report(loop, writer, "b", 1, &b);
  write_report(loop, writer, "c", 1, &c);
  loop.run();
  ASSERT_TRUE(holding);
  ASSERT_TRUE(first && *first);
  ASSERT_TRUE(a && b && c && ghost);
  EXPECT_TRUE(*a);
  EXPECT_TRUE(*b);
  EXPECT_TRUE(*c);
  ASSERT_FALSE(*ghost);
  EXPECT_EQ(ghost->error().code, Errc::not_found) << ghost->error().message;
  for (const char* id : {"a", "b", "c"})
    EXPECT_EQ(db->device(id)->report["frames"], 1) << id;
  const auto stats = writer.stats();
  EXPECT_EQ(stats.writes, 5u);
  // One for the first write, one failed batch of four, then four alone.
  EXPECT_EQ(stats.transactions, 6u);
  EXPECT_EQ(stats.retried_alone, 4u);
}

TEST_F(GroupCommitTest, ManyQueuedWritesCostFewTransactions) {
  auto db = open();
  ASSERT_TRUE(db->add_device(device("a")));
  GroupCommit writer(open());
  asio::io_context loop(1);
  std::optional<Status> hold;
  std::atomic<bool> holding{false};
  asio::co_spawn(
      loop,
      [&]() -> asio::awaitable<void> {
        GroupCommit::Work work = [&](Store&) -> Status {
          holding = true;
          std::this_thread::sleep_for(200ms);
          return {};
        };
        hold = co_await writer.write(std::move(work));
      },
      asio::detached);
  while (!holding)
    loop.run_for(1ms);
  std::vector<std::optional<Status>> outcomes(500);
  for (int i = 0; i < 500; ++i)
    write_report(loop, writer, "a", i, &outcomes[i]);
  loop.run();
  for (const auto& o : outcomes)
    ASSERT_TRUE(o && *o);
  EXPECT_EQ(db->device("a")->report["frames"], 499);
  EXPECT_EQ(writer.stats().transactions, 2u);  // the holding write, then all 500 at once
}

TEST_F(GroupCommitTest, AfterStopWritesAreRefusedAndNothingIsWritten) {
  auto db = open();
  ASSERT_TRUE(db->add_device(device("a")));
  GroupCommit writer(open());
  writer.stop();
  asio::io_context loop(1);
  std::optional<Status> outcome;
  write_report(loop, writer, "a", 7, &outcome);
  loop.run();
  ASSERT_TRUE(outcome.has_value());
  ASSERT_FALSE(*outcome);
  EXPECT_EQ(outcome->error().code, Errc::closed);
  EXPECT_TRUE(db->device("a")->report.is_null());
}

TEST_F(GroupCommitTest, PerThreadStoreGivesEachThreadItsOwnConnection) {
  std::atomic<int> opened{0};
  PerThreadStore store(
      [&]() -> Result<std::unique_ptr<Store>> {
        ++opened;
        return open();
      },
      open());
  ASSERT_TRUE(store.add_device(device("main")));
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      const std::string id = "t" + std::to_string(t);
      for (int i = 0; i < 20; ++i) {
        if (!store.device("main")) ++failures;
        if (i == 0 && !store.add_device(device(id))) ++failures;
        if (!store.save_report(id, json::Json{{"i", i}}, utc_now())) ++failures;
      }
    });
  }
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(opened, 3);
  EXPECT_EQ(store.connections(), 4u);
  for (int t = 0; t < 3; ++t)
    EXPECT_EQ(store.device("t" + std::to_string(t))->report["i"], 19);
}

TEST_F(GroupCommitTest, PerThreadStoreRetriesAConnectionThatFailedToOpen) {
  std::atomic<int> attempts{0};
  PerThreadStore store(
      [&]() -> Result<std::unique_ptr<Store>> {
        if (++attempts == 1) return make_error(Errc::network, "database down");
        return open();
      },
      open());
  std::thread other([&] {
    auto down = store.devices({});
    ASSERT_FALSE(down);
    EXPECT_EQ(down.error().code, Errc::network);
    EXPECT_TRUE(store.devices({}));  // opened on the second call
  });
  other.join();
  EXPECT_EQ(attempts, 2);
}

}  // namespace
}  // namespace ef::store
