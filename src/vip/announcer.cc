// Announcer: a gratuitous ARP (AF_PACKET) or an unsolicited neighbour advertisement (ICMPv6) per VIP.
#include "vip/announcer.h"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "vip/netlink.h"
#include "vip/vrrp_socket.h"

namespace kha::vip {

Announcer::~Announcer() {
  if (fd_ >= 0) ::close(fd_);
}

std::error_code Announcer::open(const std::string& ifname, int ifindex, Family family, std::string* what) {
  ifindex_ = ifindex;
  if (std::error_code ec = link_mac(ifname, mac_)) {
    *what = "read the MAC address of " + ifname;
    return ec;
  }
  auto fail = [&](std::string step) {
    *what = std::move(step);
    return std::error_code{errno, std::generic_category()};
  };
  if (family == Family::V4) {
    fd_ = ::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ARP));
    if (fd_ < 0) return fail("open a packet socket for gratuitous ARP");
    sockaddr_ll ll{};
    ll.sll_family = AF_PACKET;
    ll.sll_protocol = htons(ETH_P_ARP);
    ll.sll_ifindex = ifindex;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&ll), sizeof ll) < 0) return fail("bind the ARP socket to " + ifname);
    // We only send: a receive buffer of zero keeps ARP traffic from queueing up here.
    int zero = 0;
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &zero, sizeof zero);
    return {};
  }
  fd_ = ::socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMPV6);
  if (fd_ < 0) return fail("open an ICMPv6 socket for neighbour advertisements");
  int hops = 255;
  icmp6_filter filter;
  ICMP6_FILTER_SETBLOCKALL(&filter);  // send only
  if (::setsockopt(fd_, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof hops) < 0 ||
      ::setsockopt(fd_, IPPROTO_IPV6, IPV6_MULTICAST_IF, &ifindex, sizeof ifindex) < 0 ||
      ::setsockopt(fd_, IPPROTO_ICMPV6, ICMP6_FILTER, &filter, sizeof filter) < 0)
    return fail("set hop limit 255 on the ICMPv6 socket");
  return {};
}

std::error_code Announcer::announce(const IpAddress& address) {
  if (address.family == Family::V4) {
    std::uint8_t frame[42] = {};
    std::memset(frame, 0xff, 6);
    std::memcpy(frame + 6, mac_, 6);
    frame[12] = 0x08, frame[13] = 0x06;                  // ARP
    frame[14] = 0x00, frame[15] = 0x01;                  // Ethernet
    frame[16] = 0x08, frame[17] = 0x00;                  // IPv4
    frame[18] = 6, frame[19] = 4, frame[20] = 0, frame[21] = 1;  // request
    std::memcpy(frame + 22, mac_, 6);
    std::memcpy(frame + 28, address.bytes.data(), 4);
    std::memset(frame + 32, 0xff, 6);  // as keepalived: target MAC broadcast
    std::memcpy(frame + 38, address.bytes.data(), 4);
    if (::send(fd_, frame, sizeof frame, 0) < 0) return {errno, std::generic_category()};
    return {};
  }
  std::uint8_t na[32] = {};
  na[0] = ND_NEIGHBOR_ADVERT;
  na[4] = 0x20;  // O=1 (override), S=0, R=0 (a host, as keepalived)
  std::memcpy(na + 8, address.bytes.data(), 16);
  na[24] = ND_OPT_TARGET_LINKADDR;
  na[25] = 1;
  std::memcpy(na + 26, mac_, 6);
  sockaddr_in6 dst{};
  dst.sin6_family = AF_INET6;
  dst.sin6_scope_id = static_cast<unsigned>(ifindex_);
  inet_pton(AF_INET6, "ff02::1", &dst.sin6_addr);
  iovec iov{na, sizeof na};
  msghdr msg{};
  msg.msg_name = &dst;
  msg.msg_namelen = sizeof dst;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  Ipv6PktinfoControl control;
  attach_ipv6_pktinfo(msg, control, address, ifindex_);
  if (::sendmsg(fd_, &msg, 0) < 0) return {errno, std::generic_category()};
  return {};
}

}  // namespace kha::vip
