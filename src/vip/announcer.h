// Announcer: tells the link that the virtual addresses moved here. IPv4: a gratuitous ARP
// request (sender = target = VIP, Ethernet and ARP sender = the interface's MAC, as
// keepalived does without use_vmac) over an AF_PACKET socket. IPv6: an unsolicited
// neighbour advertisement (RFC 4861 7.2.6) to ff02::1 from the VIP, hop limit 255, O=1 S=0,
// with the target link-layer address option; the kernel fills in the ICMPv6 checksum.
// Needs CAP_NET_RAW.
#pragma once

#include <cstdint>
#include <string>
#include <system_error>

#include "vip/ip_address.h"

namespace kha::vip {

class Announcer {
 public:
  Announcer() = default;
  ~Announcer();
  Announcer(const Announcer&) = delete;
  Announcer& operator=(const Announcer&) = delete;

  std::error_code open(const std::string& ifname, int ifindex, Family family, std::string* what);
  // One announcement for address.
  std::error_code announce(const IpAddress& address);

 private:
  int fd_ = -1;
  int ifindex_ = 0;
  std::uint8_t mac_[6] = {};
};

}  // namespace kha::vip
