// Rtnetlink address add/remove/list with acks; LinkMonitor and the link state and MAC helpers.
#include "vip/netlink.h"

#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace kha::vip {
namespace {

std::error_code last_error() { return {errno, std::generic_category()}; }

struct Request {
  nlmsghdr nh;
  ifaddrmsg ifa;
  char attrs[256];
};

void add_attr(Request* r, unsigned short type, const void* data, std::size_t len) {
  auto* rta = reinterpret_cast<rtattr*>(reinterpret_cast<char*>(r) + NLMSG_ALIGN(r->nh.nlmsg_len));
  rta->rta_type = type;
  rta->rta_len = static_cast<unsigned short>(RTA_LENGTH(len));
  std::memcpy(RTA_DATA(rta), data, len);
  r->nh.nlmsg_len = NLMSG_ALIGN(r->nh.nlmsg_len) + RTA_ALIGN(rta->rta_len);
}

}  // namespace

Rtnetlink::Rtnetlink() {
  fd_ = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd_ < 0) {
    open_error_ = last_error();
    return;
  }
  timeval tv{2, 0};  // the kernel answers at once; a bound keeps a wedged socket from hanging the loop
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_nl local{};
  local.nl_family = AF_NETLINK;
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof local) < 0) open_error_ = last_error();
}

Rtnetlink::~Rtnetlink() {
  if (fd_ >= 0) ::close(fd_);
}

std::error_code Rtnetlink::wait_ack(unsigned seq) {
  alignas(nlmsghdr) char buf[8192];
  for (;;) {
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return last_error();
    }
    int len = static_cast<int>(n);
    for (auto* h = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
      if (h->nlmsg_seq != seq || h->nlmsg_type != NLMSG_ERROR) continue;
      auto* err = static_cast<nlmsgerr*>(NLMSG_DATA(h));
      return {-err->error, std::generic_category()};
    }
  }
}

std::error_code Rtnetlink::change(int type, int flags, int ifindex, const Prefix& prefix) {
  if (open_error_) return open_error_;
  Request r{};
  r.nh.nlmsg_len = NLMSG_LENGTH(sizeof(ifaddrmsg));
  r.nh.nlmsg_type = static_cast<unsigned short>(type);
  r.nh.nlmsg_flags = static_cast<unsigned short>(NLM_F_REQUEST | NLM_F_ACK | flags);
  r.nh.nlmsg_seq = ++seq_;
  bool v4 = prefix.address.family == Family::V4;
  r.ifa.ifa_family = v4 ? AF_INET : AF_INET6;
  r.ifa.ifa_prefixlen = static_cast<unsigned char>(prefix.length);
  r.ifa.ifa_scope = RT_SCOPE_UNIVERSE;
  r.ifa.ifa_index = static_cast<unsigned>(ifindex);
  add_attr(&r, IFA_LOCAL, prefix.address.bytes.data(), prefix.address.size());
  add_attr(&r, IFA_ADDRESS, prefix.address.bytes.data(), prefix.address.size());
  if (!v4 && type == RTM_NEWADDR) {
    r.ifa.ifa_flags = IFA_F_NODAD;
    std::uint32_t flags32 = IFA_F_NODAD;
    add_attr(&r, IFA_FLAGS, &flags32, sizeof flags32);
  }
  if (::send(fd_, &r, r.nh.nlmsg_len, 0) < 0) return last_error();
  std::error_code ec = wait_ack(r.nh.nlmsg_seq);
  if (type == RTM_NEWADDR && ec == std::errc::file_exists) return {};
  if (type == RTM_DELADDR && ec == std::errc::address_not_available) return {};
  return ec;
}

std::error_code Rtnetlink::add(int ifindex, const Prefix& prefix) {
  return change(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, ifindex, prefix);
}

std::error_code Rtnetlink::remove(int ifindex, const Prefix& prefix) { return change(RTM_DELADDR, 0, ifindex, prefix); }

std::error_code Rtnetlink::list(int ifindex, Family family, std::vector<Prefix>* out) {
  if (open_error_) return open_error_;
  Request r{};
  r.nh.nlmsg_len = NLMSG_LENGTH(sizeof(ifaddrmsg));
  r.nh.nlmsg_type = RTM_GETADDR;
  r.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  r.nh.nlmsg_seq = ++seq_;
  r.ifa.ifa_family = family == Family::V4 ? AF_INET : AF_INET6;
  if (::send(fd_, &r, r.nh.nlmsg_len, 0) < 0) return last_error();
  alignas(nlmsghdr) char buf[16384];
  for (;;) {
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return last_error();
    }
    int len = static_cast<int>(n);
    for (auto* h = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
      if (h->nlmsg_seq != r.nh.nlmsg_seq) continue;
      if (h->nlmsg_type == NLMSG_DONE) return {};
      if (h->nlmsg_type == NLMSG_ERROR) return {-static_cast<nlmsgerr*>(NLMSG_DATA(h))->error, std::generic_category()};
      if (h->nlmsg_type != RTM_NEWADDR) continue;
      auto* ifa = static_cast<ifaddrmsg*>(NLMSG_DATA(h));
      if (static_cast<int>(ifa->ifa_index) != ifindex) continue;
      int alen = static_cast<int>(IFA_PAYLOAD(h));
      const void* local = nullptr;
      const void* address = nullptr;
      for (auto* rta = IFA_RTA(ifa); RTA_OK(rta, alen); rta = RTA_NEXT(rta, alen)) {
        if (rta->rta_type == IFA_LOCAL) local = RTA_DATA(rta);
        if (rta->rta_type == IFA_ADDRESS) address = RTA_DATA(rta);
      }
      const void* data = local ? local : address;
      if (!data) continue;
      Prefix p;
      p.address.family = family;
      std::memcpy(p.address.bytes.data(), data, p.address.size());
      p.length = ifa->ifa_prefixlen;
      out->push_back(p);
    }
  }
}

LinkMonitor::LinkMonitor() {
  fd_ = ::socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd_ < 0) return;
  sockaddr_nl local{};
  local.nl_family = AF_NETLINK;
  local.nl_groups = RTMGRP_LINK;
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof local) < 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

LinkMonitor::~LinkMonitor() {
  if (fd_ >= 0) ::close(fd_);
}

std::optional<bool> LinkMonitor::read(int ifindex) {
  std::optional<bool> state;
  alignas(nlmsghdr) char buf[8192];
  for (;;) {
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    // Edge-triggered waits: read down to EAGAIN. ENOBUFS (notifications lost to an
    // overrun) is reported once; what follows is still to be read.
    if (n < 0 && (errno == EINTR || errno == ENOBUFS)) continue;
    if (n <= 0) return state;
    int len = static_cast<int>(n);
    for (auto* h = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
      if (h->nlmsg_type != RTM_NEWLINK) continue;
      auto* ifi = static_cast<ifinfomsg*>(NLMSG_DATA(h));
      if (ifi->ifi_index == ifindex) state = (ifi->ifi_flags & IFF_RUNNING) != 0;
    }
  }
}

bool link_running(const std::string& ifname) {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return true;
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
  int rc = ::ioctl(fd, SIOCGIFFLAGS, &ifr);
  ::close(fd);
  return rc < 0 || (ifr.ifr_flags & IFF_RUNNING) != 0;
}

std::error_code link_mac(const std::string& ifname, std::uint8_t (&mac)[6]) {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return last_error();
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
  int rc = ::ioctl(fd, SIOCGIFHWADDR, &ifr);
  std::error_code ec = rc < 0 ? last_error() : std::error_code{};
  ::close(fd);
  if (!ec) std::memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
  return ec;
}

}  // namespace kha::vip
