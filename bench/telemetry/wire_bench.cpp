// Bytes per device per minute, and encode/decode time, of the telemetry wire formats on the same
// synthetic devices: Prometheus remote-write 1.0 + snappy (what Prometheus receives) against our
// batch (batch.proto + zstd) without a dictionary, with the built-in raw-content dictionary, and
// with the alternatives measured before choosing it (raw content + zstd entropy tables; a 16 KiB
// dictionary trained on other synthetic devices). One run prints everything:
//   wire_bench [--devices 5] [--minutes 60] [--seeds DIR]
#include <zdict.h>
#include <zstd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "core/telemetry/batch_codec.hpp"
#include "core/telemetry/batch_wire.hpp"
#include "core/telemetry/dictionary.hpp"
#include "core/telemetry/remote_write.hpp"
#include "synthetic_device.hpp"

namespace {

using ef::bench::SyntheticDevice;
using ef::telemetry::Batch;
using Clock = std::chrono::steady_clock;

// What each device sends, cut three ways: single rounds, 1-minute and 10-minute batches.
struct Traffic {
  std::vector<Batch> scrapes, minutes, ten_minutes;
};

Traffic traffic(std::uint64_t seed, int minutes) {
  SyntheticDevice device(seed);
  Traffic t;
  for (int m = 0; m < minutes; ++m) {
    std::vector<Batch> rounds;
    for (int r = 0; r < 4; ++r)
      rounds.push_back(device.scrape());
    t.scrapes.insert(t.scrapes.end(), rounds.begin(), rounds.end());
    t.minutes.push_back(ef::telemetry::merge(rounds));
  }
  for (std::size_t i = 0; i + 10 <= t.minutes.size(); i += 10) {
    t.ten_minutes.push_back(
        ef::telemetry::merge({t.minutes.begin() + i, t.minutes.begin() + i + 10}));
  }
  return t;
}

using Encoder = std::function<std::size_t(const Batch&)>;

std::string zstd(const std::string& body, const std::string* dict) {
  std::string out(ZSTD_compressBound(body.size()), '\0');
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, 3);
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
  if (dict) ZSTD_CCtx_loadDictionary(cctx, dict->data(), dict->size());
  out.resize(ZSTD_compress2(cctx, out.data(), out.size(), body.data(), body.size()));
  ZSTD_freeCCtx(cctx);
  return out;
}

// A zstd-format dictionary from the given samples: trained (content chosen by zstd) or our raw
// content with zstd's entropy tables added.
std::string make_dictionary(const std::vector<Batch>& batches, const std::string* content) {
  std::string samples;
  std::vector<std::size_t> sizes;
  for (const auto& b : batches) {
    const std::string s = ef::telemetry::serialize_batch(b);
    samples += s;
    sizes.push_back(s.size());
  }
  std::string dict(16 * 1024, '\0');
  std::size_t n;
  if (content) {
    ZDICT_params_t params{};
    params.compressionLevel = 3;
    params.dictID = 0x45460002;
    n = ZDICT_finalizeDictionary(dict.data(), dict.size(), content->data(), content->size(),
                                 samples.data(), sizes.data(), static_cast<unsigned>(sizes.size()),
                                 params);
  } else {
    n = ZDICT_trainFromBuffer(dict.data(), dict.size(), samples.data(), sizes.data(),
                              static_cast<unsigned>(sizes.size()));
  }
  if (ZDICT_isError(n)) {
    std::fprintf(stderr, "dictionary: %s\n", ZDICT_getErrorName(n));
    return {};
  }
  dict.resize(n);
  return dict;
}

// Mean bytes per device per minute of one encoding over every device's traffic.
double kib_per_minute(const std::vector<Traffic>& devices, std::vector<Batch> Traffic::*cut,
                      const Encoder& encode, int minutes) {
  double bytes = 0;
  for (const auto& t : devices) {
    for (const auto& b : t.*cut)
      bytes += static_cast<double>(encode(b));
  }
  const double device_minutes = static_cast<double>(devices.size()) * minutes;
  return bytes / device_minutes / 1024.0;
}

template <class F>
double microseconds_per_call(const std::vector<Batch>& batches, F&& f) {
  const auto start = Clock::now();
  int calls = 0;
  for (int rep = 0; rep < 3; ++rep) {
    for (const auto& b : batches) {
      f(b);
      ++calls;
    }
  }
  return std::chrono::duration<double, std::micro>(Clock::now() - start).count() / calls;
}

}  // namespace

