// VipConfig: what `kha vip` runs, from the `vip:` section of the kha YAML file or from
// flags. Every key with its default and constraint:
//
//   vip:
//     interface: eth0            # required; the link the virtual router lives on
//     vrid: 51                   # required; 1-255, unique per link
//     priority: 100              # 1-254; 255 = address owner (master at once, no tracking)
//     advert_interval: 1s        # 10ms-40950ms, whole centiseconds
//     preempt: true              # a higher-priority backup takes over from a lower master
//     preempt_delay: 0s          # no preemption before start + delay (0s-1h)
//     addresses: [10.0.0.100/24] # required; 1-255 ADDR[/LEN], all IPv4 or all IPv6
//     peers: []                  # unicast peers (same family); empty = multicast 224.0.0.18 / ff02::12
//     source: ""                 # our advert source; default the interface's primary IPv4 / link-local IPv6
//     track:                     # optional: follow the local proxy
//       url: http://127.0.0.1:8081/readyz   # http only, IP literal host; 2xx = healthy
//       weight: 0                # 0 = give up mastership while failing; 1-254 = lower the priority by it
//       interval: 1s             # 100ms-1h
//       timeout: 1s              # 10ms-1h
//       fall: 2                  # consecutive failures before "failing" (1-100)
//       rise: 2                  # consecutive successes before "healthy" (1-100)
//     admin: ""                  # HOST:PORT for /metrics and /status; "" = off
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "vip/ip_address.h"

namespace kha::vip {

struct TrackConfig {
  std::string url;         // as written
  std::string host;        // IP literal, no brackets
  std::uint16_t port = 80;
  std::string path = "/";
  int weight = 0;
  std::chrono::milliseconds interval{1000};
  std::chrono::milliseconds timeout{1000};
  int fall = 2;
  int rise = 2;
};

struct VipConfig {
  std::string interface;
  int vrid = 0;
  int priority = 100;
  std::chrono::milliseconds advert_interval{1000};
  bool preempt = true;
  std::chrono::milliseconds preempt_delay{0};
  std::vector<Prefix> addresses;
  std::vector<IpAddress> peers;
  std::optional<IpAddress> source;
  std::optional<TrackConfig> track;
  std::string admin;

  Family family() const { return addresses.empty() ? Family::V4 : addresses.front().address.family; }
};

// Parses "http://HOST:PORT/PATH" (HOST an IP literal, IPv6 in brackets) into *out.
// Returns "" or what was expected.
std::string parse_track_url(const std::string& url, TrackConfig* out);

// Checks every rule at once; file is "" for flags. Key paths are "vip.<key>".
Diagnostics validate(const VipConfig& config, const std::string& file = "");

// Parses the `vip:` section of YAML text (other top-level keys are the proxy's and are
// ignored), then validates. file names the source in diagnostics.
Result<VipConfig> parse_vip_yaml(const std::string& text, const std::string& file);

// Reads path and parses it as above.
Result<VipConfig> load_vip_config(const std::string& path);

}  // namespace kha::vip
