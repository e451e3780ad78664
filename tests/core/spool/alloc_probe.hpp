// The largest single operator new request since the test last reset it (see alloc_probe.cpp).
#pragma once

#include <atomic>
#include <cstddef>

namespace ef::spool::testing {
extern std::atomic<std::size_t> largest_allocation;
}  // namespace ef::spool::testing
