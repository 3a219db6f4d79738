// attach_ipv6_pktinfo: the IPV6_PKTINFO control message that names the source address and
// interface of VRRP adverts and neighbour advertisements (built in memory, nothing sent).
#include "vip/vrrp_socket.h"

#include <gtest/gtest.h>

#include <cstring>

namespace kha::vip {
namespace {

TEST(PktinfoTest, OneMessageNamingSourceAndInterface) {
  const IpAddress source = *parse_ip("fe80::1:2");
  msghdr msg{};
  Ipv6PktinfoControl control;
  attach_ipv6_pktinfo(msg, control, source, 7);

  EXPECT_EQ(msg.msg_control, static_cast<void*>(control.bytes));
  EXPECT_EQ(msg.msg_controllen, CMSG_SPACE(sizeof(in6_pktinfo)));
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->cmsg_level, IPPROTO_IPV6);
  EXPECT_EQ(c->cmsg_type, IPV6_PKTINFO);
  EXPECT_EQ(c->cmsg_len, CMSG_LEN(sizeof(in6_pktinfo)));
  in6_pktinfo info;
  std::memcpy(&info, CMSG_DATA(c), sizeof info);
  EXPECT_EQ(std::memcmp(&info.ipi6_addr, source.bytes.data(), 16), 0);
  EXPECT_EQ(info.ipi6_ifindex, 7u);
  EXPECT_EQ(CMSG_NXTHDR(&msg, c), nullptr);  // the only message
}

}  // namespace
}  // namespace kha::vip
