// SdNotify: the service manager's readiness and watchdog protocol (sd_notify(3)),
// without libsystemd. One datagram per state change to the AF_UNIX socket named by
// $NOTIFY_SOCKET (a path, or "@name" for the abstract namespace); a no-op when the
// process was not started by systemd with Type=notify. Pure POSIX, no Asio.
//
// What the daemon sends, and when (systemd.service(5), Type=notify):
//   READY=1                      listeners bound and the first check round done
//   RELOADING=1 + MONOTONIC_USEC on SIGHUP, before the new config is applied
//   READY=1                      after the reload (also after a rejected reload)
//   STOPPING=1                   on SIGTERM/SIGINT, before draining
//   WATCHDOG=1                   every watchdog_interval() / 2 while the loop runs
//   STATUS=...                   free text shown by `systemctl status`
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace kha {

class SdNotify {
 public:
  // Disabled: every call is a no-op returning success.
  SdNotify() = default;

  // socket: "/run/systemd/notify" or "@abstract-name"; "" disables.
  // watchdog: the interval within which systemd expects WATCHDOG=1, if any.
  explicit SdNotify(std::string socket, std::optional<std::chrono::microseconds> watchdog = std::nullopt);

  // Reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID. The watchdog is enabled only
  // when WATCHDOG_USEC is a positive integer and WATCHDOG_PID is unset or this pid.
  // With unset_environment, removes the three variables so that children (stand-ins,
  // helpers) do not talk to systemd on our behalf.
  static SdNotify from_environment(bool unset_environment = false);

  // True when $NOTIFY_SOCKET was set: messages will be sent.
  bool enabled() const { return !socket_.empty(); }
  const std::string& socket() const { return socket_; }

  // The watchdog timeout systemd enforces (WatchdogSec=); nullopt when off.
  std::optional<std::chrono::microseconds> watchdog_timeout() const { return watchdog_; }
  // How often to send WATCHDOG=1: half the timeout, as sd_watchdog_enabled(3) advises.
  std::optional<std::chrono::microseconds> watchdog_interval() const;

  // Sends `state` (newline-separated VAR=value assignments) as one datagram.
  // Returns {} on success or when disabled; otherwise the errno of the failure
  // (ENOENT/ECONNREFUSED: no listener, ENAMETOOLONG: path longer than sun_path).
  std::error_code notify(std::string_view state) const;

  std::error_code ready() const { return notify("READY=1"); }
  // RELOADING=1 with MONOTONIC_USEC, as systemd 253's Type=notify-reload requires;
  // older managers ignore the extra field.
  std::error_code reloading() const;
  std::error_code stopping() const { return notify("STOPPING=1"); }
  std::error_code watchdog() const { return notify("WATCHDOG=1"); }
  // STATUS=<text>; newlines in text are replaced by spaces.
  std::error_code status(std::string_view text) const;

 private:
  std::string socket_;  // empty when disabled
  std::optional<std::chrono::microseconds> watchdog_;
};

}  // namespace kha
