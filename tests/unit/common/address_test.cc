#include "common/address.h"

#include <gtest/gtest.h>

namespace kha {
namespace {

TEST(ParseHostPort, AcceptsIpv4NamesAndBracketedIpv6) {
  auto a = parse_host_port("127.0.0.1:6443");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 6443);
  auto b = parse_host_port("[::1]:6443");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->host, "::1");
  EXPECT_EQ(b->to_string(), "[::1]:6443");
  auto c = parse_host_port("lb.example.com:8383");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->host, "lb.example.com");
}

TEST(ParseHostPort, ExplainsWhatWasExpected) {
  std::string why;
  EXPECT_FALSE(parse_host_port("127.0.0.1", &why));
  EXPECT_EQ(why, "expected host:port, e.g. 127.0.0.1:6443");
  EXPECT_FALSE(parse_host_port("::1:6443", &why));
  EXPECT_EQ(why, "expected an IPv6 address in brackets, e.g. [::1]:6443");
  EXPECT_FALSE(parse_host_port("[::1:6443", &why));
  EXPECT_EQ(why, "expected host:port, IPv6 as [addr]:port; missing ']'");
  EXPECT_FALSE(parse_host_port("1.2.3.4:70000", &why));
  EXPECT_EQ(why, "expected a port number from 0 to 65535");
  EXPECT_FALSE(parse_host_port(":80", &why));
  EXPECT_EQ(why, "expected a host before ':port'");
}

TEST(WrapIpv6, BracketsOnlyIpv6Literals) {
  EXPECT_EQ(wrap_ipv6("fd00::1"), "[fd00::1]");
  EXPECT_EQ(wrap_ipv6("10.0.0.1"), "10.0.0.1");
  EXPECT_EQ(wrap_ipv6("localhost"), "localhost");
}

}  // namespace
}  // namespace kha
