// Downloading content-addressed blobs into a local cache, resumably and without trusting the
// server: the caller names the SHA-256 and length that signed metadata promised.
//
// A download in progress lives in <cache>/<sha256>.partial and survives restarts: the next
// attempt re-hashes what is there and asks for the rest with an HTTP Range request (starting
// over if the server ignores it). The server may not send more than the signed length (endless
// data), must keep up a minimum rate over a window and finish within a deadline that grows with
// the length (slow retrieval). Only a blob whose length and hash match becomes <cache>/<sha256>;
// a mismatch deletes the partial file.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

#include "core/common/result.hpp"
#include "core/http_client/http_client.hpp"

namespace ef::blob_download {

struct Limits {
  std::uint64_t min_bytes_per_second = 4096;  // slower than this ...
  std::chrono::seconds low_speed_window{30};  // ... for this long aborts the attempt
  std::chrono::seconds deadline_base{60};     // total deadline: base + length / assumed rate
  std::uint64_t assumed_bytes_per_second = 256 * 1024;
};

// Bytes of this blob now on disk (complete or partial), for progress reports.
using Progress = std::function<void(std::uint64_t bytes_on_disk)>;

// Makes <cache_dir>/<sha256> hold the blob, downloading from url what is missing.
Status fetch_blob(http_client::HttpClient& client, const std::string& url,
                  const std::string& sha256, std::uint64_t length,
                  const std::filesystem::path& cache_dir, http_client::Options options,
                  const Limits& limits = {}, const Progress& progress = {});

// Bytes already held for a blob (complete file, or partial download).
std::uint64_t bytes_on_disk(const std::filesystem::path& cache_dir, const std::string& sha256);

}  // namespace ef::blob_download
