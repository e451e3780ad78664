#include "server/prometheus_relay/queue_slot.hpp"

#include <fcntl.h>
#include <sys/file.h>

#include <cerrno>

namespace ef::prometheus_relay {

namespace fs = std::filesystem;

Result<QueueSlot> claim_queue_slot(const fs::path& base) {
  EF_CHECK(make_dirs(base.parent_path(), 0700));
  for (int slot = 0; slot < kMaxQueueSlots; ++slot) {
    const fs::path dir = slot == 0 ? base : fs::path(base.string() + "-" + std::to_string(slot));
    const fs::path lock_file = dir.string() + ".lock";
    UniqueFd fd(::open(lock_file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!fd.valid()) return os_error("cannot open lock", lock_file, errno);
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
      if (errno == EWOULDBLOCK) continue;  // a running replica's queue
      return os_error("cannot lock", lock_file, errno);
    }
    EF_CHECK(make_dirs(dir, 0700));
    return QueueSlot{dir, std::move(fd)};
  }
  return make_error(Errc::exists, "all " + std::to_string(kMaxQueueSlots) +
                                      " telemetry queues beside " + base.string() +
                                      " are in use by running servers");
}

}  // namespace ef::prometheus_relay
