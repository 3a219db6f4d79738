// Speaker: runs one VRRPv3 instance on a Linux interface. It owns the raw sockets, the
// rtnetlink socket, the announcer, the tracker and the admin server, and drives the pure
// Instance from one Asio event loop on the calling thread: packets, the timer, link and
// tracker changes, signals (SIGTERM/SIGINT: graceful stop, priority 0 and the addresses
// removed) and admin requests.
//
// At start it checks CAP_NET_ADMIN and CAP_NET_RAW, and removes any configured virtual
// address left on the interface by a crashed instance (it would otherwise answer ARP
// beside the new master's).
#pragma once

#include <functional>
#include <mutex>
#include <string>

#include "vip/status.h"
#include "vip/vip_config.h"

namespace kha::vip {

class Speaker {
 public:
  explicit Speaker(VipConfig config) : config_(std::move(config)) {}

  // Runs until SIGTERM or SIGINT. Returns 0 after a graceful stop, 1 when the instance
  // cannot run (missing capability, no such interface, socket errors); *error says why.
  int run(std::string* error);

  // A copy of the current status (safe from any thread: the loop writes it under mutex_).
  Status status() const;

 private:
  VipConfig config_;
  mutable std::mutex mutex_;
  Status status_;  // guarded by mutex_
};

// Names the capabilities among CAP_NET_ADMIN and CAP_NET_RAW this process lacks ("" if none).
std::string missing_capabilities();

}  // namespace kha::vip
