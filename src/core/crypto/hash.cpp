#include "core/crypto/hash.hpp"

#include <openssl/evp.h>
#include <unistd.h>
#include <cerrno>
#include <stdexcept>

#include "core/common/fs.hpp"
#include "core/common/hex.hpp"

namespace ef::crypto {

struct Hasher::Impl {
  EVP_MD_CTX* ctx = nullptr;
  ~Impl() { EVP_MD_CTX_free(ctx); }
};

Result<HashAlgorithm> hash_algorithm_from_name(std::string_view name) {
  if (name == "sha256") return HashAlgorithm::sha256;
  if (name == "sha512") return HashAlgorithm::sha512;
  return make_error(Errc::unsupported,
                    "unsupported hash algorithm \"" + std::string(name.substr(0, 32)) + "\"");
}

Hasher::Hasher(HashAlgorithm algorithm) : impl_(std::make_unique<Impl>()) {
  impl_->ctx = EVP_MD_CTX_new();
  const EVP_MD* md = algorithm == HashAlgorithm::sha256 ? EVP_sha256() : EVP_sha512();
  // Allocation failure of a hash context is not recoverable for any caller.
  if (impl_->ctx == nullptr || EVP_DigestInit_ex(impl_->ctx, md, nullptr) != 1) {
    throw std::bad_alloc();
  }
}
Hasher::Hasher(Hasher&&) noexcept = default;
Hasher& Hasher::operator=(Hasher&&) noexcept = default;
Hasher::~Hasher() = default;

void Hasher::update(std::string_view data) {
  EVP_DigestUpdate(impl_->ctx, data.data(), data.size());
}

std::string Hasher::digest() {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(impl_->ctx, out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string Hasher::hex_digest() {
  return to_hex(digest());
}

std::string sha256(std::string_view data) {
  Hasher h;
  h.update(data);
  return h.digest();
}

std::string sha256_hex(std::string_view data) {
  return to_hex(sha256(data));
}

Result<std::string> sha256_hex_of_fd(int fd) {
  Hasher h;
  std::string buf(1 << 20, '\0');
  off_t offset = 0;
  for (;;) {
    const ssize_t n = ::pread(fd, buf.data(), buf.size(), offset);
    if (n < 0) {
      if (errno == EINTR) continue;
      return make_error(Errc::io, "read failed while hashing: " + errno_text(errno));
    }
    if (n == 0) break;
    h.update(std::string_view(buf.data(), static_cast<std::size_t>(n)));
    offset += n;
  }
  return h.hex_digest();
}

}  // namespace ef::crypto
