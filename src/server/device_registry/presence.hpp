// When each device was last heard from, kept in memory and written to the store in batches.
//
// Check-ins arrive far more often than anyone reads "last seen", and writing each one durably
// would cost an fsync per check-in; so the store is updated by flush() (the server calls it every
// few seconds and at shutdown). A crash loses at most that interval of "last seen" updates,
// nothing else.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <unordered_map>

#include "core/common/time.hpp"
#include "server/store/store.hpp"

namespace ef::device_registry {

class Presence {
 public:
  void seen(const std::string& device_id, UtcTime at);
  // The newest of what is in memory and what the store holds.
  std::optional<UtcTime> last_seen(const store::Device& device) const;
  // Devices seen at or after `since`.
  std::size_t count_seen_since(UtcTime since) const;
  Status flush(store::Store& store);
  void forget(const std::string& device_id);

 private:
  std::unordered_map<std::string, UtcTime> latest_;
  std::unordered_map<std::string, UtcTime> unsaved_;
};

}  // namespace ef::device_registry
