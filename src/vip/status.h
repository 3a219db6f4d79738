// Status: what one VRRP instance reports (state, counters, drops by reason), rendered as
// Prometheus text for /metrics and as JSON for /status and `kha vip status`. Pure.
//
// Metrics (labels: interface, vrid):
//   kha_vip_state{state="initialize|backup|master|fault"}   1 for the current state, else 0
//   kha_vip_priority                                        effective priority (after tracking)
//   kha_vip_transitions_total                               state changes since start
//   kha_vip_adverts_received_total                          valid adverts for our VRID
//   kha_vip_adverts_sent_total                              adverts sent (each peer counts in unicast)
//   kha_vip_send_errors_total                               adverts / announcements the kernel refused
//   kha_vip_adverts_dropped_total{reason="ttl|checksum|..."} packets dropped, by DropReason
//   kha_vip_tracked_healthy                                 1 when the tracked check passes (1 if none)
//   kha_vip_master_down_interval_seconds                    current Master_Down_Interval
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "vip/instance.h"
#include "vip/packet.h"

namespace kha::vip {

struct Status {
  std::string interface;
  int vrid = 0;
  std::string family = "ipv4";
  State state = State::Initialize;
  int priority = 0;       // effective
  int base_priority = 0;  // configured
  std::uint64_t transitions = 0;
  std::string last_reason;
  std::string master;  // last known master address, "" if none
  std::vector<std::string> addresses;
  bool tracking = false;
  bool tracked_healthy = true;
  double master_down_interval_seconds = 0;
  std::uint64_t adverts_received = 0;
  std::uint64_t adverts_sent = 0;
  std::uint64_t send_errors = 0;
  std::array<std::uint64_t, std::size(kAllDropReasons)> dropped{};  // indexed like kAllDropReasons

  void count_drop(DropReason reason);
  std::uint64_t dropped_total() const;
};

std::string render_prometheus(const Status& status);
std::string render_json(const Status& status);

}  // namespace kha::vip
