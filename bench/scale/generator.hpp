// A generator process: the simulated devices of one identities file, each on its own mutual-TLS
// keep-alive connection to a replica, behaving as the agent does: a check-in when connected
// (the full report the first time, then `{}` with the ETag it holds), then long-polls parked with
// that ETag back to back. A connection that fails moves the device to another replica (picked at
// random) after a jittered backoff of 0.5 s doubling to 10 s.
//
// Protocol with the coordinator, one line each on stdout:
//   tick CONNECTED CHECKINS ERRORS IO_FAILURES UPDATES P99_MS TELEMETRY   every second; counts
//        since the last tick, CONNECTED a level, P99_MS of the connecting check-ins (wait=0) in
//        that second, TELEMETRY the telemetry batches answered 200
//   update INDEX FIRST_NS COUNT    at the end, per device that received the release: when it first
//        got it (CLOCK_MONOTONIC ns, comparable across processes) and how many 200s carried it
//   reconnected LAST_NS            at the end: the last re-connection after a failure (0 if none)
//   done
// ERRORS are answers other than 200/304 (and 200s with a body that is not a desired state);
// IO_FAILURES are connections that failed (refused, reset, TLS): expected when a replica dies.
// With telemetry on, each device also pushes a telemetry batch a minute (4 rounds of a synthetic
// box's ~140 series, bench/telemetry/synthetic_device) to the replica it checks in with, on a
// second keep-alive connection as the agent's telemetry loop holds; a failed push is not retried.
// The generator ends when its stdin reaches end-of-file (the coordinator closes it).
#pragma once

#include <string>
#include <vector>

namespace ef::scale {

struct GeneratorOptions {
  std::string identities;  // JSON lines written by write_identities()
  std::string ca_file;
  std::vector<int> ports;  // one per replica
  int wait_seconds = 60;
  std::string release;  // the version whose 200s count as UPDATES
  int offset = 0;       // device i starts on replica (offset + i) % ports.size()
  bool telemetry = false;
};

int run_generator(const GeneratorOptions& options);

}  // namespace ef::scale
