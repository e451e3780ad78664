// When each device was last heard from, kept in memory and written to the store in batches.
//
// Check-ins arrive far more often than anyone reads "last seen", and writing each one durably
// would cost an fsync per check-in; so the store is updated by flush() (the server calls it every
// few seconds and at shutdown). A crash loses at most that interval of "last seen" updates,
// nothing else.
//
// Online: a device is heard from when a check-in starts or ends and when it pushes telemetry.
// Check-ins are long-polls held for minutes, so the check-in window is long; a device that sends
// telemetry pushes a batch every minute, so once it has, it is held to the short telemetry window
// (a device that loses power in the middle of a held check-in shows as offline within minutes,
// not after the hold). Telemetry pushes are remembered in memory only: after a server restart a
// device is held to the check-in window until its first push.
//
// Thread-safe: the server's threads note devices concurrently; flush() writes outside the lock.
#pragma once

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "core/common/time.hpp"
#include "server/store/store.hpp"

namespace ef::device_registry {

struct OnlineWindows {
  std::chrono::seconds checkin{150};
  std::chrono::seconds telemetry{300};
};

class Presence {
 public:
  void seen(const std::string& device_id, UtcTime at);
  // A telemetry push (also seen()).
  void pushed_telemetry(const std::string& device_id, UtcTime at);
  // The newest of what is in memory and what the store holds.
  std::optional<UtcTime> last_seen(const store::Device& device) const;
  bool online(const store::Device& device, UtcTime now, const OnlineWindows& windows) const;
  // Devices online now among those heard from since the server started.
  std::size_t count_online(UtcTime now, const OnlineWindows& windows) const;
  Status flush(store::Store& store);
  void forget(const std::string& device_id);

 private:
  void seen_locked(const std::string& device_id, UtcTime at);

  mutable std::mutex mutex_;
  std::unordered_map<std::string, UtcTime> latest_;
  std::unordered_map<std::string, UtcTime> unsaved_;
  std::unordered_map<std::string, UtcTime> telemetry_;

  bool online_at(const std::string& device_id, std::optional<UtcTime> last_seen, UtcTime now,
                 const OnlineWindows& windows) const;
};

}  // namespace ef::device_registry
