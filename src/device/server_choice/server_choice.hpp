// Which of the fleet's servers (replicas) the agent talks to, and how long it waits after a
// failure. Pure: no I/O, no clock, no threads; the random source is injected, and the caller
// sleeps for the waits this returns (so tests need neither time nor a network).
//
// - Start: a URL drawn uniformly at random, so a fleet spreads over its replicas.
// - Sticky: while requests succeed the choice stays put.
// - next_server(): the current server is unreachable (no connection, a transport error, or an
//   HTTP 5xx). Moves to the next URL in the list, wrapping around. Until every URL of a round has
//   failed, the wait is short, uniform in [0, base] (a replica's devices reconnecting elsewhere do
//   not arrive in one instant); after a full round of failures it is full-jitter exponential
//   back-off: uniform in [0, min(cap, base * 2^(round - 1))].
// - same_server(): the server answered but the work failed in a way another replica would not
//   fix (the device refused with 401/403/404, a download failed): counts as a full round, stays.
// - succeeded(): resets the failure counts.
//
// The figures default to the agent's earlier back-off (1 s doubling to 60 s). Not thread-safe:
// one owner (the agent's main loop); others get copies of current().
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace ef::server_choice {

struct Policy {
  std::chrono::milliseconds base{1000};
  std::chrono::milliseconds cap{60'000};
};

// Uniform over all 64-bit values (e.g. a std::mt19937_64). Draws are reduced with `%`: the bias
// for at most 16 URLs or a wait in milliseconds is below 2^-40.
using Random = std::function<std::uint64_t()>;

// Whether a failed request's HTTP status calls for next_server(): no answer at all (status 0:
// connection, TLS or transport error, timeout) or a 5xx. A 4xx (401/403/404 refused, 429 slow
// down) or a malformed 2xx came from a live server that would say the same again.
bool server_down(long http_status);

class ServerChoice {
 public:
  ServerChoice(Policy policy, Random random);

  // The URLs to choose from (1 or more; bootstrap::check_server_urls has checked them). A new
  // list draws a new start; the same list again keeps the current choice and counts.
  void use(std::vector<std::string> urls);
  // Starts on urls[index] instead of a random one (tests that need the order fixed).
  void start_at(std::size_t index);

  const std::string& current() const { return urls_.at(index_); }
  std::size_t index() const { return index_; }
  const std::vector<std::string>& urls() const { return urls_; }

  std::chrono::milliseconds next_server();
  std::chrono::milliseconds same_server();
  void succeeded();

  // Failures since the last success, and full rounds among them.
  int failures() const { return failures_; }
  int rounds() const { return rounds_; }
  // The upper bound of the wait after `round` full rounds of failures (round >= 1).
  std::chrono::milliseconds round_cap(int round) const;

  // A URL on one of the listed servers (origin followed by '/'), moved onto the current one, so
  // downloads follow a fail-over; any other URL (a separate blob host) is returned unchanged.
  std::string rebase(const std::string& url) const;

 private:
  std::chrono::milliseconds uniform_up_to(std::chrono::milliseconds max);

  Policy policy_;
  Random random_;
  std::vector<std::string> urls_;
  std::size_t index_ = 0;
  int failures_ = 0;
  int rounds_ = 0;
  std::size_t tried_in_round_ = 0;  // URLs that failed in the round under way
};

}  // namespace ef::server_choice
