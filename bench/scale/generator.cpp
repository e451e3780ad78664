#include "generator.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <random>
#include <thread>

#include "agent_report.hpp"
#include "core/json/json.hpp"
#include "core/telemetry/batch_codec.hpp"
#include "identities.hpp"
#include "synthetic_device.hpp"

namespace ef::scale {

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

long long now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

// The synthetic box's current model; its series of the model it replaced are left out of the
// batches (the server refuses a model version the device never reported).
constexpr const char* kModel = "2.4.1";

std::int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The same batches for every device (the server keeps sequence numbers per device): batch k holds
// rounds 4k+1..4k+4, 15 s apart, stamped from a minute before the generator started: a device
// sends batch k about k minutes after its start, so its points are never in the future.
class Batches {
 public:
  const std::string& get(std::size_t k) {
    while (encoded_.size() <= k) {
      auto batch = device_.batch(4);
      // Also out: series carrying a label the server stamps itself (the synthetic model_info has
      // "release"), which the agent never sends and the server refuses as forged.
      std::erase_if(batch.series, [](const telemetry::Series& s) {
        return std::any_of(s.labels.begin(), s.labels.end(), [](const auto& label) {
          return (label.first == "model_version" && label.second != kModel) ||
                 label.first == "release" || label.first == "device" || label.first == "site" ||
                 label.first == "cell";
        });
      });
      auto encoded = telemetry::encode_batch(batch);
      encoded_.push_back(encoded ? *encoded : std::string());
    }
    return encoded_[k];
  }

 private:
  bench::SyntheticDevice device_{1, unix_ms() - 60'000};
  std::vector<std::string> encoded_;
};

struct DeviceState {
  std::string etag;
  bool reported = false;  // the full report was acknowledged once
  long long first_update_ns = 0;
  int updates = 0;          // 200s carrying the release
  std::size_t replica = 0;  // the one it checks in with (its telemetry goes there too)
};

class Generator {
 public:
  explicit Generator(const GeneratorOptions& o, std::vector<Identity> ids)
      : o_(o),
        ids_(std::move(ids)),
        states_(ids_.size()),
        tls_(asio::ssl::context::tls_client),
        random_(static_cast<unsigned>(::getpid())) {
    tls_.load_verify_file(o.ca_file);
    tls_.set_verify_mode(asio::ssl::verify_peer);  // the chain; host names are the agent's tests
  }

  void run() {
    for (std::size_t i = 0; i < ids_.size(); ++i) {
      asio::co_spawn(io_, device(i), asio::detached);
      if (o_.telemetry) asio::co_spawn(io_, telemetry(i), asio::detached);
    }
    asio::co_spawn(io_, ticks(), asio::detached);
    std::thread([this] {
      for (std::string line; std::getline(std::cin, line);) {
      }
      asio::post(io_, [this] { finish(); });
    }).detach();
    io_.run();
  }

 private:
  asio::awaitable<void> sleep(Clock::duration d) {
    asio::steady_timer t(io_, d);
    co_await t.async_wait(asio::use_awaitable);
  }

  // One check-in; false (and counted) when the answer is not what an agent accepts.
  bool handle(std::size_t i, const Response& r) {
    DeviceState& s = states_[i];
    ++checkins_;
    if (r.result_int() == 304) return true;
    auto body = json::parse_strict(r.body());
    if (r.result_int() != 200 || !body || !body->contains("release")) {
      ++errors_;
      return false;
    }
    s.etag = std::string(r[http::field::etag]);
    s.reported = true;
    const auto& release = (*body)["release"];
    if (release.is_object() && release.value("version", "") == o_.release) {
      if (s.updates++ == 0) s.first_update_ns = now_ns();
      ++updates_;
    }
    return true;
  }

