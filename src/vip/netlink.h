// Rtnetlink: adds, removes and lists interface addresses over a NETLINK_ROUTE socket
// (what `ip addr add/del/show` does, without forking a process per change: an address
// change takes one round trip of a few tens of microseconds, where `ip` costs a fork+exec).
// Owns one socket; not thread-safe. Errors are errno values in std::error_code.
#pragma once

#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "vip/ip_address.h"

namespace kha::vip {

class Rtnetlink {
 public:
  Rtnetlink();
  ~Rtnetlink();
  Rtnetlink(const Rtnetlink&) = delete;
  Rtnetlink& operator=(const Rtnetlink&) = delete;

  // The error opening the socket, if any.
  std::error_code open_error() const { return open_error_; }

  // Adds prefix to ifindex. IPv6 addresses skip duplicate address detection (IFA_F_NODAD):
  // the VRRP election already decided who owns the address, and a tentative address
  // could not source the unsolicited NA. An address already present is success.
  std::error_code add(int ifindex, const Prefix& prefix);
  // Removes prefix; an address already gone is success.
  std::error_code remove(int ifindex, const Prefix& prefix);
  // Every address of family on ifindex, in kernel order (the primary IPv4 address first).
  std::error_code list(int ifindex, Family family, std::vector<Prefix>* out);

 private:
  std::error_code change(int type, int flags, int ifindex, const Prefix& prefix);
  std::error_code wait_ack(unsigned seq);

  int fd_ = -1;
  unsigned seq_ = 1;
  std::error_code open_error_;
};

// LinkMonitor: follows the carrier of one interface (IFF_RUNNING, i.e. operstate up) through
// rtnetlink link notifications. Owns its socket.
class LinkMonitor {
 public:
  LinkMonitor();
  ~LinkMonitor();
  LinkMonitor(const LinkMonitor&) = delete;
  LinkMonitor& operator=(const LinkMonitor&) = delete;

  int fd() const { return fd_; }  // -1 if it could not be opened
  // Reads every pending notification (down to EAGAIN: the socket is non-blocking and waited
  // on edge-triggered); returns the latest state of ifindex if one was seen.
  std::optional<bool> read(int ifindex);

 private:
  int fd_ = -1;
};

// Whether ifname is running (carrier and administratively up).
bool link_running(const std::string& ifname);

// The interface's hardware address (6 bytes), or an error (no such device).
std::error_code link_mac(const std::string& ifname, std::uint8_t (&mac)[6]);

}  // namespace kha::vip
