// The telemetry spool under the agent's load: synced append throughput of ~2 KiB records, seal
// time, and 72 hours offline (one append every 15 s, a seal every 4 appends) with its folder size,
// file count and the process's RSS before and after, to show memory stays flat.
//
//   build/bench/core/spool/spool_bench [synced appends=2000] [record bytes=2048] [hours=72]
//
// combine is the concatenation of the records: the real batch codec is measured elsewhere.
#include <malloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "core/spool/spool.hpp"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using ef::spool::Options;
using ef::spool::Record;
using ef::spool::Spool;

namespace {

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

long rss_kib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

ef::Result<std::string> concat(const std::vector<Record>& records) {
  std::string out;
  for (const auto& r : records)
    out += r.bytes;
  return out;
}

std::string random_record(std::mt19937_64& rng, std::size_t bytes) {
  std::string s(bytes, '\0');
  for (auto& c : s)
    c = static_cast<char>(rng());
  return s;
}

// Bytes malloc has handed out and not had back: RSS minus what the allocator keeps cached.
long heap_in_use_kib() {
  return static_cast<long>(::mallinfo2().uordblks / 1024);
}

struct FolderSize {
  std::uint64_t bytes = 0;      // apparent: what the spool counts against max_bytes
  std::uint64_t allocated = 0;  // blocks the file system gave (du)
  std::size_t files = 0;
};

FolderSize folder_size(const fs::path& dir) {
  FolderSize size;
  for (const auto& e : fs::directory_iterator(dir)) {
    struct stat st {};
    if (::stat(e.path().c_str(), &st) != 0) continue;
    size.bytes += static_cast<std::uint64_t>(st.st_size);
    size.allocated += static_cast<std::uint64_t>(st.st_blocks) * 512;
    ++size.files;
  }
  return size;
}

Spool open_or_die(const Options& options) {
  auto spool = Spool::open(options);
  if (!spool) {
    std::fprintf(stderr, "open: %s\n", spool.error().message.c_str());
    std::exit(1);
  }
  return std::move(spool).value();
}

void die_unless(const ef::Status& st, const char* what) {
  if (st) return;
  std::fprintf(stderr, "%s: %s\n", what, st.error().message.c_str());
  std::exit(1);
}

void report_latency(const char* what, const std::vector<double>& ms, double total_s) {
  std::printf("  %-34s %6zu ops  %8.0f ops/s   p50 %7.3f ms  p99 %7.3f ms  max %7.3f ms\n", what,
              ms.size(), static_cast<double>(ms.size()) / total_s, percentile(ms, 0.5),
              percentile(ms, 0.99), percentile(ms, 1.0));
}

void bench_synced_appends(const fs::path& dir, int count, std::size_t record_bytes) {
  fs::remove_all(dir);
  Spool spool = open_or_die({.dir = dir, .sync = true});
  std::mt19937_64 rng(1);
  const std::string record = random_record(rng, record_bytes);
  std::vector<double> ms;
  const auto start = Clock::now();
  for (int i = 0; i < count; ++i) {
    const auto t = Clock::now();
    if (!spool.append(record)) std::exit(1);
    ms.push_back(seconds_since(t) * 1e3);
  }
  const double total = seconds_since(start);
  report_latency("append, fdatasync", ms, total);
  std::printf("  %-34s %.1f MB/s of records\n", "",
              static_cast<double>(count) * static_cast<double>(record_bytes) / total / 1e6);
}

void bench_seal(const fs::path& dir, bool sync, int seals, int per_seal, std::size_t record_bytes) {
  fs::remove_all(dir);
  Spool spool = open_or_die({.dir = dir, .sync = sync});
  std::mt19937_64 rng(2);
  const std::string record = random_record(rng, record_bytes);
  std::vector<double> ms;
  double total = 0;
  for (int i = 0; i < seals; ++i) {
    for (int k = 0; k < per_seal; ++k)
      if (!spool.append(record)) std::exit(1);
    const auto t = Clock::now();
    die_unless(spool.seal(concat), "seal");
    ms.push_back(seconds_since(t) * 1e3);
    total += ms.back() / 1e3;
  }
  char what[64];
  std::snprintf(what, sizeof what, "seal of %d records, %s", per_seal, sync ? "synced" : "no sync");
  report_latency(what, ms, total);
}

}  // namespace

