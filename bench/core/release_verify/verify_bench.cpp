// Verification throughput of a 200 MB release against `openssl dgst -sha256` over the same
// bytes, side by side in one run. The floor is hashing speed: both use OpenSSL's SHA-256.
//
//   build/bench/core/release_verify/verify_bench [MiB=200] [rounds=5]
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "core/common/fs.hpp"
#include "core/release_signing/keyring.hpp"
#include "core/release_signing/repository.hpp"
#include "core/release_verify/verify.hpp"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

void write_random(const fs::path& path, std::size_t bytes, std::mt19937_64& rng) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  std::vector<std::uint64_t> buf(1 << 17);
  for (std::size_t done = 0; done < bytes;) {
    for (auto& w : buf)
      w = rng();
    const std::size_t n = std::min(bytes - done, buf.size() * sizeof(std::uint64_t));
    out.write(reinterpret_cast<const char*>(buf.data()), static_cast<std::streamsize>(n));
    done += n;
  }
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t mib = argc > 1 ? std::stoul(argv[1]) : 200;
  const int rounds = argc > 2 ? std::stoi(argv[2]) : 5;
  const fs::path dir =
      fs::temp_directory_path() / ("ef-verify-bench-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  std::mt19937_64 rng(42);
  const std::size_t total = mib << 20;
  // A model of 70 %, code of 29 %, a small config: one release of `mib` MiB.
  write_random(dir / "src/model/model.onnx", total * 70 / 100, rng);
  write_random(dir / "src/code/edgefleet-runtime", total * 29 / 100, rng);
  write_random(dir / "src/code/lib/libextra.so", total - total * 70 / 100 - total * 29 / 100 - 4096,
               rng);
  write_random(dir / "src/config/runtime.json", 4096, rng);

  const auto now = ef::utc_now();
  if (!ef::release::init_keys(dir / "keys", {}, now)) return 1;
  ef::release::BuildOptions b{dir / "src", "1.0.0", dir / "keys", dir / "repo", std::nullopt, {}};
  auto build_start = Clock::now();
  auto built = ef::release::build_release(b, now);
  if (!built) {
    std::fprintf(stderr, "build failed: %s\n", built.error().message.c_str());
    return 1;
  }
  const double build_s = seconds_since(build_start);

  std::string blobs;
  for (const auto& f : built->release.files)
    blobs += " " + (dir / "repo/blobs/sha256" / f.sha256).string();
  const std::string openssl = "openssl dgst -sha256" + blobs + " > /dev/null";
  if (std::system(openssl.c_str()) != 0) return 1;  // also warms the page cache

  ef::release::VerifyOptions v;
  v.repo_dir = dir / "repo";
  v.root_json = *ef::read_file(dir / "keys/root.json", 1 << 20);
  v.version = "1.0.0";
  std::vector<double> t_openssl, t_verify, t_install;
  for (int i = 0; i < rounds; ++i) {
    auto s = Clock::now();
    if (std::system(openssl.c_str()) != 0) return 1;
    t_openssl.push_back(seconds_since(s));

    s = Clock::now();
    v.into.reset();
    if (!ef::release::verify_release(v)) return 1;
    t_verify.push_back(seconds_since(s));

    fs::remove_all(dir / "installed");
    v.into = dir / "installed";
    s = Clock::now();
    if (!ef::release::verify_release(v)) return 1;
    t_install.push_back(seconds_since(s));
  }
  const double mb = static_cast<double>(built->release.bytes()) / 1e6;
  const double o = median(t_openssl), vr = median(t_verify), in = median(t_install);
  std::printf("release verification, %.1f MB in %zu files, median of %d rounds (page cache warm)\n",
              mb, built->release.files.size(), rounds);
  std::printf("  %-48s %7.3f s  %7.0f MB/s\n", "openssl dgst -sha256 (same blobs)", o, mb / o);
  std::printf("  %-48s %7.3f s  %7.0f MB/s  %.2fx openssl's time\n",
              "edgefleet release verify (metadata + hashes)", vr, mb / vr, vr / o);
  std::printf("  %-48s %7.3f s  %7.0f MB/s  %.2fx openssl's time\n",
              "edgefleet release verify --into (+ copy, fsync)", in, mb / in, in / o);
  std::printf("  %-48s %7.3f s\n", "edgefleet release build (hash + store)", build_s);
  fs::remove_all(dir);
  return 0;
}
