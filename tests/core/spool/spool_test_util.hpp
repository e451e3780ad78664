// Helpers shared by the spool's tests: a combine function that keeps every record's sequence
// (concatenation of [u64 sequence][u32 length][bytes]) and its inverse.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/spool/spool.hpp"
#include "temp_dir_test.hpp"

namespace ef::spool::testing {

inline Result<std::string> concat(const std::vector<Record>& records) {
  std::string out;
  for (const auto& r : records) {
    for (int i = 0; i < 8; ++i)
      out.push_back(static_cast<char>(r.sequence >> (8 * i)));
    for (int i = 0; i < 4; ++i)
      out.push_back(static_cast<char>(r.bytes.size() >> (8 * i)));
    out += r.bytes;
  }
  return out;
}

inline std::vector<Record> split(const std::string& payload) {
  std::vector<Record> out;
  std::size_t off = 0;
  auto get = [&](int n) {
    std::uint64_t v = 0;
    for (int i = 0; i < n; ++i)
      v |= std::uint64_t(static_cast<unsigned char>(payload[off + i])) << (8 * i);
    off += n;
    return v;
  };
  while (off + 12 <= payload.size()) {
    Record r;
    r.sequence = get(8);
    const auto len = get(4);
    r.bytes = payload.substr(off, len);
    off += len;
    out.push_back(std::move(r));
  }
  EXPECT_EQ(off, payload.size()) << "payload does not split into whole records";
  return out;
}

// Takes every sealed segment out of the spool (oldest first) and returns their records.
inline std::vector<Record> drain(Spool& spool) {
  std::vector<Record> out;
  for (;;) {
    auto seg = spool.oldest();
    EXPECT_TRUE(seg) << seg.error().message;
    if (!seg || !*seg) break;
    for (auto& r : split((*seg)->bytes))
      out.push_back(std::move(r));
    EXPECT_TRUE(spool.remove((*seg)->id));
  }
  return out;
}

inline std::string slurp(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void spit(const std::filesystem::path& path, const std::string& data) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << data;
}

inline std::set<std::string> names(const std::filesystem::path& dir) {
  std::set<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    out.insert(e.path().filename());
  return out;
}

class SpoolTest : public ef::testing::TempDirTest {
 public:
  std::filesystem::path folder() const { return dir_ / "spool"; }

  Spool open(std::uint64_t max_bytes = 32 * 1024 * 1024, bool sync = false) {
    auto spool = Spool::open({.dir = folder(), .max_bytes = max_bytes, .sync = sync});
    EXPECT_TRUE(spool) << spool.error().message;
    if (!spool) throw std::runtime_error("open failed");
    return std::move(spool).value();
  }

  std::uint64_t append(Spool& spool, const std::string& bytes) {
    auto seq = spool.append(bytes);
    EXPECT_TRUE(seq) << seq.error().message;
    return seq ? *seq : 0;
  }

  std::vector<std::uint64_t> open_sequences(const Spool& spool) {
    auto records = spool.open_records();
    EXPECT_TRUE(records) << records.error().message;
    std::vector<std::uint64_t> out;
    if (records)
      for (const auto& r : *records)
        out.push_back(r.sequence);
    return out;
  }

  std::string log_bytes() { return slurp(folder() / "log"); }
};

}  // namespace ef::spool::testing
