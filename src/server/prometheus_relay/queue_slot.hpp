// Replicas sharing one data folder each need a relay queue of their own: a queue has one writer.
//
// claim_queue_slot(base) takes the first of base, base-1, base-2, ... (at most kMaxQueueSlots)
// whose lock file (base.lock, base-1.lock, ... beside it) it can lock exclusively (flock), and
// holds the lock while the QueueSlot lives; the kernel releases it when the process ends however
// it ends. So each running replica has its own queue, and a replica that starts later takes over
// a free slot together with whatever a stopped replica left queued in it (nothing is stranded).
#pragma once

#include <filesystem>

#include "core/common/fs.hpp"
#include "core/common/result.hpp"

namespace ef::prometheus_relay {

inline constexpr int kMaxQueueSlots = 64;

struct QueueSlot {
  std::filesystem::path dir;  // the queue folder to use (created)
  UniqueFd lock;
};

// Errc::exists when every slot is locked by a running process.
Result<QueueSlot> claim_queue_slot(const std::filesystem::path& base);

}  // namespace ef::prometheus_relay