void simulate(const fs::path& dir, bool sync, double hours, std::size_t record_bytes) {
  fs::remove_all(dir);
  const auto appends = static_cast<long>(hours * 3600 / 15);
  // Allocated and touched before the RSS baseline: the latencies are the bench's memory, not the
  // spool's.
  std::vector<double> append_ms(static_cast<std::size_t>(appends), 0.0);
  const long rss_before = rss_kib();
  std::optional<Spool> spool(open_or_die({.dir = dir, .sync = sync}));
  std::mt19937_64 rng(3);
  std::printf(
      "\n%s simulation: %.1f h offline, %ld appends (every 15 s), a seal every 4 appends,"
      " records %zu-%zu bytes\n",
      sync ? "synced" : "unsynced", hours, appends, record_bytes / 2, record_bytes * 3 / 2);
  std::printf("  %6s %10s %10s %6s %16s %9s %9s %9s\n", "hours", "bytes", "du bytes", "files",
              "evicted records", "RSS KiB", "heap KiB", "elapsed s");
  const auto start = Clock::now();
  for (long i = 1; i <= appends; ++i) {
    const auto t = Clock::now();
    if (!spool->append(random_record(rng, record_bytes / 2 + rng() % (record_bytes + 1))))
      std::exit(1);
    append_ms[static_cast<std::size_t>(i - 1)] = seconds_since(t) * 1e3;
    if (i % 4 == 0) die_unless(spool->seal(concat), "seal");
    if (i % (12 * 240) == 0 || i == appends) {
      const FolderSize size = folder_size(dir);
      std::printf("  %6.1f %10llu %10llu %6zu %16llu %9ld %9ld %9.2f\n",
                  static_cast<double>(i) * 15 / 3600, static_cast<unsigned long long>(size.bytes),
                  static_cast<unsigned long long>(size.allocated), size.files,
                  static_cast<unsigned long long>(spool->stats().evicted_records_total), rss_kib(),
                  heap_in_use_kib(), seconds_since(start));
    }
  }
  const double total = seconds_since(start);
  const auto st = spool->stats();
  std::printf(
      "  stats: %llu segments, %llu bytes, oldest sequence %llu, evicted %llu segments /"
      " %llu records\n",
      static_cast<unsigned long long>(st.segments), static_cast<unsigned long long>(st.bytes),
      static_cast<unsigned long long>(st.oldest_sequence),
      static_cast<unsigned long long>(st.evicted_segments_total),
      static_cast<unsigned long long>(st.evicted_records_total));
  std::printf(
      "  append p50 %.3f ms p99 %.3f ms; whole run %.2f s; RSS before open %ld KiB, after "
      "%ld KiB\n",
      percentile(append_ms, 0.5), percentile(append_ms, 0.99), total, rss_before, rss_kib());
  spool.reset();  // the old index goes first
  const auto t = Clock::now();
  spool.emplace(open_or_die({.dir = dir, .sync = sync}));
  std::printf("  reopen (checks every segment's CRC): %.1f ms, RSS %ld KiB\n",
              seconds_since(t) * 1e3, rss_kib());
}

int main(int argc, char** argv) {
  const int synced_appends = argc > 1 ? std::stoi(argv[1]) : 2000;
  const std::size_t record_bytes = argc > 2 ? std::stoul(argv[2]) : 2048;
  const double hours = argc > 3 ? std::stod(argv[3]) : 72;
  const fs::path dir = fs::temp_directory_path() / ("ef-spool-bench-" + std::to_string(::getpid()));
  std::printf("spool, records of %zu bytes, folder %s\n", record_bytes, dir.c_str());
  // The simulation first, so its RSS "before" is the bare process's.
  simulate(dir, false, hours, record_bytes);
  simulate(dir, true, 1, record_bytes);
  std::printf("\n");
  bench_synced_appends(dir, synced_appends, record_bytes);
  bench_seal(dir, true, 200, 4, record_bytes);
  bench_seal(dir, true, 20, 240, record_bytes);
  bench_seal(dir, false, 200, 4, record_bytes);
  fs::remove_all(dir);
}
