#include "server/device_registry/presence.hpp"

#include <vector>

namespace ef::device_registry {

void Presence::seen(const std::string& device_id, UtcTime at) {
  std::lock_guard lock(mutex_);
  seen_locked(device_id, at);
}

void Presence::seen_locked(const std::string& device_id, UtcTime at) {
  auto& latest = latest_[device_id];
  if (at > latest) latest = at;
  unsaved_[device_id] = latest;
}

std::optional<UtcTime> Presence::last_seen(const store::Device& device) const {
  std::lock_guard lock(mutex_);
  const auto it = latest_.find(device.id);
  if (it == latest_.end()) return device.last_seen;
  if (device.last_seen && *device.last_seen > it->second) return device.last_seen;
  return it->second;
}

void Presence::pushed_telemetry(const std::string& device_id, UtcTime at) {
  std::lock_guard lock(mutex_);
  auto& latest = telemetry_[device_id];
  if (at > latest) latest = at;
  seen_locked(device_id, at);
}

bool Presence::online_at(const std::string& device_id, std::optional<UtcTime> last_seen,
                         UtcTime now, const OnlineWindows& windows) const {
  if (!last_seen) return false;
  const auto silent = now - *last_seen;
  if (silent <= windows.telemetry) return true;
  const auto pushed = telemetry_.find(device_id);
  const bool sends_telemetry =
      pushed != telemetry_.end() && now - pushed->second <= windows.checkin;
  return !sends_telemetry && silent <= windows.checkin;
}

bool Presence::online(const store::Device& device, UtcTime now,
                      const OnlineWindows& windows) const {
  const auto heard = last_seen(device);
  std::lock_guard lock(mutex_);
  return online_at(device.id, heard, now, windows);
}

std::size_t Presence::count_online(UtcTime now, const OnlineWindows& windows) const {
  std::lock_guard lock(mutex_);
  std::size_t n = 0;
  for (const auto& [id, at] : latest_)
    n += online_at(id, at, now, windows) ? 1 : 0;
  return n;
}

Status Presence::flush(store::Store& store) {
  std::unordered_map<std::string, UtcTime> taken;
  {
    std::lock_guard lock(mutex_);
    taken.swap(unsaved_);
  }
  if (taken.empty()) return {};
  std::vector<std::pair<std::string, UtcTime>> batch(taken.begin(), taken.end());
  auto saved = store.save_last_seen(batch);
  if (!saved) {  // kept for the next flush, unless newer sightings came meanwhile
    std::lock_guard lock(mutex_);
    for (auto& [id, at] : taken)
      unsaved_.try_emplace(id, at);
  }
  return saved;
}

void Presence::forget(const std::string& device_id) {
  std::lock_guard lock(mutex_);
  latest_.erase(device_id);
  telemetry_.erase(device_id);
  unsaved_.erase(device_id);
}

}  // namespace ef::device_registry
