// VrrpSocket: raw protocol-112 socket setup (multicast or unicast), receive with metadata, send per peer.
#include "vip/vrrp_socket.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace kha::vip {
namespace {

std::error_code fail(std::string* what, std::string step) {
  std::error_code ec{errno, std::generic_category()};
  *what = std::move(step);
  return ec;
}

template <class T>
bool set(int fd, int level, int name, T value) {
  return ::setsockopt(fd, level, name, &value, sizeof value) == 0;
}

sockaddr_in to_sin(const IpAddress& ip) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  std::memcpy(&sa.sin_addr, ip.bytes.data(), 4);
  return sa;
}

}  // namespace

void attach_ipv6_pktinfo(msghdr& msg, Ipv6PktinfoControl& control, const IpAddress& source, int ifindex) {
  msg.msg_control = control.bytes;
  msg.msg_controllen = sizeof control.bytes;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = IPPROTO_IPV6;
  c->cmsg_type = IPV6_PKTINFO;
  c->cmsg_len = CMSG_LEN(sizeof(in6_pktinfo));
  in6_pktinfo info{};
  std::memcpy(&info.ipi6_addr, source.bytes.data(), 16);
  info.ipi6_ifindex = static_cast<unsigned>(ifindex);
  std::memcpy(CMSG_DATA(c), &info, sizeof info);
}

VrrpSocket::~VrrpSocket() {
  if (send_fd_ >= 0 && send_fd_ != recv_fd_) ::close(send_fd_);
  if (recv_fd_ >= 0) ::close(recv_fd_);
}

std::error_code VrrpSocket::open(const std::string& ifname, int ifindex, const IpAddress& source,
                                 std::vector<IpAddress> peers, std::string* what) {
  ifindex_ = ifindex;
  source_ = source;
  bool multicast = peers.empty();
  destinations_ = multicast ? std::vector<IpAddress>{IpAddress::vrrp_group(source.family)} : std::move(peers);
  bool v4 = source.family == Family::V4;
  int domain = v4 ? AF_INET : AF_INET6;
  recv_fd_ = ::socket(domain, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, kVrrpProtocol);
  if (recv_fd_ < 0) return fail(what, "open a raw IP protocol 112 socket");
  if (::setsockopt(recv_fd_, SOL_SOCKET, SO_BINDTODEVICE, ifname.c_str(), static_cast<socklen_t>(ifname.size())) < 0)
    return fail(what, "bind the VRRP socket to " + ifname);
  if (v4) {
    if (multicast) {
      ip_mreqn mreq{};
      std::memcpy(&mreq.imr_multiaddr, destinations_[0].bytes.data(), 4);
      mreq.imr_ifindex = ifindex;
      if (!set(recv_fd_, IPPROTO_IP, IP_ADD_MEMBERSHIP, mreq)) return fail(what, "join 224.0.0.18 on " + ifname);
    }
    send_fd_ = ::socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, kVrrpProtocol);
    if (send_fd_ < 0) return fail(what, "open a raw IP protocol 112 socket");
    if (::setsockopt(send_fd_, SOL_SOCKET, SO_BINDTODEVICE, ifname.c_str(), static_cast<socklen_t>(ifname.size())) < 0)
      return fail(what, "bind the VRRP socket to " + ifname);
    sockaddr_in local = to_sin(source);
    if (::bind(send_fd_, reinterpret_cast<sockaddr*>(&local), sizeof local) < 0)
      return fail(what, "bind the VRRP socket to source " + source.to_string());
    ip_mreqn mif{};
    mif.imr_ifindex = ifindex;
    if (!set(send_fd_, IPPROTO_IP, IP_MULTICAST_IF, mif) || !set(send_fd_, IPPROTO_IP, IP_MULTICAST_TTL, 255) ||
        !set(send_fd_, IPPROTO_IP, IP_TTL, 255) || !set(send_fd_, IPPROTO_IP, IP_MULTICAST_LOOP, 0) ||
        !set(send_fd_, IPPROTO_IP, IP_TOS, 0xc0))
      return fail(what, "set TTL 255 and multicast options");
    return {};
  }
  send_fd_ = recv_fd_;
  if (!set(recv_fd_, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1) || !set(recv_fd_, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1))
    return fail(what, "ask for hop limit and destination of received packets");
  if (multicast) {
    ipv6_mreq mreq{};
    std::memcpy(&mreq.ipv6mr_multiaddr, destinations_[0].bytes.data(), 16);
    mreq.ipv6mr_interface = static_cast<unsigned>(ifindex);
    if (!set(recv_fd_, IPPROTO_IPV6, IPV6_JOIN_GROUP, mreq)) return fail(what, "join ff02::12 on " + ifname);
  }
  if (!set(recv_fd_, IPPROTO_IPV6, IPV6_MULTICAST_IF, ifindex) || !set(recv_fd_, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, 255) ||
      !set(recv_fd_, IPPROTO_IPV6, IPV6_UNICAST_HOPS, 255) || !set(recv_fd_, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, 0) ||
      !set(recv_fd_, IPPROTO_IPV6, IPV6_TCLASS, 0xc0))
    return fail(what, "set hop limit 255 and multicast options");
  return {};
}

