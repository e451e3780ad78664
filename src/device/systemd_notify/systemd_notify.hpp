// systemd's service notification protocol (sd_notify(3), sd_watchdog_enabled(3)), the part the
// agent uses, written against the documented protocol instead of linking libsystemd.
//
// notify: one datagram carrying the state ("READY=1", "STOPPING=1", "WATCHDOG=1") to the AF_UNIX
// socket named by $NOTIFY_SOCKET: an absolute path, or with a leading '@' a name in the abstract
// namespace. Not started by systemd (no $NOTIFY_SOCKET) is not an error: notify does nothing and
// succeeds. A socket name of another form (relative, "vsock:") or one too long for sun_path is an
// error; so is a send the kernel refuses. The send never blocks: a manager that stopped reading
// gets an error (Errc::io), not a hung caller.
//
// watchdog_interval: $WATCHDOG_USEC when it is meant for this process. Nothing (no watchdog) when
// it is unset, or when $WATCHDOG_PID is set and names another process (a child that inherited the
// environment). An error when either value is garbled: not all decimal digits, zero, over a year
// (no unit asks for that, and it keeps the caller's clock arithmetic far from overflow), or a
// WATCHDOG_PID that is not a positive pid. Callers treat an error as "no watchdog" and may log it.
//
// The functions read the environment when called and keep no state; they are as thread-safe as
// getenv (no thread may setenv meanwhile).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "core/common/result.hpp"

namespace ef::systemd_notify {

// $NOTIFY_SOCKET, or nothing when it is unset or empty.
std::optional<std::string> socket_from_env();

// Sends state to the notification socket named `socket` (a path, or '@' + an abstract name).
Status notify_to(std::string_view socket, std::string_view state);

// notify_to(*socket_from_env(), state), or success without sending when there is no socket.
Status notify(std::string_view state);

// The watchdog interval from the values of WATCHDOG_USEC and WATCHDOG_PID (nothing = unset), for
// the process `self`. See above for what counts as garbled.
Result<std::optional<std::chrono::microseconds>> parse_watchdog(
    std::optional<std::string_view> usec, std::optional<std::string_view> pid, pid_t self);

// parse_watchdog of this process's environment and getpid().
Result<std::optional<std::chrono::microseconds>> watchdog_interval();

}  // namespace ef::systemd_notify