  // Long because: the agent's whole connection life cycle, kept in one place to read as one.
  asio::awaitable<void> device(std::size_t i) {
    const Identity& id = ids_[i];
    DeviceState& s = states_[i];
    std::size_t replica = (static_cast<std::size_t>(o_.offset) + i) % o_.ports.size();
    auto backoff = 500ms;
    bool failed_before = false;
    // Only named values across co_await: GCC 12 destroys some temporaries there twice.
    const std::string poll = "/api/v1/devices/" + id.id + "/checkin?wait=";
    const std::string first_target = poll + "0",
                      wait_target = poll + std::to_string(o_.wait_seconds);
    // What an agent reports when it starts (a full report, no release yet); later check-ins `{}`.
    const std::string empty = "{}", full = bench::full_report({.model_version = kModel}), no_token;
    for (;;) {
      Connection c(io_, tls_);
      bool connected = false, slot = false;
      try {
        while (connecting_ >= kConnecting)  // handshakes a few at a time, as devices come online
          co_await sleep(std::chrono::milliseconds(1 + random_() % 20));
        ++connecting_;
        slot = true;
        const auto begin = Clock::now();
        s.replica = replica;
        const auto server = local(o_.ports[replica]);
        co_await c.open(server, &id);
        auto first = co_await c.send(http::verb::post, first_target, s.reported ? empty : full,
                                     no_token, s.etag);
        latencies_ms_.push_back(
            std::chrono::duration<double, std::milli>(Clock::now() - begin).count());
        --connecting_;
        slot = false;
        if (!handle(i, first)) throw std::runtime_error("check-in refused");
        connected = true;
        ++connected_;
        if (failed_before) last_reconnect_ns_ = now_ns();
        failed_before = false;
        backoff = 500ms;
        for (;;) {
          auto r = co_await c.send(http::verb::post, wait_target, empty, no_token, s.etag);
          if (!handle(i, r)) throw std::runtime_error("check-in refused");
        }
      } catch (const std::exception&) {
        ++io_failures_;
      }
      c.close();
      if (slot) --connecting_;
      if (connected) --connected_;
      failed_before = true;
      if (o_.ports.size() > 1)  // another replica, as a device given several addresses would
        replica = (replica + 1 + random_() % (o_.ports.size() - 1)) % o_.ports.size();
      co_await sleep(std::chrono::milliseconds(backoff.count() / 2 + random_() % backoff.count()));
      backoff = std::min<std::chrono::milliseconds>(backoff * 2, 10s);
    }
  }

  // A batch a minute, from a random second of the first minute on, once the device has checked
  // in (its model version reported), on a keep-alive connection of its own as the agent's
  // telemetry loop holds one; opened again after a failure or when the device moved replica.
  asio::awaitable<void> telemetry(std::size_t i) {
    const Identity& id = ids_[i];
    const std::string target = "/api/v1/devices/" + id.id + "/telemetry", none;
    const std::string type(telemetry::kBatchContentType);
    std::unique_ptr<Connection> c;
    std::size_t replica = 0;
    co_await sleep(std::chrono::milliseconds(random_() % 60'000));
    for (std::size_t k = 0;; ++k) {
      const auto next = Clock::now() + 60s;
      if (states_[i].reported) {
        const std::string& body = batches_.get(k);
        try {
          if (c && replica != states_[i].replica) c.reset();  // closed by its destructor
          if (!c) {
            replica = states_[i].replica;
            const auto server = local(o_.ports[replica]);
            c = std::make_unique<Connection>(io_, tls_);
            co_await c->open(server, &id);
          }
          auto r = co_await c->send(http::verb::post, target, body, none, none, type);
          ++(r.result_int() == 200 ? telemetry_ : errors_);
        } catch (const std::exception&) {
          ++io_failures_;
          c.reset();
        }
      }
      co_await sleep(next - Clock::now());
    }
  }

  asio::awaitable<void> ticks() {
    for (;;) {
      co_await sleep(1s);
      std::sort(latencies_ms_.begin(), latencies_ms_.end());
      const double p99 =
          latencies_ms_.empty()
              ? 0
              : latencies_ms_[std::min(latencies_ms_.size() - 1, latencies_ms_.size() * 99 / 100)];
      std::printf("tick %d %ld %ld %ld %ld %.1f %ld\n", connected_, checkins_, errors_,
                  io_failures_, updates_, p99, telemetry_);
      std::fflush(stdout);
      checkins_ = errors_ = io_failures_ = updates_ = telemetry_ = 0;
      latencies_ms_.clear();
    }
  }

  void finish() {
    for (std::size_t i = 0; i < states_.size(); ++i)
      if (states_[i].updates > 0)
        std::printf("update %zu %lld %d\n", i, states_[i].first_update_ns, states_[i].updates);
    std::printf("reconnected %lld\ndone\n", last_reconnect_ns_);
    std::fflush(stdout);
    std::_Exit(0);  // thousands of coroutines need no orderly unwinding
  }

  static constexpr int kConnecting = 64;
  const GeneratorOptions& o_;
  std::vector<Identity> ids_;
  std::vector<DeviceState> states_;
  asio::io_context io_{1};
  asio::ssl::context tls_;
  std::minstd_rand random_;
  int connecting_ = 0, connected_ = 0;
  long checkins_ = 0, errors_ = 0, io_failures_ = 0, updates_ = 0, telemetry_ = 0;
  Batches batches_;
  long long last_reconnect_ns_ = 0;
  std::vector<double> latencies_ms_;
};

}  // namespace

int run_generator(const GeneratorOptions& options) {
  auto ids = read_identities(options.identities);
  if (!ids) {
    std::fprintf(stderr, "scale_bench generator: %s\n", ids.error().message.c_str());
    return 1;
  }
  if (options.ports.empty()) {
    std::fprintf(stderr, "scale_bench generator: no replica ports\n");
    return 2;
  }
  Generator(options, std::move(*ids)).run();
  return 0;
}

}  // namespace ef::scale
