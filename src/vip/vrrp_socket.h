// VrrpSocket: sends and receives VRRPv3 adverts on one interface over raw IP protocol 112
// sockets (needs CAP_NET_RAW). Multicast mode joins 224.0.0.18 / ff02::12 on the interface
// and sends to the group; unicast mode sends one copy to each peer. TTL / hop limit 255,
// multicast loopback off, bound to the device. The checksum is ours (codec), computed per
// destination because the pseudo-header holds it.
//
// IPv4 uses two sockets: a receiver that is not bound to an address (a raw socket bound to
// 10.0.0.1 only sees packets addressed to 10.0.0.1, never the group) and a sender bound to
// the source address. IPv6 uses one socket and names the source in IPV6_PKTINFO.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <vector>

#include "vip/packet.h"

namespace kha::vip {

// Room for the one control message attach_ipv6_pktinfo() writes.
struct Ipv6PktinfoControl {
  alignas(cmsghdr) char bytes[CMSG_SPACE(sizeof(in6_pktinfo))] = {};
};

// Makes msg carry one IPV6_PKTINFO control message, written into *control, that names
// `source` (an IPv6 address) as the source address and `ifindex` as the outgoing
// interface of the next sendmsg(msg). control must outlive that sendmsg. Used for VRRP
// adverts from our link-local address and for neighbour advertisements from a VIP.
void attach_ipv6_pktinfo(msghdr& msg, Ipv6PktinfoControl& control, const IpAddress& source, int ifindex);

class VrrpSocket {
 public:
  VrrpSocket() = default;
  ~VrrpSocket();
  VrrpSocket(const VrrpSocket&) = delete;
  VrrpSocket& operator=(const VrrpSocket&) = delete;

  // Opens the sockets. peers empty = multicast. source: our address of the family (the
  // interface's primary IPv4 or link-local IPv6). On failure *what names the step.
  std::error_code open(const std::string& ifname, int ifindex, const IpAddress& source, std::vector<IpAddress> peers,
                       std::string* what);

  // The descriptor to wait on for input (non-blocking).
  int fd() const { return recv_fd_; }

  // Reads one pending packet and decodes it; nullopt when nothing is pending (EAGAIN).
  std::optional<Decoded> receive(std::uint8_t vrid);

  // Sends advert to the group or to every peer. Returns how many copies were sent, and
  // the last error.
  int send(const Advert& advert, std::error_code* error);

 private:
  std::error_code send_one(std::span<const std::uint8_t> message, const IpAddress& destination);

  int recv_fd_ = -1;
  int send_fd_ = -1;  // == recv_fd_ for IPv6
  int ifindex_ = 0;
  IpAddress source_;
  std::vector<IpAddress> destinations_;
};

}  // namespace kha::vip
