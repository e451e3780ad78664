#include "device/systemd_notify/systemd_notify.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>

namespace ef::systemd_notify {

namespace {

constexpr std::uint64_t kMaxWatchdogUsec = 365ULL * 24 * 3600 * 1000 * 1000;  // a year

std::optional<std::string_view> env(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr) return std::nullopt;
  return std::string_view(value);
}

// Decimal digits only: no sign, no blanks, no "0x". Nothing when garbled or above max.
std::optional<std::uint64_t> parse_decimal(std::string_view text, std::uint64_t max) {
  if (text.empty() || text.size() > 20) return std::nullopt;
  std::uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    const std::uint64_t digit = static_cast<std::uint64_t>(c - '0');
    if (value > (max - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  return value;
}

// The address of socket: a path ("/run/systemd/notify", with its NUL) or an abstract name ('@'
// becomes the leading NUL, and the name's length is exactly what is sent).
Result<socklen_t> address_of(std::string_view socket, sockaddr_un& addr) {
  addr = {};
  addr.sun_family = AF_UNIX;
  const bool abstract = !socket.empty() && socket.front() == '@';
  if (socket.empty() || (!abstract && socket.front() != '/')) {
    return make_error(Errc::unsupported,
                      "NOTIFY_SOCKET \"" + std::string(socket) +
                          "\": only an absolute path or an '@' abstract name is supported");
  }
  // A path needs room for its NUL; an abstract name's length is carried by the address length.
  const std::size_t room = sizeof(addr.sun_path) - (abstract ? 0 : 1);
  if (socket.size() > room) {
    return make_error(Errc::too_large, "NOTIFY_SOCKET is " + std::to_string(socket.size()) +
                                           " bytes, longer than a Unix socket address (" +
                                           std::to_string(room) + ")");
  }
  std::memcpy(addr.sun_path, socket.data(), socket.size());
  if (abstract) addr.sun_path[0] = '\0';
  const std::size_t length = offsetof(sockaddr_un, sun_path) + socket.size() + (abstract ? 0 : 1);
  return static_cast<socklen_t>(length);
}

}  // namespace

std::optional<std::string> socket_from_env() {
  auto value = env("NOTIFY_SOCKET");
  if (!value || value->empty()) return std::nullopt;
  return std::string(*value);
}

Status notify_to(std::string_view socket, std::string_view state) {
  if (state.empty()) return make_error(Errc::invalid_argument, "empty notification state");
  sockaddr_un addr;
  EF_TRY(const socklen_t length, address_of(socket, addr));
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return make_error(Errc::io, std::string("notify socket: ") + std::strerror(errno));
  const ssize_t sent = ::sendto(fd, state.data(), state.size(), MSG_NOSIGNAL | MSG_DONTWAIT,
                                reinterpret_cast<const sockaddr*>(&addr), length);
  const int error = errno;
  ::close(fd);
  if (sent < 0) {
    return make_error(Errc::io, "notifying " + std::string(socket) + ": " + std::strerror(error));
  }
  if (static_cast<std::size_t>(sent) != state.size()) {
    return make_error(Errc::io, "notifying " + std::string(socket) + ": short send");
  }
  return {};
}

Status notify(std::string_view state) {
  const auto socket = socket_from_env();
  if (!socket) return {};
  return notify_to(*socket, state);
}

Result<std::optional<std::chrono::microseconds>> parse_watchdog(
    std::optional<std::string_view> usec, std::optional<std::string_view> pid, pid_t self) {
  using Interval = std::optional<std::chrono::microseconds>;
  if (!usec) return Interval{};
  const auto micros = parse_decimal(*usec, kMaxWatchdogUsec);
  if (!micros || *micros == 0) {
    return make_error(Errc::malformed, "WATCHDOG_USEC \"" + std::string(*usec) +
                                           "\" is not a number of microseconds from 1 to a year");
  }
  if (pid) {
    const auto owner =
        parse_decimal(*pid, static_cast<std::uint64_t>(std::numeric_limits<pid_t>::max()));
    if (!owner || *owner == 0) {
      return make_error(Errc::malformed, "WATCHDOG_PID \"" + std::string(*pid) + "\" is not a pid");
    }
    // Meant for another process (the environment was inherited): no watchdog for this one.
    if (static_cast<pid_t>(*owner) != self) return Interval{};
  }
  return Interval{std::chrono::microseconds(static_cast<std::int64_t>(*micros))};
}

Result<std::optional<std::chrono::microseconds>> watchdog_interval() {
  return parse_watchdog(env("WATCHDOG_USEC"), env("WATCHDOG_PID"), ::getpid());
}

}  // namespace ef::systemd_notify