std::optional<Decoded> VrrpSocket::receive(std::uint8_t vrid) {
  alignas(16) std::uint8_t buf[2048];
  alignas(cmsghdr) char control[256];
  sockaddr_storage from{};
  iovec iov{buf, sizeof buf};
  msghdr msg{};
  msg.msg_name = &from;
  msg.msg_namelen = sizeof from;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  // The speaker's reactor is edge-triggered: only EAGAIN may end a drain. An interrupted
  // read or a socket error (which the failed read consumes) is read past, a few times.
  ssize_t n = -1;
  for (int tries = 0; tries < 8 && n < 0; ++tries) {
    n = ::recvmsg(recv_fd_, &msg, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return std::nullopt;
  }
  if (n < 0) return std::nullopt;
  std::span<const std::uint8_t> data(buf, static_cast<std::size_t>(n));
  if (source_.family == Family::V4) return decode_ipv4_packet(data, vrid);
  PacketMeta meta;
  meta.source.family = meta.destination.family = Family::V6;
  std::memcpy(meta.source.bytes.data(), &reinterpret_cast<sockaddr_in6*>(&from)->sin6_addr, 16);
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != IPPROTO_IPV6) continue;
    if (c->cmsg_type == IPV6_HOPLIMIT) std::memcpy(&meta.ttl, CMSG_DATA(c), sizeof(int));
    if (c->cmsg_type == IPV6_PKTINFO) {
      in6_pktinfo info;
      std::memcpy(&info, CMSG_DATA(c), sizeof info);
      std::memcpy(meta.destination.bytes.data(), &info.ipi6_addr, 16);
    }
  }
  return decode_message(data, meta, vrid);
}

std::error_code VrrpSocket::send_one(std::span<const std::uint8_t> message, const IpAddress& destination) {
  iovec iov{const_cast<std::uint8_t*>(message.data()), message.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  sockaddr_in sin;
  sockaddr_in6 sin6{};
  Ipv6PktinfoControl control;
  if (destination.family == Family::V4) {
    sin = to_sin(destination);
    msg.msg_name = &sin;
    msg.msg_namelen = sizeof sin;
  } else {
    sin6.sin6_family = AF_INET6;
    std::memcpy(&sin6.sin6_addr, destination.bytes.data(), 16);
    if (destination.is_ipv6_link_local() || destination.is_multicast()) sin6.sin6_scope_id = static_cast<unsigned>(ifindex_);
    msg.msg_name = &sin6;
    msg.msg_namelen = sizeof sin6;
    attach_ipv6_pktinfo(msg, control, source_, ifindex_);
  }
  if (::sendmsg(send_fd_, &msg, 0) < 0) return {errno, std::generic_category()};
  return {};
}

int VrrpSocket::send(const Advert& advert, std::error_code* error) {
  int sent = 0;
  for (const auto& dst : destinations_) {
    std::vector<std::uint8_t> message = encode(advert, source_, dst);
    if (std::error_code ec = send_one(message, dst)) *error = ec;
    else ++sent;
  }
  return sent;
}

}  // namespace kha::vip
