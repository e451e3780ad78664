#include "server/device_registry/presence.hpp"

#include <vector>

namespace ef::device_registry {

void Presence::seen(const std::string& device_id, UtcTime at) {
  auto& latest = latest_[device_id];
  if (at > latest) latest = at;
  unsaved_[device_id] = latest;
}

std::optional<UtcTime> Presence::last_seen(const store::Device& device) const {
  const auto it = latest_.find(device.id);
  if (it == latest_.end()) return device.last_seen;
  if (device.last_seen && *device.last_seen > it->second) return device.last_seen;
  return it->second;
}

std::size_t Presence::count_seen_since(UtcTime since) const {
  std::size_t n = 0;
  for (const auto& [id, at] : latest_)
    n += at >= since ? 1 : 0;
  return n;
}

Status Presence::flush(store::Store& store) {
  if (unsaved_.empty()) return {};
  std::vector<std::pair<std::string, UtcTime>> batch(unsaved_.begin(), unsaved_.end());
  EF_CHECK(store.save_last_seen(batch));
  unsaved_.clear();
  return {};
}

void Presence::forget(const std::string& device_id) {
  latest_.erase(device_id);
  unsaved_.erase(device_id);
}

}  // namespace ef::device_registry
