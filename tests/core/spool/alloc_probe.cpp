// Replaces the global operator new of the spool's test binary to record the largest single
// request, so a test can show that a hostile length was refused before memory was asked for it.
#include <atomic>
#include <cstdlib>
#include <new>

#include "alloc_probe.hpp"

namespace ef::spool::testing {
std::atomic<std::size_t> largest_allocation{0};
}  // namespace ef::spool::testing

void* operator new(std::size_t n) {
  auto& largest = ef::spool::testing::largest_allocation;
  for (std::size_t seen = largest.load(); n > seen && !largest.compare_exchange_weak(seen, n);) {
  }
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
