// The agent's choice among the fleet's servers: a random start that spreads a fleet evenly
// (seeded, so the counts are the same every run), fail-over in list order, full-jitter back-off
// after a full round within its bounds, stickiness after success, and download URLs that follow.
#include "device/server_choice/server_choice.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <map>
#include <random>

namespace ef::server_choice {
namespace {

using std::chrono::milliseconds;

const std::vector<std::string> kUrls{"https://a:8443", "https://b:8443", "https://c:8443"};

Random seeded(std::uint64_t seed) {
  auto rng = std::make_shared<std::mt19937_64>(seed);
  return [rng] { return (*rng)(); };
}

Random constant(std::uint64_t value) {
  return [value] { return value; };
}

TEST(ServerChoice, AFleetSpreadsEvenlyOverItsServers) {
  const std::vector<std::string> urls{"https://a", "https://b", "https://c", "https://d",
                                      "https://e"};
  auto random = seeded(20);
  std::map<std::string, int> devices;
  const int fleet = 50000;
  for (int i = 0; i < fleet; ++i) {
    ServerChoice choice({}, random);
    choice.use(urls);
    ++devices[choice.current()];
  }
  ASSERT_EQ(devices.size(), urls.size());
  // Chi-square with 4 degrees of freedom: above 18.5 once in a thousand for a fair draw.
  double chi2 = 0;
  const double expected = double(fleet) / urls.size();
  for (const auto& [url, n] : devices)
    chi2 += (n - expected) * (n - expected) / expected;
  EXPECT_LT(chi2, 18.5) << "a biased start would crowd one replica";
  for (const auto& [url, n] : devices)
    EXPECT_NEAR(n, expected, expected * 0.05) << url;
}

TEST(ServerChoice, FailsOverInListOrderAndWrapsAround) {
  ServerChoice choice({}, seeded(1));
  choice.use(kUrls);
  choice.start_at(1);
  EXPECT_EQ(choice.current(), "https://b:8443");
  // Within a round: the next server after a short spread, at most `base`.
  EXPECT_LE(choice.next_server(), milliseconds(1000));
  EXPECT_EQ(choice.current(), "https://c:8443");
  EXPECT_LE(choice.next_server(), milliseconds(1000));
  EXPECT_EQ(choice.current(), "https://a:8443");
  EXPECT_EQ(choice.rounds(), 0);
  // The third failure completes the round: back at the start, back-off from now on.
  choice.next_server();
  EXPECT_EQ(choice.current(), "https://b:8443");
  EXPECT_EQ(choice.rounds(), 1);
  EXPECT_EQ(choice.failures(), 3);
}

TEST(ServerChoice, BackOffIsFullJitterUnderADoublingCap) {
  // Largest and smallest draws: the wait spans exactly [0, cap] of each round.
  for (const std::uint64_t draw : {std::uint64_t{0}, std::numeric_limits<std::uint64_t>::max()}) {
    ServerChoice choice({}, constant(draw));
    choice.use({"https://only"});
    std::vector<milliseconds> waits;
    for (int i = 0; i < 9; ++i)
      waits.push_back(choice.next_server());
    for (int i = 0; i < 9; ++i) {
      EXPECT_LE(waits[i], choice.round_cap(i + 1));
      EXPECT_GE(waits[i], milliseconds(0));
    }
    if (draw == 0) {
      EXPECT_EQ(waits.back(), milliseconds(0));
    }
  }
  ServerChoice choice({}, seeded(3));
  const std::vector<long> caps{1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000};
  for (std::size_t r = 0; r < caps.size(); ++r)
    EXPECT_EQ(choice.round_cap(static_cast<int>(r) + 1), milliseconds(caps[r])) << r;
  EXPECT_EQ(choice.round_cap(1000000), milliseconds(60000)) << "no overflow";
}

TEST(ServerChoice, WaitsCoverTheirWholeRangeUniformly) {
  ServerChoice choice({}, seeded(7));
  choice.use({"https://only"});
  for (int i = 0; i < 10; ++i)
    choice.next_server();  // round 10: capped at 60 s
  milliseconds lo{60000}, hi{0};
  double sum = 0;
  const int draws = 20000;
  for (int i = 0; i < draws; ++i) {
    const auto w = choice.next_server();
    ASSERT_GE(w, milliseconds(0));
    ASSERT_LE(w, milliseconds(60000));
    lo = std::min(lo, w);
    hi = std::max(hi, w);
    sum += double(w.count());
  }
  EXPECT_LT(lo, milliseconds(100));
  EXPECT_GT(hi, milliseconds(59900));
  EXPECT_NEAR(sum / draws, 30000, 600);
}

TEST(ServerChoice, StaysOnAServerThatWorks) {
  ServerChoice choice({}, seeded(5));
  choice.use(kUrls);
  const std::string first = choice.current();
  for (int i = 0; i < 6; ++i)
    choice.next_server();
  EXPECT_EQ(choice.rounds(), 2);
  const std::string working = choice.current();
  EXPECT_EQ(working, first) << "two full rounds come back to the start";
  choice.succeeded();
  EXPECT_EQ(choice.current(), working);
  EXPECT_EQ(choice.failures(), 0);
  // The same list again (the identity after enrolment) keeps the choice.
  choice.use(kUrls);
  EXPECT_EQ(choice.current(), working);
  // After a success, a failure starts a fresh round: a short spread, not the grown back-off.
  ServerChoice worst({}, constant(std::numeric_limits<std::uint64_t>::max()));
  worst.use(kUrls);
  for (int i = 0; i < 12; ++i)
    worst.next_server();
  worst.succeeded();
  EXPECT_LE(worst.next_server(), milliseconds(1000));
}

TEST(ServerChoice, ARefusalStaysAndBacksOff) {
  ServerChoice choice({}, constant(std::numeric_limits<std::uint64_t>::max()));
  choice.use(kUrls);
  const std::string here = choice.current();
  EXPECT_LE(choice.same_server(), milliseconds(1000));
  EXPECT_LE(choice.same_server(), milliseconds(2000));
  EXPECT_GT(choice.same_server(), milliseconds(2000)) << "the third round may wait up to 4 s";
  EXPECT_EQ(choice.current(), here);
  EXPECT_EQ(choice.rounds(), 3);
}

TEST(ServerChoice, DownloadsFollowTheCurrentServerOnly) {
  ServerChoice choice({}, seeded(1));
  choice.use(kUrls);
  choice.start_at(2);
  EXPECT_EQ(choice.rebase("https://a:8443/repo/metadata/"), "https://c:8443/repo/metadata/");
  EXPECT_EQ(choice.rebase("https://c:8443/repo/blobs/sha256/"),
            "https://c:8443/repo/blobs/sha256/");
  // Another host, or one that only begins like a listed one, is left alone.
  EXPECT_EQ(choice.rebase("https://cdn.plant/blobs/"), "https://cdn.plant/blobs/");
  EXPECT_EQ(choice.rebase("https://a:84430/repo/"), "https://a:84430/repo/");
  EXPECT_EQ(choice.rebase("https://a:8443.evil/repo/"), "https://a:8443.evil/repo/");
  EXPECT_EQ(choice.rebase("https://a:8443"), "https://a:8443");
}

TEST(ServerChoice, ANewListDrawsAgainAndOutOfRangeStartsAreIgnored) {
  ServerChoice choice({.base = milliseconds(0), .cap = milliseconds(0)}, constant(4));
  choice.use(kUrls);
  EXPECT_EQ(choice.index(), 1u);  // 4 % 3
  choice.start_at(9);
  EXPECT_EQ(choice.index(), 1u);
  choice.use({"https://x", "https://y"});
  EXPECT_EQ(choice.current(), "https://x");  // 4 % 2
  // base is at least 1 ms, cap at least base.
  EXPECT_EQ(choice.round_cap(5), milliseconds(1));
}

// A live server's refusal is not a reason to leave it; silence or a 5xx is.
TEST(ServerChoice, OnlyNoAnswerOrA5xxFailsOver) {
  for (long status : {0L, 500L, 502L, 503L, 504L})
    EXPECT_TRUE(server_down(status)) << status;
  for (long status : {200L, 304L, 400L, 401L, 403L, 404L, 409L, 413L, 429L})
    EXPECT_FALSE(server_down(status)) << status;
}

}  // namespace
}  // namespace ef::server_choice
