// IpAddress and Prefix: parsing, printing and the VRRP multicast group of each family.
#include "vip/ip_address.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace kha::vip {

std::string IpAddress::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(family == Family::V4 ? AF_INET : AF_INET6, bytes.data(), buf, sizeof buf);
  return buf;
}

IpAddress IpAddress::v4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
  IpAddress ip;
  ip.bytes[0] = a;
  ip.bytes[1] = b;
  ip.bytes[2] = c;
  ip.bytes[3] = d;
  return ip;
}

IpAddress IpAddress::vrrp_group(Family family) {
  if (family == Family::V4) return v4(224, 0, 0, 18);
  IpAddress ip;
  ip.family = Family::V6;
  ip.bytes[0] = 0xff;
  ip.bytes[1] = 0x02;
  ip.bytes[15] = 0x12;
  return ip;
}

std::optional<IpAddress> parse_ip(std::string_view text) {
  std::string s(text);
  IpAddress ip;
  if (inet_pton(AF_INET, s.c_str(), ip.bytes.data()) == 1) return ip;
  ip.family = Family::V6;
  if (inet_pton(AF_INET6, s.c_str(), ip.bytes.data()) == 1) return ip;
  return std::nullopt;
}

std::string Prefix::to_string() const { return address.to_string() + "/" + std::to_string(length); }

std::optional<Prefix> parse_prefix(std::string_view text, std::string* why) {
  auto fail = [&](std::string message) -> std::optional<Prefix> {
    if (why) *why = std::move(message);
    return std::nullopt;
  };
  auto slash = text.find('/');
  auto ip = parse_ip(text.substr(0, slash));
  if (!ip) return fail("expected an IPv4 or IPv6 address with an optional /prefix-length, got \"" + std::string(text) + "\"");
  Prefix prefix{*ip, ip->family == Family::V4 ? 32 : 128};
  if (slash != std::string_view::npos) {
    auto len = text.substr(slash + 1);
    int value = -1;
    auto [end, ec] = std::from_chars(len.data(), len.data() + len.size(), value);
    int max = ip->family == Family::V4 ? 32 : 128;
    if (ec != std::errc() || end != len.data() + len.size() || value < 1 || value > max)
      return fail("prefix length must be 1-" + std::to_string(max) + ", got \"" + std::string(len) + "\"");
    prefix.length = value;
  }
  if (ip->is_multicast()) return fail("a virtual address cannot be multicast, got " + ip->to_string());
  return prefix;
}

}  // namespace kha::vip
