// A process's resident memory and CPU time from /proc, for benchmarks.
#pragma once

#include <sys/types.h>

namespace ef::testing {

struct ProcStat {
  long rss_kib = 0;        // VmRSS
  double cpu_seconds = 0;  // user + system
};

// Zeros when the process is gone.
ProcStat read_proc(pid_t pid);

}  // namespace ef::testing