namespace {

struct Row {
  const char* name;
  Encoder encode;
};

void print_sizes(const std::vector<Traffic>& devices, const std::vector<Row>& rows, int minutes) {
  std::printf("| encoding | 15 s scrapes | 1-min batches (live) | 10-min batches (replay) |\n");
  std::printf("|---|---|---|---|\n");
  for (const auto& row : rows) {
    std::printf("| %s | %.2f | %.2f | %.2f |\n", row.name,
                kib_per_minute(devices, &Traffic::scrapes, row.encode, minutes),
                kib_per_minute(devices, &Traffic::minutes, row.encode, minutes),
                kib_per_minute(devices, &Traffic::ten_minutes, row.encode, minutes / 10 * 10));
  }
  std::printf("(KiB per device per minute, payload only)\n\n");
}

void print_times(const Traffic& t) {
  std::vector<std::string> ours_1, ours_10, prw_1, prw_10;
  for (const auto& b : t.minutes)
    ours_1.push_back(*ef::telemetry::encode_batch(b));
  for (const auto& b : t.ten_minutes)
    ours_10.push_back(*ef::telemetry::encode_batch(b));
  for (const auto& b : t.minutes)
    prw_1.push_back(ef::telemetry::encode_write_request(b.series));
  for (const auto& b : t.ten_minutes)
    prw_10.push_back(ef::telemetry::encode_write_request(b.series));
  auto decode_ours = [](const std::vector<std::string>& frames) {
    const auto start = Clock::now();
    for (const auto& f : frames) {
      if (!ef::telemetry::decode_batch(f)) std::fprintf(stderr, "decode failed\n");
    }
    return std::chrono::duration<double, std::micro>(Clock::now() - start).count() / frames.size();
  };
  auto decode_prw = [](const std::vector<std::string>& bodies) {
    const auto start = Clock::now();
    for (const auto& b : bodies) {
      if (!ef::telemetry::decode_write_request(b)) std::fprintf(stderr, "decode failed\n");
    }
    return std::chrono::duration<double, std::micro>(Clock::now() - start).count() / bodies.size();
  };
  auto enc_ours = [](const Batch& b) { (void)ef::telemetry::encode_batch(b); };
  auto enc_prw = [](const Batch& b) { (void)ef::telemetry::encode_write_request(b.series); };
  std::printf("| per batch (us) | encode 1-min | decode 1-min | encode 10-min | decode 10-min |\n");
  std::printf("|---|---|---|---|---|\n");
  std::printf("| ours (zstd 3 + dictionary) | %.0f | %.0f | %.0f | %.0f |\n",
              microseconds_per_call(t.minutes, enc_ours), decode_ours(ours_1),
              microseconds_per_call(t.ten_minutes, enc_ours), decode_ours(ours_10));
  std::printf("| PRW 1.0 + snappy | %.0f | %.0f | %.0f | %.0f |\n\n",
              microseconds_per_call(t.minutes, enc_prw), decode_prw(prw_1),
              microseconds_per_call(t.ten_minutes, enc_prw), decode_prw(prw_10));
}

// A few encoded batches as the fuzzer's starting points.
void write_seeds(const std::string& dir, const Traffic& t) {
  std::filesystem::create_directories(dir);
  const std::pair<const char*, const Batch*> seeds[] = {{"scrape", &t.scrapes.front()},
                                                        {"minute", &t.minutes.front()},
                                                        {"two_minutes", &t.minutes[1]}};
  for (const auto& [name, batch] : seeds) {
    std::ofstream(dir + "/" + name, std::ios::binary) << *ef::telemetry::encode_batch(*batch);
  }
  Batch tiny{1, 1, {{"up", {{"job", "x"}}, {{1000, 1.0}, {16000, 0.0}}}}};
  std::ofstream(dir + "/tiny", std::ios::binary) << *ef::telemetry::encode_batch(tiny);
  // The layers under the zstd frame, which the frame's checksum keeps mutations away from.
  std::ofstream(dir + "/minute.pb", std::ios::binary)
      << ef::telemetry::serialize_batch(t.minutes.front());
  std::ofstream(dir + "/tiny.pb", std::ios::binary) << ef::telemetry::serialize_batch(tiny);
  std::ofstream(dir + "/minute.prw", std::ios::binary)
      << ef::telemetry::encode_write_request(t.minutes.front().series);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Telemetry wire formats: bytes per device per minute and codec time"};
  int device_count = 5;
  int minutes = 60;
  std::string seeds;
  app.add_option("--devices", device_count, "synthetic devices measured")
      ->check(CLI::Range(1, 100));
  app.add_option("--minutes", minutes, "minutes of traffic per device (multiple of 10)")
      ->check(CLI::Range(10, 24 * 60));
  app.add_option("--seeds", seeds, "also write fuzz seed batches into this folder");
  CLI11_PARSE(app, argc, argv);
  minutes = minutes / 10 * 10;

  std::vector<Traffic> devices;
  for (int i = 0; i < device_count; ++i)
    devices.push_back(traffic(1 + i, minutes));
  std::vector<Batch> training;  // other devices: the trained dictionary must not see the test set
  for (std::uint64_t seed = 1000; seed < 1010; ++seed) {
    auto t = traffic(seed, 30);
    training.insert(training.end(), t.minutes.begin(), t.minutes.end());
    training.insert(training.end(), t.ten_minutes.begin(), t.ten_minutes.end());
  }
  const std::string trained = make_dictionary(training, nullptr);
  const std::string with_tables = make_dictionary(training, &ef::telemetry::dictionary_content());
  const auto serialize = ef::telemetry::serialize_batch;

  const auto& first = devices.front().scrapes.front();
  std::printf(
      "%d synthetic devices x %d min: %zu series, %zu points per minute; dictionaries: "
      "raw %zu B, raw+tables %zu B, trained %zu B\n\n",
      device_count, minutes, first.series.size(), 4 * first.series.size(),
      ef::telemetry::dictionary_content().size(), with_tables.size(), trained.size());
  const std::vector<Row> rows = {
      {"PRW 1.0 + snappy",
       [](const Batch& b) { return ef::telemetry::encode_write_request(b.series).size(); }},
      {"ours, zstd 3, no dictionary",
       [&](const Batch& b) { return zstd(serialize(b), nullptr).size(); }},
      {"ours, zstd 3, raw-content dictionary (shipped)",
       [](const Batch& b) { return ef::telemetry::encode_batch(b)->size(); }},
      {"ours, zstd 3, raw content + entropy tables",
       [&](const Batch& b) { return zstd(serialize(b), &with_tables).size(); }},
      {"ours, zstd 3, trained 16 KiB dictionary",
       [&](const Batch& b) { return zstd(serialize(b), &trained).size(); }},
  };
  print_sizes(devices, rows, minutes);
  print_times(devices.front());
  if (!seeds.empty()) write_seeds(seeds, devices.front());
  return 0;
}
