// SHA-256 and SHA-512 through OpenSSL's EVP interface (which uses the CPU's SHA instructions).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/common/result.hpp"

namespace ef::crypto {

enum class HashAlgorithm { sha256, sha512 };

// Returns the algorithm for a TUF hash name ("sha256", "sha512"), or nothing for others.
Result<HashAlgorithm> hash_algorithm_from_name(std::string_view name);

// Incremental hashing; digest() may be called once.
class Hasher {
 public:
  explicit Hasher(HashAlgorithm algorithm = HashAlgorithm::sha256);
  Hasher(Hasher&&) noexcept;
  Hasher& operator=(Hasher&&) noexcept;
  ~Hasher();

  void update(std::string_view data);
  std::string digest();      // raw bytes
  std::string hex_digest();  // lower-case hex

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

std::string sha256(std::string_view data);      // raw 32 bytes
std::string sha256_hex(std::string_view data);  // 64 hex characters

// Hashes an open file from offset 0 to the end (reading, not mapping), returning hex.
Result<std::string> sha256_hex_of_fd(int fd);

}  // namespace ef::crypto
