// Runtime: what one Speaker::run owns besides its event loop (the Instance, the raw and
// netlink sockets, the announcer) and how it carries out the Instance's Actions; opened
// by open_runtime(). Internal to speaker*.cc; everything runs on the speaker's thread.
#pragma once

#include <array>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <system_error>

#include "vip/announcer.h"
#include "vip/instance.h"
#include "vip/netlink.h"
#include "vip/status.h"
#include "vip/vip_config.h"
#include "vip/vrrp_socket.h"

namespace kha::vip {

using Clock = std::chrono::steady_clock;

// "cannot WHAT: ERROR", with a hint naming `capability` when permission was refused.
std::string explain(const std::error_code& ec, const std::string& what, const char* capability);

struct Runtime {
  const VipConfig& config;
  std::function<void(const std::function<void(Status&)>&)> update;  // edits the shared status
  Instance instance;
  int ifindex = 0;
  IpAddress source;
  Rtnetlink netlink;
  VrrpSocket socket;
  Announcer announcer;
  std::optional<Clock::time_point> reannounce_at;
  std::array<bool, std::size(kAllDropReasons)> drop_logged{};
  bool address_mismatch_logged = false;

  void execute(const Actions& actions, Clock::time_point now);
  void send_advert(std::uint8_t priority);
  void change_addresses(bool add);
  void announce();
  // Handles up to 64 pending packets; false when more may be pending (the socket was not
  // read down to EAGAIN), so the caller reads again before it waits.
  bool receive(Clock::time_point now);
  void check_addresses(const Decoded& d);
};

// Finds the interface and the source address, builds the Instance, removes virtual
// addresses a crashed instance left behind, and opens the VRRP and announce sockets.
// Returns "" or why the speaker cannot run.
std::string open_runtime(Runtime& rt, InstanceConfig ic);

}  // namespace kha::vip
